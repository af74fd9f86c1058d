// Private: availability and supply-chain rules every platform workload follows
// (issue 10.11-10.14): image pull policy from the pinning, node spreading, ephemeral storage
// (the PDB rule, shared with the config check, is src/config/workload-rules.ts). One place, so the Deployments, Jobs and CronJobs cannot drift apart.
import { k8s } from 'cdk8s-plus-28';

/** `<name>@sha256:<64 hex>`: a digest-pinned image. */
const DIGEST = /@sha256:[0-9a-f]{64}$/;

export function isDigestPinned(image: string): boolean {
  return DIGEST.test(image);
}

/**
 * A digest never changes, so a node's cached copy is the right one. A tag can be
 * re-pushed: `Always` makes the kubelet ask the registry for the tag's current
 * digest (and re-checks pull credentials) at every start, as kube-score expects.
 */
export function imagePullPolicyOf(image: string): 'Always' | 'IfNotPresent' {
  return isDigestPinned(image) ? 'IfNotPresent' : 'Always';
}

/** Hostname spreading that blocks scheduling (required) or only scores nodes (preferred). */
export type NodeSpreadMode = 'required' | 'preferred';

/**
 * Topology spread of one colour's pods: one per node first (required from 2 replicas
 * on, so two replicas never share a node), then zones (always soft: many clusters
 * have one zone). `pod-template-hash` keeps a rolling update's old and new pods in
 * separate counts, so a surge pod is never blocked by the pods it replaces.
 */
export function spreadConstraints(selector: Record<string, string>, replicas: number, mode: NodeSpreadMode): k8s.TopologySpreadConstraint[] {
  const constraint = (topologyKey: string, whenUnsatisfiable: string): k8s.TopologySpreadConstraint => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable,
    labelSelector: { matchLabels: { ...selector } },
    matchLabelKeys: ['pod-template-hash'],
  });
  return [
    constraint('kubernetes.io/hostname', mode === 'required' && replicas >= 2 ? 'DoNotSchedule' : 'ScheduleAnyway'),
    constraint('topology.kubernetes.io/zone', 'ScheduleAnyway'),
  ];
}

/** Requests and limits of ephemeral storage (logs, /tmp emptyDir, writable layers) per kind of container. */
export const EPHEMERAL_STORAGE = {
  // cdk8s-plus writes ephemeral storage in whole Gi; the /tmp emptyDir (64Mi) and rotated logs fit well below.
  service: { request: '1Gi', limit: '2Gi' },
  job: { request: '1Gi', limit: '2Gi' },
  configBackup: { request: '1Gi', limit: '1Gi' },
  smokeTest: { request: '64Mi', limit: '128Mi' },
} as const;
