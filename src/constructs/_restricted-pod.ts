// Private helpers shared by every construct that creates pods: the Pod Security
// Standards "restricted" profile in one place, so no workload can drift from it.
import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/** Default non-root identity of every platform container (PSS restricted wants non-root; we also keep it >= 10000). */
export const DEFAULT_RUN_AS_USER = 10001;
export const DEFAULT_RUN_AS_GROUP = 10001;

/** UID/GID a restricted pod runs as. */
export interface RestrictedIdentity {
  readonly runAsUser: number;
  readonly runAsGroup: number;
}

export const DEFAULT_IDENTITY: RestrictedIdentity = {
  runAsUser: DEFAULT_RUN_AS_USER,
  runAsGroup: DEFAULT_RUN_AS_GROUP,
};

/**
 * Container security context meeting PSS "restricted". cdk8s-plus already sets
 * runAsNonRoot, readOnlyRootFilesystem and allowPrivilegeEscalation=false, but not
 * the capability drop or the seccomp profile, which "restricted" requires.
 */
export function restrictedContainerSecurityContext(
  identity: RestrictedIdentity = DEFAULT_IDENTITY,
): kplus.ContainerSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: identity.runAsUser,
    group: identity.runAsGroup,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/** Pod security context matching the container one (fsGroup lets mounted volumes be written by the non-root user). */
export function restrictedPodSecurityContext(
  identity: RestrictedIdentity = DEFAULT_IDENTITY,
): kplus.PodSecurityContextProps {
  return {
    ensureNonRoot: true,
    user: identity.runAsUser,
    group: identity.runAsGroup,
    fsGroup: identity.runAsGroup,
  };
}

/** Size of the /tmp emptyDir every restricted pod gets. */
const SCRATCH_TMP_MEBIBYTES = 64;

/**
 * Mounts a writable emptyDir at /tmp: with a read-only root filesystem, it is the
 * only place a process may write scratch files.
 */
export function mountScratchTmp(scope: Construct, container: kplus.Container, sizeMebibytes = SCRATCH_TMP_MEBIBYTES): void {
  const volume = kplus.Volume.fromEmptyDir(scope, 'TmpVolume', 'tmp', {
    sizeLimit: Size.mebibytes(sizeMebibytes),
  });
  container.mount('/tmp', volume);
}

// The same profile for L1 (k8s.Kube*) objects, which take the Kubernetes API's own shapes.

/** restrictedContainerSecurityContext() as the Kubernetes API spells it. */
export function restrictedContainerSecurityContextSpec(identity: RestrictedIdentity = DEFAULT_IDENTITY): k8s.SecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: identity.runAsUser,
    runAsGroup: identity.runAsGroup,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** restrictedPodSecurityContext() as the Kubernetes API spells it. */
export function restrictedPodSecurityContextSpec(identity: RestrictedIdentity = DEFAULT_IDENTITY): k8s.PodSecurityContext {
  return { runAsNonRoot: true, runAsUser: identity.runAsUser, runAsGroup: identity.runAsGroup, fsGroup: identity.runAsGroup };
}

/** mountScratchTmp() for an L1 pod spec: the /tmp mount of a container and the volume behind it. */
export const SCRATCH_TMP_MOUNT: k8s.VolumeMount = { name: 'tmp', mountPath: '/tmp' };
export const SCRATCH_TMP_VOLUME: k8s.Volume = { name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString(`${SCRATCH_TMP_MEBIBYTES}Mi`) } };
