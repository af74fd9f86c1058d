// Defaults several layers share (config schema, construct props), written once.

/** CPU request of a service container. */
export const DEFAULT_SERVICE_CPU_REQUEST = '250m';

/** Image of the smoke-test Jobs: provides `curl` as entrypoint, pinned. */
export const DEFAULT_SMOKE_TEST_IMAGE = 'curlimages/curl:8.10.1';

/** Namespace of the cluster DNS (kube-dns / CoreDNS). */
export const DEFAULT_DNS_NAMESPACE = 'kube-system';

/** Labels of the cluster DNS pods (CoreDNS keeps kube-dns' label). */
export const DEFAULT_DNS_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({ 'k8s-app': 'kube-dns' });

/**
 * Never reachable through an external egress block unless named on purpose: private
 * ranges (RFC 1918), carrier-grade NAT (RFC 6598, some clusters' pod networks), link-local
 * (169.254.169.254 is the cloud metadata endpoint), and IPv6 unique-local and link-local.
 * Managed clusters serve the Kubernetes API on a private address on 443.
 */
export const PRIVATE_RANGES: readonly string[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
  '100.64.0.0/10',
  '169.254.0.0/16',
  'fc00::/7',
  'fe80::/10',
];

/** Labels of the Prometheus pods prometheus-operator (kube-prometheus-stack) creates. */
export const DEFAULT_PROMETHEUS_POD_LABELS: Readonly<Record<string, string>> = { 'app.kubernetes.io/name': 'prometheus' };

/** The Role names `PlatformRbac` creates with a prefix (the RUNBOOK names them in its blocks). */
export function platformRoleNames(prefix = 'aiaas') {
  return {
    onCall: `${prefix}-oncall`,
    responder: `${prefix}-responder`,
    deployer: `${prefix}-deployer`,
    databaseOperator: `${prefix}-database-operator`,
  } as const;
}
