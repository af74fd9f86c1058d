import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { DEFAULT_DNS_NAMESPACE, DEFAULT_DNS_POD_LABELS, DEFAULT_PROMETHEUS_POD_LABELS, PRIVATE_RANGES } from '../config/defaults';
import { cidrContains } from './_cidr';
import { SMOKE_TEST_OF_LABEL } from './smoke-test-job';

// Defaults the config schema shares, re-exported with the props they are the defaults of.
export { DEFAULT_PROMETHEUS_POD_LABELS, PRIVATE_RANGES } from '../config/defaults';

/** Pods of the platform, addressed by labels, and the port they serve. */
export interface NetworkPeer {
  /** Name used in `egressTo` lists. */
  readonly name: string;
  /** Labels selecting the pods. */
  readonly podLabels: Record<string, string>;
  /** Port they listen on. */
  readonly port: number;
}

/** A platform service and the flows it needs. */
export interface ServiceFlows extends NetworkPeer {
  /**
   * Reachable from the ingress controller.
   * @default false
   */
  readonly exposedToIngress?: boolean;
  /**
   * Names of services or dependencies it calls.
   * @default - none
   */
  readonly egressTo?: string[];
  /**
   * External CIDR blocks it calls on 443.
   * @default - none
   */
  readonly externalEgressCidrs?: string[];
  /**
   * Blocks cut out of `externalEgressCidrs` (only those inside a block are written as its `except`).
   * @default PRIVATE_RANGES
   */
  readonly externalEgressExcept?: string[];
}

/** Egress of a dependency to something outside the platform (WAL archive, a Kafka cluster...). */
export interface DependencyEgress {
  /**
   * CIDR blocks reached.
   * @default - none: the peer is given by namespace and pod labels
   */
  readonly cidrs?: string[];
  /**
   * Namespace of the pods reached.
   * @default - the dependency's own namespace (when podLabels are given)
   */
  readonly namespace?: string;
  /**
   * Labels of the pods reached.
   * @default - every pod of `namespace`
   */
  readonly podLabels?: Record<string, string>;
  /** TCP ports reached. */
  readonly ports: number[];
}

/** A workload the platform uses but does not deploy, and what it needs itself. */
export interface DependencyFlows extends NetworkPeer {
  /**
   * Port of its metrics exporter (postgres_exporter 9187), admitted from the Prometheus pods.
   * @default - no metrics port
   */
  readonly metricsPort?: number;
  /**
   * Labels of the exporter's pods when it runs as its own Deployment (not a sidecar): they
   * serve `metricsPort` and connect to the dependency on `port`.
   * @default - the exporter is a sidecar in the dependency's pods
   */
  readonly metricsPodLabels?: Record<string, string>;
  /**
   * Labels of its replicas (a streaming standby of postgres): they reach the pods of
   * `podLabels` on `port`, and those pods may reach them.
   * @default - no replication
   */
  readonly replicaPodLabels?: Record<string, string>;
  /**
   * Other egress of the dependency.
   * @default - none (DNS only)
   */
  readonly egress?: DependencyEgress[];
}

/**
 * A peer outside the cluster reached by address (a managed database): egress to its
 * CIDR blocks on `port`, and no policy on pods of its own.
 */
export interface ExternalPeer {
  /** Name used in `egressTo` lists. */
  readonly name: string;
  /** Its addresses. */
  readonly cidrs: string[];
  /** Port it listens on. */
  readonly port: number;
  /**
   * Port of its metrics exporter, running in this namespace as `metricsPodLabels`:
   * admitted from the Prometheus pods, and reaching the peer's CIDRs on `port`.
   * @default - no exporter here
   */
  readonly metricsPort?: number;
  /**
   * Labels of the exporter's pods (required with `metricsPort`).
   * @default - no exporter here
   */
  readonly metricsPodLabels?: Record<string, string>;
}

