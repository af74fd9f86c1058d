// "Did you mean" for misspelled config names (fields, services, perService keys).
import { distance } from 'fastest-levenshtein';
import { z } from 'zod';

/** Case, '-' and '_' are the cheapest typos to make: `slow-queries` is `slowQueries`. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, '');
}

/**
 * The known name closest to `name`, or undefined when none is close: the same
 * name up to case and separators, a prefix (`latencyP95` of `latencyP95Seconds`),
 * or an edit distance of at most a third of its length (at least 1, at most 3).
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const wanted = normalize(name);
  let best: { name: string; score: number } | undefined;
  for (const candidate of known) {
    const other = normalize(candidate);
    const prefix = wanted.length >= 3 && (other.startsWith(wanted) || wanted.startsWith(other));
    const score = other === wanted ? 0 : prefix ? 0.5 : distance(wanted, other);
    if (score <= Math.min(3, Math.max(1, Math.floor(wanted.length / 3))) && (best === undefined || score < best.score)) {
      best = { name: candidate, score };
    }
  }
  return best?.name;
}

/** ` (did you mean 'x'?)` when a known name is close, else the empty string. */
export function didYouMean(name: string, known: readonly string[]): string {
  const match = closestName(name, known);
  return match === undefined ? '' : ` (did you mean '${match}'?)`;
}

/**
 * The schema that validated the value at `path` (object keys, array indexes, record
 * keys), looking through defaults, optionals, refinements and preprocessing; undefined
 * where the path leaves the schema (a union, an unknown key).
 */
export function schemaAt(schema: z.ZodTypeAny, path: readonly (string | number)[]): z.ZodTypeAny | undefined {
  let current: z.ZodTypeAny | undefined = unwrap(schema);
  for (const segment of path) {
    if (current instanceof z.ZodObject) {
      current = (current.shape as Record<string, z.ZodTypeAny>)[segment];
    } else if (current instanceof z.ZodArray) {
      current = current.element;
    } else if (current instanceof z.ZodRecord) {
      current = current.valueSchema;
    } else {
      return undefined;
    }
    current = current === undefined ? undefined : unwrap(current);
  }
  return current;
}

function unwrap(schema: z.ZodTypeAny): z.ZodTypeAny {
  let current = schema;
  for (;;) {
    if (current instanceof z.ZodDefault || current instanceof z.ZodOptional || current instanceof z.ZodNullable) {
      current = current._def.innerType;
    } else if (current instanceof z.ZodEffects) {
      current = current.innerType();
    } else {
      return current;
    }
  }
}

/** The field names an object schema at `path` accepts (empty when it is not an object). */
export function knownFields(schema: z.ZodTypeAny, path: readonly (string | number)[]): string[] {
  const at = schemaAt(schema, path);
  if (!(at instanceof z.ZodObject)) {
    return [];
  }
  // A field kept only to refuse an old name with a pointer (`idleColor`) is no suggestion.
  return Object.entries(at.shape as Record<string, z.ZodTypeAny>)
    .filter(([, field]) => !(unwrap(field) instanceof z.ZodUndefined))
    .map(([name]) => name);
}
