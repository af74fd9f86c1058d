// long-transactions: transactions open longer than a threshold. Reports them,
// or cancels/terminates them when asked. Only client backends are considered:
// never this job's own backend, walsenders, autovacuum or other workers.
// An action is judged by looking again afterwards, not by the signal's return value:
// pg_cancel_backend() returns true for an idle-in-transaction session and changes nothing.
import { DatabaseError, PoolClient } from 'pg';
import type { LongTxOptions } from '../config';
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { requireRoles } from '../privileges';
import { redact } from '../redact';
import type { Finding, TaskResult } from '../report';

/** How long to wait for signalled sessions to end their transaction before calling them still open. */
export const RECHECK_MS = 3000;

/** What a transaction looked like once the job had acted on it. */
type Outcome = 'transaction_ended' | 'session_ended' | 'still_open' | 'signal_failed' | 'already_gone';

interface Acted {
  signalSent: boolean;
  outcome: Outcome;
  stateAfter: string | null;
  error?: string;
}

export async function longTransactions(ctx: TaskContext<'long-transactions'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
    await requireRoles(client, 'long-transactions', ['pg_read_all_stats']);
    const { rows } = await client.query(
      `SELECT pid, usename, datname, application_name, client_addr::text AS client_addr, state, backend_type,
              xact_start, xact_start::text AS xact_start_exact, extract(epoch FROM now() - xact_start) AS age_seconds,
              wait_event_type, wait_event, left(query, 500) AS query, pg_backend_pid() AS own_pid
         FROM pg_stat_activity
        WHERE xact_start IS NOT NULL
          AND pid <> pg_backend_pid()
          AND backend_type = 'client backend'
          AND now() - xact_start > make_interval(secs => $1)
        ORDER BY xact_start`, [opts.thresholdSeconds]);
    const acted = opts.action === 'report' ? new Map<number, Acted>() : await act(ctx, opts, client, rows);

    const errors: string[] = [];
    const transactions = rows.map((r) => {
      const a = acted.get(r.pid);
      if (a?.error) errors.push(`pid ${r.pid}: ${opts.action} failed: ${a.error}`);
      return {
        pid: r.pid as number,
        user: r.usename,
        database: r.datname,
        applicationName: r.application_name,
        clientAddr: r.client_addr,
        state: r.state as string,
        backendType: r.backend_type,
        xactStart: r.xact_start,
        ageSeconds: num(r.age_seconds),
        waitEvent: r.wait_event ? `${r.wait_event_type}:${r.wait_event}` : null,
        query: redact(String(r.query ?? '')),
        action: opts.action,
        signalSent: a ? a.signalSent : null,
        outcome: a ? a.outcome : null,
        stateAfter: a ? a.stateAfter : null,
        // true only when a second look found the transaction gone
        actionSucceeded: a ? ['transaction_ended', 'session_ended', 'already_gone'].includes(a.outcome) : null,
      };
    });
    const maxAge = transactions.reduce((m, t) => Math.max(m, t.ageSeconds ?? 0), 0);
    ctx.metrics.set('aiaas_long_transactions', 'Transactions open longer than the threshold', transactions.length);
    ctx.metrics.set('aiaas_long_transaction_max_age_seconds', 'Age of the oldest of them', maxAge);
    const findings: Finding[] = transactions.map((t) => ({
      code: 'long_transaction',
      message: `pid ${t.pid} (${t.user}@${t.database}, ${t.state}) has had a transaction open for ${Math.round(t.ageSeconds ?? 0)} s`
        + (t.outcome ? `; ${outcomeText(opts.action, t.state, acted.get(t.pid)!)}` : ''),
      pid: t.pid,
      ...(t.outcome ? { action: opts.action, outcome: t.outcome } : {}),
    }));
    return {
      findings,
      errors,
      data: {
        thresholdSeconds: opts.thresholdSeconds,
        action: opts.action,
        ownPid: rows[0]?.own_pid ?? (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid,
        transactions,
      },
    };
  });
}

/** Signal each transaction (still the same one: pid and xact_start), then look again. */
async function act(ctx: TaskContext<'long-transactions'>, opts: LongTxOptions, client: PoolClient, rows: any[]): Promise<Map<number, Acted>> {
  const fn = opts.action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
  const acted = new Map<number, Acted>();
  for (const r of rows) {
    try {
      const { rows: done } = await client.query(
        `SELECT ${fn}(pid) AS ok FROM pg_stat_activity
          WHERE pid = $1 AND xact_start = $2::timestamptz AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
        [r.pid, r.xact_start_exact]);
      acted.set(r.pid, done.length === 0
        ? { signalSent: false, outcome: 'already_gone', stateAfter: null }
        : { signalSent: done[0].ok === true, outcome: done[0].ok === true ? 'still_open' : 'signal_failed', stateAfter: null });
    } catch (e) {
      // 42501: not allowed to signal this backend (pg_signal_backend missing, or a superuser's session)
      if (!(e instanceof DatabaseError)) throw e;
      acted.set(r.pid, { signalSent: false, outcome: 'signal_failed', stateAfter: null, error: `${e.code}: ${e.message}` });
    }
  }
  const signalled = rows.filter((r) => acted.get(r.pid)!.signalSent);
  const until = Date.now() + RECHECK_MS;
  for (;;) {
    const { rows: now } = await client.query<{ pid: number; state: string | null; xact_start: string | null }>(
      'SELECT pid, state, xact_start::text AS xact_start FROM pg_stat_activity WHERE pid = ANY($1::int[])',
      [signalled.map((r) => r.pid)]);
    for (const r of signalled) {
      const seen = now.find((n) => n.pid === r.pid);
      const a = acted.get(r.pid)!;
      a.stateAfter = seen?.state ?? null;
      a.outcome = !seen ? 'session_ended' : seen.xact_start === r.xact_start_exact ? 'still_open' : 'transaction_ended';
    }
    if (signalled.every((r) => acted.get(r.pid)!.outcome !== 'still_open') || Date.now() >= until || ctx.signal.aborted) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  for (const [pid, a] of acted) ctx.log.warn({ pid, action: opts.action, ...a }, 'acted on long transaction');
  return acted;
}

function outcomeText(action: string, stateBefore: string, a: Acted): string {
  switch (a.outcome) {
    case 'session_ended': return `${action}: the session ended`;
    case 'transaction_ended': return `${action}: the transaction ended (session now ${a.stateAfter ?? 'gone'})`;
    case 'already_gone': return `${action}: not needed, the transaction had ended before the job acted`;
    case 'signal_failed': return `${action} failed: ${a.error ?? 'the signal was not delivered'}`;
    case 'still_open':
      return `${action} signal sent but the transaction was still open ${RECHECK_MS / 1000} s later (${a.stateAfter})`
        + (action === 'cancel' && stateBefore.startsWith('idle')
          ? ': a cancel only stops a running statement and does nothing to an idle-in-transaction session; use --action terminate'
          : '');
  }
}
