// The run's own database sessions, so that on SIGTERM their running statements
// are cancelled (pg_cancel_backend) within the grace period. Without it a VACUUM
// waiting for a lock keeps waiting in the server's lock queue after the process is
// gone: a backend notices its client left only when it next talks to it.
import type { Pool } from 'pg';
import type { Logger } from './logger';

const backends = new Set<number>();

/** Remember the backend pid of every session the pool opens, until the pool drops it. */
export function trackSessions(pool: Pool): void {
  const pidOf = (client: unknown): number | undefined => (client as { processID?: number | null }).processID ?? undefined;
  pool.on('connect', (client) => {
    const pid = pidOf(client);
    if (pid) backends.add(pid);
  });
  pool.on('remove', (client) => {
    const pid = pidOf(client);
    if (pid) backends.delete(pid);
  });
}

/** Backend pids of the run's open sessions. */
export function ownBackends(): number[] {
  return [...backends];
}

/**
 * Cancel the statements running in the run's own sessions, through `pool` (a session
 * of its own: the task's pool may be busy or full). Returns the pids cancelled.
 */
export async function cancelOwnStatements(pool: Pool): Promise<number[]> {
  const pids = ownBackends();
  if (pids.length === 0) return [];
  const { rows } = await pool.query<{ pid: number }>(
    `SELECT pid FROM pg_stat_activity
      WHERE pid = ANY($1::int[]) AND pid <> pg_backend_pid() AND state = 'active' AND pg_cancel_backend(pid)`, [pids]);
  return rows.map((r) => r.pid);
}

/**
 * Until `done` settles, cancel what the run's sessions are running every `everyMs`
 * (a statement may start between two rounds), logging what was cancelled.
 */
export async function cancelUntil(done: Promise<unknown>, pool: Pool, log: Logger, everyMs = 500): Promise<void> {
  let finished = false;
  void done.finally(() => { finished = true; });
  while (!finished) {
    try {
      const pids = await cancelOwnStatements(pool);
      if (pids.length > 0) log.warn({ pids }, 'cancelled the statements the run was still running');
    } catch (err) {
      log.warn({ err }, 'could not cancel the run\'s running statements');
    }
    // unref: a pending round never keeps the process alive
    await Promise.race([done, new Promise((resolve) => setTimeout(resolve, everyMs).unref())]);
  }
}
