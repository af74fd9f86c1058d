// Validates synthesized objects against the Kubernetes and prometheus-operator
// JSON schemas shipped by kubernetes-models (v4: CommonJS, works on Node 20).
import * as path from 'path';

type ModelClass = new (data: unknown) => { validate(): void };

function modulePathFor(apiVersion: string): string {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (group === 'argoproj.io') {
    return `@kubernetes-models/argo-rollouts/${group}/${version}`;
  }
  if (group === 'monitoring.coreos.com') {
    return `@kubernetes-models/prometheus-operator/${group}/${version}`;
  }
  return group === '' ? `kubernetes-models/${version}` : `kubernetes-models/${group}/${version}`;
}

/** The model class of an object's kind; throws for a kind no schema covers, so nothing goes unvalidated. */
export function modelFor(apiVersion: string, kind: string): ModelClass {
  const modulePath = modulePathFor(apiVersion);
  let mod: Record<string, unknown>;
  try {
    mod = require(path.join(modulePath, kind)) as Record<string, unknown>;
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind} (looked in ${modulePath})`);
  }
  const model = mod[kind] as ModelClass | undefined;
  if (!model) {
    throw new Error(`no schema for ${apiVersion} ${kind}`);
  }
  return model;
}

/** Throws with the object's kind and name when it does not validate. */
export function validateObject(object: any): void {
  const model = modelFor(object.apiVersion, object.kind);
  try {
    new model(object).validate();
  } catch (error) {
    throw new Error(`${object.kind}/${object.metadata?.name}: ${(error as Error).message}`);
  }
}

export function validateAll(objects: any[]): void {
  for (const object of objects) {
    validateObject(object);
  }
}
