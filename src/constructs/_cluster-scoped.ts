import { ApiObject, JsonPatch } from 'cdk8s';

/**
 * Drops the chart's namespace from a cluster-scoped object (Namespace,
 * ClusterRole, ...): cdk8s puts the chart namespace on every object.
 */
export function clusterScoped(object: ApiObject): ApiObject {
  if (object.metadata.namespace !== undefined) {
    object.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
  return object;
}
