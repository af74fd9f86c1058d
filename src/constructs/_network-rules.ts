// NetworkPolicy rules shared by the constructs that write their own policies.
import * as kplus from 'cdk8s-plus-28';

/** Egress to cluster DNS on UDP and TCP 53: every pod behind a default deny needs it. */
export function dnsEgressRule(dnsNamespace: string, dnsPodLabels: Record<string, string>): kplus.k8s.NetworkPolicyEgressRule {
  return {
    to: [
      {
        namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': dnsNamespace } },
        podSelector: { matchLabels: { ...dnsPodLabels } },
      },
    ],
    ports: [
      { protocol: 'UDP', port: kplus.k8s.IntOrString.fromNumber(53) },
      { protocol: 'TCP', port: kplus.k8s.IntOrString.fromNumber(53) },
    ],
  };
}
