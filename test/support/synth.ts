// Helpers to synthesize charts in tests and look objects up by kind and name.
import { Testing } from 'cdk8s';
import { PlatformConfigInput } from '../../src/config/platform-config';
import { PlatformChart } from '../../src/constructs/platform-chart';
import { withRunbookUrl } from './reference';

export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

/** A config that patches one reference service by name (the loader merges it; images come from the reference). */
export function servicePatch(patch: { name: string; [field: string]: unknown }): PlatformConfigInput {
  return { services: [patch as PlatformConfigInput['services'] extends (infer S)[] | undefined ? S : never] };
}

/** Synthesizes the platform chart for a config. */
export function synthPlatformObjects(config: PlatformConfigInput = {}): K8sObject[] {
  return new PlatformChart(Testing.app(), 'aiaas', { config: withRunbookUrl(config) }).toJson() as K8sObject[];
}

export function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    throw new Error(`no ${kind} named ${name}; have ${objects.filter((o) => o.kind === kind).map((o) => o.metadata.name).join(', ')}`);
  }
  return found;
}

export function ofKind(objects: K8sObject[], kind: string): K8sObject[] {
  return objects.filter((o) => o.kind === kind);
}

/** Objects keyed by `Kind/name`, for diffing two synth outputs. */
export function byKey(objects: K8sObject[]): Map<string, K8sObject> {
  return new Map(objects.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
}

/**
 * The JSON paths that differ between two synth outputs, as `Kind/name:/path`;
 * added and removed objects appear as `+Kind/name` and `-Kind/name`.
 */
export function diffObjects(before: K8sObject[], after: K8sObject[]): string[] {
  const a = byKey(before);
  const b = byKey(after);
  const changes: string[] = [];
  for (const key of a.keys()) {
    if (!b.has(key)) {
      changes.push(`-${key}`);
    }
  }
  for (const [key, object] of b) {
    const old = a.get(key);
    if (!old) {
      changes.push(`+${key}`);
    } else {
      diffValues(old, object, `${key}:`, changes);
    }
  }
  return changes.sort();
}

function diffValues(a: unknown, b: unknown, path: string, out: string[]): void {
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && Array.isArray(a) === Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const key of keys) {
      diffValues((a as any)[key], (b as any)[key], `${path}/${key}`, out);
    }
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    out.push(path);
  }
}
