// The revision of a pod template: a short hash of everything the pods run (image,
// env, resources, probes...), so a Service can select the pods of one revision only.
import { createHash } from 'crypto';

/** Label carrying the revision of a colour's pod template (pods and preview Service selector). */
export const REVISION_LABEL = 'aiaas.io/revision';

/** The JSON Pointer segment of the revision label (`/` escaped as `~1`). */
export const REVISION_LABEL_POINTER = REVISION_LABEL.replace(/~/g, '~0').replace(/\//g, '~1');

/** JSON with object keys sorted: equal values give equal strings, whatever the key order (YAML round trips). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    return `[${value.map(canonicalJson).join(',')}]`;
  }
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** 10 hex digits of the SHA-256 of a pod template, its own revision label left out. */
export function podTemplateRevision(template: unknown): string {
  const copy = JSON.parse(JSON.stringify(template ?? {}));
  if (copy.metadata?.labels) {
    delete copy.metadata.labels[REVISION_LABEL];
  }
  return createHash('sha256').update(canonicalJson(copy)).digest('hex').slice(0, 10);
}

/**
 * The first path where two JSON values differ (`spec.containers[0].image: 'a' → 'b'`),
 * for messages that say what changed; undefined when equal.
 */
export function firstDifference(before: unknown, after: unknown, path = ''): string | undefined {
  if (canonicalJson(before) === canonicalJson(after)) {
    return undefined;
  }
  const bothObjects = typeof before === 'object' && before !== null && typeof after === 'object' && after !== null;
  if (bothObjects && Array.isArray(before) === Array.isArray(after)) {
    const keys = [...new Set([...Object.keys(before as object), ...Object.keys(after as object)])].sort();
    for (const key of keys) {
      const child = Array.isArray(before) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      const found = firstDifference((before as any)[key], (after as any)[key], child);
      if (found) {
        return found;
      }
    }
  }
  const show = (v: unknown) => (v === undefined ? '(absent)' : truncate(JSON.stringify(v)));
  return `${path || '(root)'}: ${show(before)} → ${show(after)}`;
}

function truncate(text: string): string {
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
