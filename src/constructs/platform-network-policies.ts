import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { DEFAULT_DNS_NAMESPACE, DEFAULT_DNS_POD_LABELS } from '../config/defaults';
import { SMOKE_TEST_OF_LABEL } from './smoke-test-job';

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
  readonly dependencies?: NetworkPeer[];
  /**
   * Extra clients of a dependency, by dependency name (the database jobs for postgres).
   * @default - none
   */
  readonly dependencyClients?: Record<string, Record<string, string>[]>;
  /** The ingress controller. */
  readonly ingressController: NamespacedPeer;
  /** Namespace Prometheus scrapes from. */
  readonly monitoringNamespace: string;
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
    const peers = new Map<string, NetworkPeer>();
    for (const peer of [...props.services, ...dependencies]) {
      peers.set(peer.name, peer);
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
    const dns = props.dns ?? { namespace: DEFAULT_DNS_NAMESPACE, podLabels: { ...DEFAULT_DNS_POD_LABELS } };
    const callers = new Map<string, ServiceFlows[]>();
    for (const service of props.services) {
      for (const target of service.egressTo ?? []) {
        callers.set(target, [...(callers.get(target) ?? []), service]);
      }
    }
    const callersOf = (name: string) => callers.get(name) ?? [];

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
        namespacedSelector({ namespace: props.monitoringNamespace }),
      ];
      if (service.exposedToIngress) {
        from.unshift(namespacedSelector(props.ingressController));
      }
      const egress: unknown[] = (service.egressTo ?? []).map((target) => {
        const peer = peers.get(target)!;
        return { to: [{ podSelector: { matchLabels: peer.podLabels } }], ports: [{ protocol: 'TCP', port: peer.port }] };
      });
      if ((service.externalEgressCidrs ?? []).length > 0) {
        egress.push({
          to: service.externalEgressCidrs!.map((cidr) => ({ ipBlock: { cidr } })),
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

    for (const dependency of dependencies) {
      const clients = [
        ...callersOf(dependency.name).map((caller) => caller.podLabels),
        ...(props.dependencyClients?.[dependency.name] ?? []),
      ];
      if (clients.length === 0) {
        continue;
      }
      this.policy(`Dependency-${dependency.name}`, `${dependency.name}-clients`, dependency.podLabels, ['Ingress'], {
        ingress: [
          {
            from: clients.map((labels) => ({ podSelector: { matchLabels: labels } })),
            ports: [{ protocol: 'TCP', port: dependency.port }],
          },
        ],
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
