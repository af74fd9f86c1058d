// One Pulumi resource per synthesized Kubernetes object, named and ordered
// from the objects themselves: no list of kinds to keep in step with the chart.
import type * as k8s from '@pulumi/kubernetes';
import * as pulumi from '@pulumi/pulumi';
import { isRetained } from '../constructs/retained';
import { KubernetesObject, ManifestObject, apiGroupOf, isBuiltInApiVersion } from './kubernetes-object';

export interface ManifestResourcesOptions {
  /** Parent of every object. */
  readonly parent: pulumi.Resource;
  /**
   * Kubernetes provider of every object.
   * @default - inherited from the parent
   */
  readonly provider?: k8s.Provider;
}

/** `<prefix>-<kind>[-<namespace>]-<name>`, lower-case. */
export function resourceNameOf(prefix: string, manifest: ManifestObject): string {
  return [prefix, manifest.kind, manifest.metadata?.namespace, manifest.metadata?.name]
    .filter((part): part is string => typeof part === 'string' && part !== '')
    .join('-')
    .toLowerCase();
}

/** 0: Namespaces and CRDs; 1: other built-in objects; 2: objects of CRD kinds. */
export function orderTierOf(manifest: ManifestObject): 0 | 1 | 2 {
  if (manifest.apiVersion === 'v1' && manifest.kind === 'Namespace') {
    return 0;
  }
  if (apiGroupOf(manifest.apiVersion) === 'apiextensions.k8s.io' && manifest.kind === 'CustomResourceDefinition') {
    return 0;
  }
  return isBuiltInApiVersion(manifest.apiVersion) ? 1 : 2;
}

/**
 * Registers one `KubernetesObject` per manifest, returned in manifest order.
 * Each tier depends on every object of the tiers before it: Namespaces and
 * CRDs, then built-in objects, then objects of CRD kinds (whose CRDs an
 * operator may not have installed yet: the workloads do not wait on them).
 */
export function manifestResources(prefix: string, manifests: ManifestObject[], options: ManifestResourcesOptions): KubernetesObject[] {
  const names = manifests.map((m) => resourceNameOf(prefix, m));
  const seen = new Map<string, number>();
  names.forEach((name, i) => {
    const first = seen.get(name);
    if (first !== undefined) {
      throw new Error(
        `objects ${describe(manifests[first])} and ${describe(manifests[i])} both map to the resource name '${name}'; expected unique kind, namespace and name`,
      );
    }
    seen.set(name, i);
  });

  const tiers = manifests.map(orderTierOf);
  const objects = new Array<KubernetesObject>(manifests.length);
  const earlierTiers: KubernetesObject[] = [];
  for (const tier of [0, 1, 2]) {
    const dependsOn = [...earlierTiers];
    manifests.forEach((manifest, i) => {
      if (tiers[i] === tier) {
        // Retained objects (Namespace, PVCs) stay in the cluster when the stack drops them or is destroyed.
        const retainOnDelete = isRetained(manifest) || undefined;
        objects[i] = new KubernetesObject(names[i], manifest, { parent: options.parent, provider: options.provider, dependsOn, retainOnDelete });
        earlierTiers.push(objects[i]);
      }
    });
  }
  return objects;
}

function describe(manifest: ManifestObject): string {
  const namespace = manifest.metadata?.namespace;
  return `${manifest.kind} ${namespace ? `${namespace}/` : ''}${manifest.metadata?.name}`;
}