/** Pods from another namespace, selected by namespace name and pod labels. */
export interface NamespacedPeer {
  readonly namespace: string;
  /**
   * Labels of the pods.
   * @default - every pod of the namespace
   */
  readonly podLabels?: Record<string, string>;
}

export interface PlatformNetworkPoliciesProps {
  /** The platform's services. */
  readonly services: ServiceFlows[];
  /**
   * Workloads the platform uses but does not deploy (postgres, redis, ...), in the same namespace.
   * @default - none
   */
  readonly dependencies?: DependencyFlows[];
  /**
   * Extra clients of a dependency, by dependency name (the database jobs for postgres).
   * @default - none
   */
  readonly dependencyClients?: Record<string, Record<string, string>[]>;
  /**
   * Peers outside the cluster (an external database), reached by CIDR.
   * @default - none
   */
  readonly externalPeers?: ExternalPeer[];
  /** The ingress controller. */
  readonly ingressController: NamespacedPeer;
  /** Namespace Prometheus scrapes from. */
  readonly monitoringNamespace: string;
  /**
   * Labels of the Prometheus pods in `monitoringNamespace`: only they reach the
   * metrics ports (other monitoring pods, Grafana included, do not).
   * @default DEFAULT_PROMETHEUS_POD_LABELS
   */
  readonly prometheusPodLabels?: Record<string, string>;
  /**
   * Cluster DNS.
   * @default - kube-dns pods in kube-system
   */
  readonly dns?: NamespacedPeer;
}

/**
 * Default-deny for the namespace, DNS for every pod, then exactly the flows the
 * platform needs: one NetworkPolicy per service and per dependency, named after it.
 */
export class PlatformNetworkPolicies extends Construct {
  /** Names of the NetworkPolicies, for the runbook. */
  public readonly policyNames: string[] = [];

