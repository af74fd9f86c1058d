// The one shape for "a key of a Secret", in config and construct props alike: `secret` names
// the Secret, `key` (or `usernameKey`/`passwordKey`...) the entries read from it. Secrets are
// referenced, never created here and never hold data in this repository.
import { z } from 'zod';
import { dns1123Label, matching } from './validators';

/** A key inside a Secret. */
export interface SecretKeyRef {
  /** Name of the Secret. */
  readonly secret: string;
  /** Key inside the Secret. */
  readonly key: string;
}

/** An environment variable read from a key of a Secret. */
export interface SecretEnvVar extends SecretKeyRef {
  /** Name of the variable in the container. */
  readonly env: string;
}

/** A Secret holding a user name and a password under two keys. */
export interface SecretCredentials {
  /** Name of the Secret. */
  readonly secret: string;
  /** Key holding the user name. */
  readonly usernameKey: string;
  /** Key holding the password. */
  readonly passwordKey: string;
}

/** A key inside a Secret: letters, digits, '-', '_' or '.'. */
export const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
export const secretKey = matching(SECRET_KEY, "expected a Secret key of letters, digits, '-', '_' or '.'");

/** An environment variable name. */
export const ENV_VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const envVarName = matching(ENV_VAR_NAME, 'expected an environment variable name');

/** The old names of `secret`: `name` (the jobs' Secrets) and `secretName` (monitoring, construct props). */
const OLD_SECRET_FIELDS = ['name', 'secretName'] as const;

function shown(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

/**
 * Refuses the old names of `secret` with the new one and the value given. The value is
 * checked as `secret` (one error, not a second "secret: Required"); the output type has no old field.
 */
function refusingOldNames<T extends z.ZodTypeAny>(schema: T, expected: string): z.ZodEffects<T, z.output<T>, z.input<T>> {
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return value;
    }
    const rest: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const old of OLD_SECRET_FIELDS) {
      if (old in rest) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, path: [old], message: `renamed 'secret': expected ${expected} (got ${old}: ${shown(rest[old])})` });
        rest.secret ??= rest[old];
        delete rest[old];
      }
    }
    return rest;
  }, schema) as z.ZodEffects<T, z.output<T>, z.input<T>>;
}

// The builders stay private: a generic zod builder in the published .d.ts does not compile for
// consumers (TS2536 on zod's mapped types); the concrete schemas below do.

/** `{ secret, key }`: the Secret (a DNS-1123 label) and a key in it. */
function keyRefSchema<K extends z.ZodTypeAny>(key: K) {
  return refusingOldNames(
    z
      .object({
        /** Name of the Secret. */
        secret: dns1123Label,
        /** Key inside the Secret. */
        key,
      })
      .strict(),
    `{ secret: <Secret name>, key }`,
  );
}

/** `{ secret, <role>Key... }`: one Secret, several keys each with its default. */
function keysSchema<K extends string, S extends z.ZodTypeAny>(keys: Record<K, string>, secret: S) {
  const shape = Object.fromEntries(Object.entries<string>(keys).map(([field, value]) => [field, secretKey.default(value)])) as Record<
    K,
    z.ZodDefault<typeof secretKey>
  >;
  return refusingOldNames(
    z
      .object({
        /** Name of the Secret. */
        secret,
        ...shape,
      })
      .strict(),
    `{ secret: <Secret name>, ${Object.keys(keys).join(', ')} }`,
  );
}

/** `{ secret, key }`, both required. */
export const secretKeyRefSchema = keyRefSchema(secretKey);

/** `{ secret, key }` of a CA certificate: `key` defaults to `ca.crt`. */
export const caCertificateRefSchema = keyRefSchema(secretKey.default('ca.crt'));

/** `{ secret, usernameKey, passwordKey }` of the jobs' database role (`aiaas-job-db-credentials`, `username`, `password`). */
export const databaseCredentialsSchema = keysSchema({ usernameKey: 'username', passwordKey: 'password' }, dns1123Label.default('aiaas-job-db-credentials'));

/** `{ secret, accessKeyIdKey, secretAccessKeyKey }` of an S3 access key (keys `access-key-id`, `secret-access-key`). */
export const bucketCredentialsSchema = keysSchema({ accessKeyIdKey: 'access-key-id', secretAccessKeyKey: 'secret-access-key' }, dns1123Label);
