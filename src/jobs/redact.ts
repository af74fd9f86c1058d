// Scrubbing of secrets from text that ends up in logs or reports.

const secrets = new Set<string>();

/** Register a secret (e.g. the PGPASSWORD value) so that it is never printed. */
export function addSecret(secret: string | undefined): void {
  if (secret && secret.length >= 1) secrets.add(secret);
}

/**
 * Remove connection strings, `password=...` key/values, SQL `PASSWORD '...'`
 * literals and registered secrets from a text.
 */
export function redact(text: string): string {
  let out = text
    .replace(/\b(postgres(?:ql)?):\/\/[^\s'"]*/gi, '$1://[redacted]')
    .replace(/\b(password\s*=\s*)('[^']*'|"[^"]*"|\S+)/gi, '$1[redacted]')
    .replace(/\b(password\s+)'(?:[^']|'')*'/gi, "$1'[redacted]'");
  for (const s of secrets) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}
