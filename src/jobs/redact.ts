// Scrubbing of secrets from text that ends up in logs or reports.

const secrets = new Set<string>();

/** Register a secret (e.g. the PGPASSWORD value) so that it is never printed. */
export function addSecret(secret: string | undefined): void {
  if (secret && secret.length >= 1) secrets.add(secret);
}

/**
 * Register the passwords inside a connection string given where a name was expected
 * (`postgresql://user:PASSWORD@host/db`, `dbname=db password=PASSWORD`), before any
 * message can echo it.
 */
export function addSecretsOf(value: string | undefined): void {
  if (!value) return;
  const uri = /^postgres(?:ql)?:\/\/[^:@/]*:([^@/]*)@/i.exec(value.trim());
  if (uri) {
    addSecret(uri[1]);
    try {
      addSecret(decodeURIComponent(uri[1]));
    } catch {
      // not percent-encoded: the raw form is registered
    }
  }
  for (const m of value.matchAll(/\bpassword\s*=\s*('(?:[^'\\]|\\.)*'|\S+)/gi)) {
    addSecret(m[1].startsWith("'") ? m[1].slice(1, -1) : m[1]);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Remove connection strings, `password=...` key/values, SQL `PASSWORD '...'`
 * literals and registered secrets from a text. A secret is removed where it
 * stands as a value (between quotes, after `:`, before `@`, alone), never from
 * inside a longer word: a one-letter password must not blank letters of words,
 * which would give it away.
 */
export function redact(text: string): string {
  let out = text
    .replace(/\b(postgres(?:ql)?):\/\/[^\s'"]*/gi, '$1://[redacted]')
    .replace(/\b(password\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1[redacted]')
    .replace(/\b(password\s+)'(?:[^']|'')*'/gi, "$1'[redacted]'");
  for (const s of secrets) {
    if (out.includes(s)) {
      out = out.replace(new RegExp(`(?<![\\p{L}\\p{N}_])${escapeRegExp(s)}(?![\\p{L}\\p{N}_])`, 'gu'), '[redacted]');
    }
  }
  return out;
}

/** `redact` applied to every string of a JSON-like value (reports, log objects). */
export function redactDeep<T>(value: T): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value !== null && typeof value === 'object' && !(value instanceof Error) && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v)])) as T;
  }
  return value;
}
