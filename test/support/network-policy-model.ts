// Evaluates Kubernetes NetworkPolicies (networking.k8s.io/v1) the way a conforming CNI does,
// for reachability tests: a connection is allowed when the source's egress AND the
// destination's ingress allow it. A pod is isolated in a direction once any policy of its
// namespace selects it with that policy type; policies are additive (a union of rules).
// Covered: podSelector and namespaceSelector (matchLabels and matchExpressions, both together
// = AND), namespaces selected by their labels (kubernetes.io/metadata.name included), ipBlock
// with except, ports by number or name (resolved on the destination pod), endPort, protocols,
// policyTypes defaulting (Ingress always, Egress when the policy has egress rules).
import { parseCidr } from '../../src/constructs/_cidr';

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  /** @default 'TCP' */
  readonly protocol?: string;
}

/** A pod: where it runs, its labels, its IP and its container ports (for named ports). */
export interface Pod {
  readonly name: string;
  readonly namespace: string;
  readonly labels: Record<string, string>;
  readonly ip: string;
  readonly ports?: ContainerPort[];
}

/** Something outside the cluster's pods (an internet host, the metadata endpoint, the API server). */
export interface External {
  readonly name: string;
  readonly ip: string;
}

export type Endpoint = Pod | External;

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

interface Peer {
  podSelector?: LabelSelector;
  namespaceSelector?: LabelSelector;
  ipBlock?: { cidr: string; except?: string[] };
}

interface PolicyPort {
  protocol?: string;
  port?: number | string;
  endPort?: number;
}

interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: PolicyPort[];
}

export interface NetworkPolicyObject {
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string };
  readonly spec: { podSelector: LabelSelector; policyTypes?: string[]; ingress?: Rule[]; egress?: Rule[] };
}

export interface Verdict {
  readonly allowed: boolean;
  /** Why: the policies that allowed each side, or the side that denied. */
  readonly reason: string;
}

const isPod = (e: Endpoint): e is Pod => (e as Pod).namespace !== undefined;

export function selectorMatches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) {
    return true;
  }
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[key] !== value) {
      return false;
    }
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(labels, key);
    const ok =
      operator === 'In' ? has && values.includes(labels[key])
        : operator === 'NotIn' ? !has || !values.includes(labels[key])
          : operator === 'Exists' ? has
            : operator === 'DoesNotExist' ? !has
              : (() => { throw new Error(`unknown selector operator '${operator}'`); })();
    if (!ok) {
      return false;
    }
  }
  return true;
}

function ipInBlock(ip: string, block: { cidr: string; except?: string[] }): boolean {
  const address = parseCidr(ip);
  const inside = (cidr: string) => {
    const c = parseCidr(cidr);
    if (c.family !== address.family) {
      return false;
    }
    const bits = c.family === 4 ? 32 : 128;
    const shift = BigInt(bits - c.prefix);
    return (address.network >> shift) === (c.network >> shift);
  };
  return inside(block.cidr) && !(block.except ?? []).some(inside);
}

export class NetworkPolicyModel {
  private readonly policies: NetworkPolicyObject[];

  /**
   * @param policies NetworkPolicies (other kinds are ignored); a policy without a namespace is in `defaultNamespace`.
   * @param namespaceLabels labels of each namespace; `kubernetes.io/metadata.name` is added as the API server does.
   */
  constructor(
    policies: NetworkPolicyObject[],
    private readonly namespaceLabels: Record<string, Record<string, string>>,
    private readonly defaultNamespace: string,
  ) {
    this.policies = policies.filter((p) => p.kind === 'NetworkPolicy');
  }

  /** Whether `from` may open a connection to `to` on `port`/`protocol`. */
  public check(from: Endpoint, to: Endpoint, port: number, protocol = 'TCP'): Verdict {
    const egress = isPod(from) ? this.side(from, 'Egress', to, port, protocol, to) : undefined;
    const ingress = isPod(to) ? this.side(to, 'Ingress', from, port, protocol, to) : undefined;
    if (egress && !egress.allowed) {
      return { allowed: false, reason: `egress of ${from.name} denied` };
    }
    if (ingress && !ingress.allowed) {
      return { allowed: false, reason: `ingress of ${to.name} denied` };
    }
    return { allowed: true, reason: [egress?.reason, ingress?.reason].filter(Boolean).join('; ') };
  }

  private namespaceOf(policy: NetworkPolicyObject): string {
    return policy.metadata.namespace ?? this.defaultNamespace;
  }

  private labelsOfNamespace(name: string): Record<string, string> {
    return { ...(this.namespaceLabels[name] ?? {}), 'kubernetes.io/metadata.name': name };
  }

  private side(pod: Pod, type: 'Ingress' | 'Egress', peer: Endpoint, port: number, protocol: string, destination: Endpoint): Verdict {
    const selecting = this.policies.filter(
      (p) => this.namespaceOf(p) === pod.namespace && selectorMatches(p.spec.podSelector, pod.labels) && policyTypes(p).includes(type),
    );
    if (selecting.length === 0) {
      return { allowed: true, reason: `${pod.name} not isolated for ${type.toLowerCase()}` };
    }
    const allowing = selecting.filter((policy) =>
      ((type === 'Ingress' ? policy.spec.ingress : policy.spec.egress) ?? []).some((rule) => {
        const peers = type === 'Ingress' ? rule.from : rule.to;
        const peerOk = peers === undefined || peers.length === 0 || peers.some((p) => this.peerMatches(p, peer, this.namespaceOf(policy)));
        return peerOk && portMatches(rule.ports, port, protocol, destination);
      }),
    );
    return allowing.length > 0
      ? { allowed: true, reason: `${type.toLowerCase()} by ${allowing.map((p) => p.metadata.name).join(', ')}` }
      : { allowed: false, reason: `no ${type.toLowerCase()} rule of ${selecting.map((p) => p.metadata.name).join(', ')}` };
  }

  private peerMatches(peer: Peer, endpoint: Endpoint, policyNamespace: string): boolean {
    if (peer.ipBlock) {
      return ipInBlock(endpoint.ip, peer.ipBlock);
    }
    if (!isPod(endpoint)) {
      return false; // pod and namespace selectors select pods only
    }
    if (peer.namespaceSelector) {
      return selectorMatches(peer.namespaceSelector, this.labelsOfNamespace(endpoint.namespace)) && selectorMatches(peer.podSelector, endpoint.labels);
    }
    return endpoint.namespace === policyNamespace && selectorMatches(peer.podSelector, endpoint.labels);
  }
}

function policyTypes(policy: NetworkPolicyObject): string[] {
  if (policy.spec.policyTypes && policy.spec.policyTypes.length > 0) {
    return policy.spec.policyTypes;
  }
  return policy.spec.egress ? ['Ingress', 'Egress'] : ['Ingress'];
}

function portMatches(ports: PolicyPort[] | undefined, port: number, protocol: string, destination: Endpoint): boolean {
  if (ports === undefined || ports.length === 0) {
    return true;
  }
  return ports.some((p) => {
    if ((p.protocol ?? 'TCP') !== protocol) {
      return false;
    }
    if (p.port === undefined) {
      return true;
    }
    if (typeof p.port === 'string') {
      // A named port means the destination pod's container port of that name and protocol.
      const named = isPod(destination) ? (destination.ports ?? []).find((c) => c.name === p.port && (c.protocol ?? 'TCP') === protocol) : undefined;
      return named !== undefined && named.containerPort === port;
    }
    return p.endPort !== undefined ? port >= p.port && port <= p.endPort : port === p.port;
  });
}
