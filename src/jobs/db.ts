// Connections: one pg Pool per run, connected from the libpq variables.
import { readFileSync } from 'node:fs';
import { Client, DatabaseError, Pool, PoolClient, PoolConfig } from 'pg';
import type { ConnectionConfig } from './config';
import type { Logger } from './logger';
import { trackSessions } from './sessions';
import { markOwnStatements } from './own-statements';

/**
 * node-postgres TLS options with libpq's sslmode meanings. `prefer` and `allow` arrive
 * here resolved by `resolvePrefer` (node-postgres cannot fall back by itself).
 */
export function sslOf(mode: string | undefined, rootcert: string | undefined): PoolConfig['ssl'] {
  const ca = rootcert ? readFileSync(rootcert, 'utf8') : undefined;
  switch (mode) {
    case undefined:
    case 'disable':
    case 'allow':
      return false;
    case 'prefer':
    case 'require':
      // libpq: with a root certificate, require verifies the chain like verify-ca
      return rootcert ? { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined } : { rejectUnauthorized: false };
    case 'verify-ca': // the chain, not the host name
      return { rejectUnauthorized: true, ca, checkServerIdentity: () => undefined };
    default: // verify-full: the chain and the host name (Node's checkServerIdentity)
      return { rejectUnauthorized: true, ca };
  }
}

/**
 * libpq's `prefer`: TLS when the server offers it, else plaintext. Tries a TLS session;
 * a server without TLS makes it `disable`, logged as a warning (never silent).
 */
export async function resolvePrefer(conn: ConnectionConfig, log: Logger): Promise<ConnectionConfig> {
  if (conn.sslmode !== 'prefer') return conn;
  const probe = new Client({
    host: conn.host, port: conn.port, user: conn.user, database: conn.database, password: conn.password,
    ssl: sslOf('prefer', conn.sslrootcert), connectionTimeoutMillis: 10000, application_name: 'aiaas-job/tls-probe',
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return { ...conn, sslmode: 'require' };
  } catch (e) {
    if (e instanceof Error && /does not support SSL/i.test(e.message)) {
      log.warn({ sslmode: 'prefer' }, 'the server offers no TLS: connecting in plaintext (set --sslmode require or verify-full to refuse)');
      return { ...conn, sslmode: 'disable' };
    }
    return { ...conn, sslmode: 'require' }; // any other failure shows again, and clearer, in the task
  } finally {
    await probe.end().catch(() => undefined);
  }
}

/** Sessions wait at most this long for a lock (vacuum-analyze sets its own). */
export const DEFAULT_LOCK_TIMEOUT = '30s';

/** The server went away under a session in use: failover, shutdown, pg_terminate_backend. */
export class ConnectionLostError extends Error {
  constructor(cause: Error) {
    super(`lost the connection to the database server: ${cause.message}`);
    this.name = 'ConnectionLostError';
  }
}

/** Called when a session in use loses its connection (set per pool by createPool). */
const lossHandlers = new WeakMap<Pool, (err: ConnectionLostError) => void>();

/**
 * A pool whose sessions cannot crash the process: an idle session's error only
 * warns, and a session in use (withClient) that loses its connection calls
 * `onLost`, so the task can stop its children and clean up.
 */
export function createPool(conn: ConnectionConfig, applicationName: string, max: number, log: Logger,
  database: string = conn.database, onLost?: (err: ConnectionLostError) => void): Pool {
  const pool = new Pool({
    host: conn.host,
    port: conn.port,
    user: conn.user,
    database,
    password: conn.password,
    ssl: sslOf(conn.sslmode, conn.sslrootcert),
    application_name: applicationName,
    options: `-c lock_timeout=${DEFAULT_LOCK_TIMEOUT}`,
    max,
    connectionTimeoutMillis: 10000,
    idleTimeoutMillis: 10000,
  });
  // an idle client losing its connection must not crash the process
  pool.on('error', (err) => log.warn({ err }, 'idle database client error'));
  trackSessions(pool); // cancelled on SIGTERM
  if (onLost) lossHandlers.set(pool, onLost);
  pool.on('connect', markOwnStatements);
  return pool;
}

export async function withClient<T>(pool: Pool, cb: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  let lost: ConnectionLostError | undefined;
  // pg-pool listens for errors of idle clients only: without this, a session lost
  // while in use (even idle in a transaction, like the backup's snapshot) emits an
  // unhandled 'error' that ends the process without a report.
  const onError = (err: Error): void => {
    if (lost) return;
    lost = new ConnectionLostError(err);
    lossHandlers.get(pool)?.(lost);
  };
  client.on('error', onError);
  try {
    return await cb(client);
  } catch (e) {
    // anything but a server-side SQL error may leave the client unusable: discard it
    if (!(e instanceof DatabaseError)) broken = e instanceof Error ? e : new Error(String(e));
    // the query that saw the session end reports it plainly, whatever it was doing
    throw lost && isLostSession(e) ? lost : e;
  } finally {
    client.removeListener('error', onError);
    client.release(lost ?? broken);
  }
}

/** A query failed because its session ended (57P01 admin_shutdown and friends, or a closed socket). */
function isLostSession(e: unknown): boolean {
  if (e instanceof DatabaseError) return ['57P01', '57P02', '57P03'].includes(e.code ?? '');
  return e instanceof Error && !(e instanceof ConnectionLostError);
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
  if (conn.sslrootcert) env.PGSSLROOTCERT = conn.sslrootcert;
  return env;
}

/** `schema.table` or `table` → quoted identifier. */
export function quoteQualified(client: { escapeIdentifier(s: string): string }, name: string, defaultSchema?: string): string {
  const parts = name.split('.');
  if (parts.length === 1 && defaultSchema) parts.unshift(defaultSchema);
  return parts.map((p) => client.escapeIdentifier(p)).join('.');
}
