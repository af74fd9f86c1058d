// Defaults several layers share (config schema, construct props), written once.

/** CPU request of a service container. */
export const DEFAULT_SERVICE_CPU_REQUEST = '250m';

/** Image of the smoke-test Jobs: provides `curl` as entrypoint, pinned. */
export const DEFAULT_SMOKE_TEST_IMAGE = 'curlimages/curl:8.10.1';

/** Namespace of the cluster DNS (kube-dns / CoreDNS). */
export const DEFAULT_DNS_NAMESPACE = 'kube-system';

/** Labels of the cluster DNS pods (CoreDNS keeps kube-dns' label). */
export const DEFAULT_DNS_POD_LABELS: Readonly<Record<string, string>> = Object.freeze({ 'k8s-app': 'kube-dns' });