  constructor(scope: Construct, id: string, props: PlatformNetworkPoliciesProps) {
    super(scope, id);
    const dependencies = props.dependencies ?? [];
    const externalPeers = props.externalPeers ?? [];
    const peers = new Map<string, NetworkPeer | ExternalPeer>();
    for (const peer of [...props.services, ...dependencies, ...externalPeers]) {
      if (peers.has(peer.name)) {
        throw new Error(`'${peer.name}' is both ${'cidrs' in peer ? 'an external peer' : 'a service or dependency'} and another peer; expected one peer per name`);
      }
      peers.set(peer.name, peer);
    }
    for (const peer of externalPeers) {
      if (peer.cidrs.length === 0) {
        throw new Error(`'externalPeers[${peer.name}].cidrs' ([]) must name at least one CIDR block`);
      }
      if ((peer.metricsPort === undefined) !== (peer.metricsPodLabels === undefined) || (peer.metricsPodLabels && Object.keys(peer.metricsPodLabels).length === 0)) {
        throw new Error(`'externalPeers[${peer.name}]': expected metricsPort and non-empty metricsPodLabels together (the exporter runs in this namespace), or neither`);
      }
    }
    for (const service of props.services) {
      for (const target of service.egressTo ?? []) {
        if (!peers.has(target)) {
          throw new Error(`'${service.name}.egressTo' names unknown service '${target}'; expected one of ${[...peers.keys()].join(', ')}`);
        }
      }
    }
    for (const name of Object.keys(props.dependencyClients ?? {})) {
      if (!dependencies.some((d) => d.name === name)) {
        throw new Error(`'dependencyClients.${name}' names unknown dependency; expected one of ${dependencies.map((d) => d.name).join(', ')}`);
      }
    }
    for (const dependency of dependencies) {
      for (const field of ['podLabels', 'replicaPodLabels', 'metricsPodLabels'] as const) {
        const selector = dependency[field];
        if (selector !== undefined && Object.keys(selector).length === 0) {
          throw new Error(`'dependencies[${dependency.name}].${field}' ({}) must not be empty: an empty selector selects every pod of the namespace`);
        }
      }
    }
    const dns = props.dns ?? { namespace: DEFAULT_DNS_NAMESPACE, podLabels: { ...DEFAULT_DNS_POD_LABELS } };
    const callers = new Map<string, ServiceFlows[]>();
    for (const service of props.services) {
      for (const target of service.egressTo ?? []) {
        callers.set(target, [...(callers.get(target) ?? []), service]);
      }
    }
    const callersOf = (name: string) => callers.get(name) ?? [];
    const prometheus = namespacedSelector({
      namespace: props.monitoringNamespace,
      podLabels: props.prometheusPodLabels ?? { ...DEFAULT_PROMETHEUS_POD_LABELS },
    });

    this.policy('DefaultDeny', 'default-deny-all', {}, ['Ingress', 'Egress'], {});
    this.policy('AllowDns', 'allow-dns', {}, ['Egress'], {
      egress: [
        {
          to: [namespacedSelector(dns)],
          ports: [
            { protocol: 'UDP', port: 53 },
            { protocol: 'TCP', port: 53 },
          ],
        },
      ],
    });

    for (const service of props.services) {
      const from: unknown[] = [
        ...callersOf(service.name).map((caller) => ({ podSelector: { matchLabels: caller.podLabels } })),
        { podSelector: { matchLabels: { [SMOKE_TEST_OF_LABEL]: service.name } } },
        prometheus,
      ];
      if (service.exposedToIngress) {
        from.unshift(namespacedSelector(props.ingressController));
      }
      const egress: unknown[] = (service.egressTo ?? []).map((target) => {
        const peer = peers.get(target)!;
        const to = 'cidrs' in peer ? peer.cidrs.map((cidr) => ({ ipBlock: { cidr } })) : [{ podSelector: { matchLabels: peer.podLabels } }];
        return { to, ports: [{ protocol: 'TCP', port: peer.port }] };
      });
      if ((service.externalEgressCidrs ?? []).length > 0) {
        egress.push({
          to: service.externalEgressCidrs!.map((cidr) => ipBlock(cidr, service.externalEgressExcept ?? PRIVATE_RANGES)),
          ports: [{ protocol: 'TCP', port: 443 }],
        });
      }
      this.policy(`Service-${service.name}`, service.name, service.podLabels, ['Ingress', 'Egress'], {
        ingress: [{ from, ports: [{ protocol: 'TCP', port: service.port }] }],
        egress,
      });
      // The smoke test may only reach the service it tests.
      this.policy(`SmokeTest-${service.name}`, `${service.name}-smoke-test`, { [SMOKE_TEST_OF_LABEL]: service.name }, ['Egress'], {
        egress: [{ to: [{ podSelector: { matchLabels: service.podLabels } }], ports: [{ protocol: 'TCP', port: service.port }] }],
      });
    }

    this.externalExporterPolicies(externalPeers, prometheus);

    for (const dependency of dependencies) {
      const exporter = dependency.metricsPort !== undefined ? dependency.metricsPodLabels : undefined;
      const clients = [
        ...callersOf(dependency.name).map((caller) => caller.podLabels),
        ...(props.dependencyClients?.[dependency.name] ?? []),
        ...(exporter ? [exporter] : []),
      ];
      const port = [{ protocol: 'TCP', port: dependency.port }];
      if (clients.length > 0) {
        this.policy(`Dependency-${dependency.name}`, `${dependency.name}-clients`, dependency.podLabels, ['Ingress'], {
          ingress: [{ from: clients.map((labels) => ({ podSelector: { matchLabels: labels } })), ports: port }],
        });
      }
      // The default deny selects the dependency's pods too: reopen what it needs for itself.
      if (dependency.replicaPodLabels) {
        // A standby streams from the primary; either may be primary after a failover, so both
        // directions are open between the two sets (one policy when they share labels, as in a StatefulSet).
        const members = uniqueSelectors([dependency.podLabels, dependency.replicaPodLabels]);
        const peers = members.map((labels) => ({ podSelector: { matchLabels: labels } }));
        members.forEach((labels, i) => {
          const suffix = i === 0 ? '' : '-replicas';
          this.policy(`Replication-${dependency.name}${suffix}`, `${dependency.name}-replication${suffix}`, labels, ['Ingress', 'Egress'], {
            ingress: [{ from: peers, ports: port }],
            egress: [{ to: peers, ports: port }],
          });
        });
      }
      if (dependency.metricsPort !== undefined) {
        this.policy(`Metrics-${dependency.name}`, `${dependency.name}-metrics`, exporter ?? dependency.podLabels, exporter ? ['Ingress', 'Egress'] : ['Ingress'], {
          ingress: [{ from: [prometheus], ports: [{ protocol: 'TCP', port: dependency.metricsPort }] }],
          // A separate exporter connects to the dependency it reports on.
          ...(exporter ? { egress: [{ to: [{ podSelector: { matchLabels: dependency.podLabels } }], ports: port }] } : {}),
        });
      }
      if ((dependency.egress ?? []).length > 0) {
        this.policy(`Egress-${dependency.name}`, `${dependency.name}-egress`, dependency.podLabels, ['Egress'], {
          egress: dependency.egress!.map((e) => ({
            to: e.cidrs
              ? e.cidrs.map((cidr) => ({ ipBlock: { cidr } }))
              : [e.namespace ? namespacedSelector({ namespace: e.namespace, podLabels: e.podLabels }) : { podSelector: { matchLabels: e.podLabels ?? {} } }],
            ports: e.ports.map((p) => ({ protocol: 'TCP', port: p })),
          })),
        });
      }
    }
  }

