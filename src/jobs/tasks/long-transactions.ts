// long-transactions: transactions open longer than a threshold. Reports them,
// or cancels/terminates them when asked. Only client backends are considered:
// never this job's own backend, walsenders, autovacuum or other workers.
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { redact } from '../redact';
import type { Finding, TaskResult } from '../report';

export async function longTransactions(ctx: TaskContext<'long-transactions'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
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
    const transactions = [];
    for (const r of rows) {
      let actionResult: boolean | null = null;
      if (opts.action !== 'report') {
        // the same pid and xact_start: do not hit a new transaction that reuses the pid
        const fn = opts.action === 'cancel' ? 'pg_cancel_backend' : 'pg_terminate_backend';
        const { rows: done } = await client.query(
          `SELECT ${fn}(pid) AS ok FROM pg_stat_activity
            WHERE pid = $1 AND xact_start = $2::timestamptz AND backend_type = 'client backend' AND pid <> pg_backend_pid()`,
          [r.pid, r.xact_start_exact]);
        actionResult = done.length > 0 && done[0].ok === true;
        ctx.log.warn({ pid: r.pid, action: opts.action, ok: actionResult }, 'acted on long transaction');
      }
      transactions.push({
        pid: r.pid,
        user: r.usename,
        database: r.datname,
        applicationName: r.application_name,
        clientAddr: r.client_addr,
        state: r.state,
        backendType: r.backend_type,
        xactStart: r.xact_start,
        ageSeconds: num(r.age_seconds),
        waitEvent: r.wait_event ? `${r.wait_event_type}:${r.wait_event}` : null,
        query: redact(String(r.query ?? '')),
        action: opts.action,
        actionSucceeded: actionResult,
      });
    }
    const maxAge = transactions.reduce((m, t) => Math.max(m, t.ageSeconds ?? 0), 0);
    ctx.metrics.set('aiaas_long_transactions', 'Transactions open longer than the threshold', transactions.length);
    ctx.metrics.set('aiaas_long_transaction_max_age_seconds', 'Age of the oldest of them', maxAge);
    const findings: Finding[] = transactions.map((t) => ({
      code: 'long_transaction',
      message: `pid ${t.pid} (${t.user}@${t.database}, ${t.state}) has had a transaction open for ${Math.round(t.ageSeconds ?? 0)} s`
        + (opts.action === 'report' ? '' : `; ${opts.action}: ${t.actionSucceeded ? 'done' : 'not done'}`),
      pid: t.pid,
    }));
    const { rows: [own] } = await client.query('SELECT pg_backend_pid() AS pid');
    return {
      findings,
      data: { thresholdSeconds: opts.thresholdSeconds, action: opts.action, ownPid: own.pid, transactions },
    };
  });
}
