// Objects that hold data (the Namespace, PersistentVolumeClaims) are kept out of
// every pruned or deleted set. Deleting the Namespace deletes postgres and the backup PVC
// with it; the PVC holds the only copy of the dumps.
import { ApiObject } from 'cdk8s';

/** Argo CD's per-object sync options: never pruned when dropped from Git, kept when the Application is deleted. */
export const ARGOCD_SYNC_OPTIONS_ANNOTATION = 'argocd.argoproj.io/sync-options';
export const RETAINED_SYNC_OPTIONS = 'Prune=false,Delete=false';

/** Marks an object as retained: Argo CD never prunes or deletes it, synth writes it to the retained file, Pulumi retains it on delete. */
export function retain(object: ApiObject): ApiObject {
  object.metadata.addAnnotation(ARGOCD_SYNC_OPTIONS_ANNOTATION, RETAINED_SYNC_OPTIONS);
  return object;
}

/** Whether a synthesized object was marked with retain(). */
export function isRetained(manifest: { metadata?: { readonly [field: string]: unknown } }): boolean {
  const annotations = (manifest.metadata?.annotations ?? {}) as Record<string, unknown>;
  const options = annotations[ARGOCD_SYNC_OPTIONS_ANNOTATION];
  return typeof options === 'string' && options.split(',').map((o) => o.trim()).includes('Delete=false');
}
