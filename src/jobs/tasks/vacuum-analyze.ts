// vacuum-analyze: VACUUM (ANALYZE) table by table, N at a time, each under
// lock_timeout and statement_timeout, so one locked table is skipped and
// reported instead of failing (or blocking) the rest.
import { DatabaseError } from 'pg';
import type { VacuumOptions } from '../config';
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import type { Finding, TaskResult } from '../report';

interface TableResult {
  readonly table: string;
  readonly result: 'vacuumed' | 'skipped' | 'failed';
  readonly seconds: number;
  readonly reason?: string;
}

export async function vacuumAnalyze(ctx: TaskContext): Promise<TaskResult> {
  const opts = ctx.config.options as unknown as VacuumOptions;
  const tables = await withClient(ctx.pool, async (client) => {
    // relpages, not pg_total_relation_size(): sizing a table would wait for its lock
    const { rows } = await client.query<{ relname: string; pages: string }>(
      `SELECT c.relname, c.relpages AS pages
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
        ORDER BY c.relpages DESC, c.relname`, [opts.schema]);
    return rows.map((r) => ({ name: r.relname, pages: num(r.pages) ?? 0 }));
  });
  ctx.log.info({ tables: tables.length, parallel: opts.parallel }, 'vacuum analyze starting');

  // largest first, pulled from one queue by `parallel` workers with one connection each
  const queue = [...tables];
  const results: TableResult[] = [];
  const worker = async (): Promise<void> => withClient(ctx.pool, async (client) => {
    await client.query(
      `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)`,
      [`${opts.lockTimeoutMs}ms`, `${opts.statementTimeoutMs}ms`]);
    for (;;) {
      if (ctx.signal.aborted) return;
      const t = queue.shift();
      if (!t) return;
      const qualified = `${client.escapeIdentifier(opts.schema)}.${client.escapeIdentifier(t.name)}`;
      const label = `${opts.schema}.${t.name}`;
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        await client.query(`VACUUM (ANALYZE) ${qualified}`);
        results.push({ table: label, result: 'vacuumed', seconds: seconds() });
        ctx.log.debug({ table: label }, 'vacuumed');
      } catch (e) {
        if (!(e instanceof DatabaseError)) throw e;
        if (e.code === '55P03') { // lock_not_available: lock_timeout
          results.push({ table: label, result: 'skipped', seconds: seconds(), reason: 'lock_timeout: table locked by another session' });
        } else if (e.code === '42P01') { // dropped since listed
          results.push({ table: label, result: 'skipped', seconds: seconds(), reason: 'table no longer exists' });
        } else if (e.code === '57014') { // query_canceled: statement_timeout
          results.push({ table: label, result: 'failed', seconds: seconds(), reason: `statement_timeout (${opts.statementTimeoutMs} ms)` });
        } else {
          results.push({ table: label, result: 'failed', seconds: seconds(), reason: `${e.code}: ${e.message}` });
        }
        ctx.log.warn({ table: label, code: e.code, err: e }, 'vacuum of table did not complete');
      }
    }
  });
  await Promise.all(Array.from({ length: Math.min(opts.parallel, Math.max(tables.length, 1)) }, worker));

  const skipped = results.filter((r) => r.result === 'skipped');
  const failed = results.filter((r) => r.result === 'failed');
  const vacuumed = results.filter((r) => r.result === 'vacuumed');
  const notStarted = queue.map((t) => `${opts.schema}.${t.name}`);
  for (const [result, list] of [['vacuumed', vacuumed], ['skipped', skipped], ['failed', failed]] as const) {
    ctx.metrics.set('aiaas_vacuum_tables', 'Tables per result of the last vacuum-analyze run', list.length, { result });
  }
  const findings: Finding[] = skipped.map((s) => ({ code: 'table_skipped', message: `${s.table} skipped: ${s.reason}`, table: s.table }));
  const errors = failed.map((f) => `${f.table}: ${f.reason}`);
  if (notStarted.length > 0) errors.push(`stopped by signal: ${notStarted.length} tables not vacuumed`);
  return {
    findings,
    errors,
    data: {
      schema: opts.schema,
      parallel: opts.parallel,
      tables: results,
      vacuumed: vacuumed.length,
      skipped: skipped.map((s) => s.table),
      failed: failed.map((f) => f.table),
      notStarted,
    },
  };
}
