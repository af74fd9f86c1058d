// Connections: one pg Pool per run, connected from the libpq variables.
import { readFileSync } from 'node:fs';
import { DatabaseError, Pool, PoolClient, PoolConfig } from 'pg';
import type { ConnectionConfig } from './config';
import type { Logger } from './logger';
import { markOwnStatements } from './own-statements';

function sslOf(mode: string | undefined): PoolConfig['ssl'] {
  switch (mode) {
    case undefined:
    case 'disable':
    case 'allow':
    case 'prefer': // node-postgres cannot fall back from TLS to plain: no TLS
      return false;
    case 'require': // libpq semantics: encrypted, certificate not verified
      return { rejectUnauthorized: false };
    default: { // verify-ca, verify-full
      const ca = process.env.PGSSLROOTCERT ? readFileSync(process.env.PGSSLROOTCERT, 'utf8') : undefined;
      return { rejectUnauthorized: true, ca };
    }
  }
}

/** Sessions wait at most this long for a lock (vacuum-analyze sets its own). */
export const DEFAULT_LOCK_TIMEOUT = '30s';

export function createPool(conn: ConnectionConfig, applicationName: string, max: number, log: Logger,
  database: string = conn.database): Pool {
  const pool = new Pool({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    database,
    password: conn.password,
    ssl: sslOf(conn.sslmode),
    application_name: applicationName,
    options: `-c lock_timeout=${DEFAULT_LOCK_TIMEOUT}`,
    max,
    connectionTimeoutMillis: 10000,
    idleTimeoutMillis: 10000,
  });
  // an idle client losing its connection must not crash the process
  pool.on('error', (err) => log.warn({ err }, 'idle database client error'));
  pool.on('connect', markOwnStatements);
  return pool;
}

export async function withClient<T>(pool: Pool, cb: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await cb(client);
  } catch (e) {
    // anything but a server-side SQL error may leave the client unusable: discard it
    if (!(e instanceof DatabaseError)) broken = e instanceof Error ? e : new Error(String(e));
    throw e;
  } finally {
    client.release(broken);
  }
}

/**
 * Run cb while holding a session advisory lock named `name`; fails when
 * another run holds it. Unlock failures only warn.
 */
export async function withAdvisoryLock<T>(pool: Pool, name: string, log: Logger, cb: () => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    const { rows } = await client.query<{ locked: boolean }>(
      'SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [name]);
    if (!rows[0].locked) {
      throw new Error(`another run holds the advisory lock '${name}'`);
    }
    try {
      return await cb();
    } finally {
      try {
        await client.query('SELECT pg_advisory_unlock(hashtext($1))', [name]);
      } catch (err) {
        log.warn({ err, lock: name }, 'could not release advisory lock');
      }
    }
  });
}

/** Environment for pg_dump / pg_restore: the password only through PGPASSWORD. */
export function childEnv(conn: ConnectionConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['PGSERVICE', 'DATABASE_URL']) delete env[k];
  env.PGHOST = conn.host;
  env.PGPORT = String(conn.port);
  env.PGUSER = conn.user;
  env.PGDATABASE = conn.database;
  if (conn.password !== undefined) env.PGPASSWORD = conn.password; else delete env.PGPASSWORD;
  if (conn.sslmode) env.PGSSLMODE = conn.sslmode;
  return env;
}

/** `schema.table` or `table` → quoted identifier. */
export function quoteQualified(client: { escapeIdentifier(s: string): string }, name: string, defaultSchema?: string): string {
  const parts = name.split('.');
  if (parts.length === 1 && defaultSchema) parts.unshift(defaultSchema);
  return parts.map((p) => client.escapeIdentifier(p)).join('.');
}