  /** The exporter of an outside peer runs here: Prometheus scrapes it, it reaches the peer by address. */
  private externalExporterPolicies(peers: ExternalPeer[], prometheus: Record<string, unknown>): void {
    for (const peer of peers) {
      if (peer.metricsPort === undefined || peer.metricsPodLabels === undefined) {
        continue;
      }
      this.policy(`Metrics-${peer.name}`, `${peer.name}-metrics`, peer.metricsPodLabels, ['Ingress', 'Egress'], {
        ingress: [{ from: [prometheus], ports: [{ protocol: 'TCP', port: peer.metricsPort }] }],
        egress: [{ to: peer.cidrs.map((cidr) => ({ ipBlock: { cidr } })), ports: [{ protocol: 'TCP', port: peer.port }] }],
      });
    }
  }

  private policy(id: string, name: string, podLabels: Record<string, string>, policyTypes: string[], rules: Record<string, unknown>): void {
    new ApiObject(this, id, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name },
      spec: { podSelector: Object.keys(podLabels).length > 0 ? { matchLabels: podLabels } : {}, policyTypes, ...rules },
    });
    this.policyNames.push(name);
  }
}

function namespacedSelector(peer: NamespacedPeer): Record<string, unknown> {
  const selector: Record<string, unknown> = {
    namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': peer.namespace } },
  };
  if (peer.podLabels && Object.keys(peer.podLabels).length > 0) {
    selector.podSelector = { matchLabels: peer.podLabels };
  }
  return selector;
}

/** The selectors with duplicates (same labels) removed, in order. */
function uniqueSelectors(selectors: Record<string, string>[]): Record<string, string>[] {
  const seen = new Set<string>();
  return selectors.filter((labels) => {
    const key = JSON.stringify(Object.entries(labels).sort());
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

/** An ipBlock with the `except` entries that lie inside it (Kubernetes rejects others). */
function ipBlock(cidr: string, except: readonly string[]): Record<string, unknown> {
  const inside = except.filter((e) => e !== cidr && cidrContains(cidr, e));
  return { ipBlock: inside.length > 0 ? { cidr, except: inside } : { cidr } };
}
