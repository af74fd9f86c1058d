// vacuum-analyze: VACUUM (ANALYZE) table by table, N at a time, each under
// lock_timeout and statement_timeout, so one locked table is skipped and
// reported instead of failing (or blocking) the rest.
import { DatabaseError, PoolClient } from 'pg';
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

export async function vacuumAnalyze(ctx: TaskContext<'vacuum-analyze'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  // The listing and the workers connect at once (the pool holds `parallel` sessions:
  // a worker finding it full takes over the listing's session when it is released).
  const listing = withClient(ctx.pool, async (client) => {
    // relpages, not pg_total_relation_size(): sizing a table would wait for its lock
    const { rows } = await client.query<{ relname: string; pages: string }>(
      `SELECT c.relname, c.relpages AS pages
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm') AND c.relpersistence <> 't'
        ORDER BY c.relpages DESC, c.relname`, [opts.schema]);
    ctx.log.info({ tables: rows.length, parallel: opts.parallel }, 'vacuum analyze starting');
    return rows.map((r) => ({ name: r.relname, pages: num(r.pages) ?? 0 }));
  });

  // largest first, pulled from one queue by `parallel` workers with one session each
  const results: TableResult[] = [];
  let stopped = false;
  const worker = async (): Promise<void> => withClient(ctx.pool, async (client) => {
    // An empty search_path, as vacuumdb sets: names are qualified, so no function of a
    // user-writable schema can run inside the vacuum (CVE-2018-1058); it also spares
    // the server a search-path lookup per table.
    await client.query(
      `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false), set_config('search_path', '', false)`,
      [`${opts.lockTimeoutMs}ms`, `${opts.statementTimeoutMs}ms`]);
    const queue = await listing;
    const schema = client.escapeIdentifier(opts.schema);
    for (;;) {
      if (ctx.signal.aborted || stopped) return;
      const t = queue.shift();
      if (!t) return;
      results.push(await vacuumTable(client, schema, opts, t.name, ctx));
    }
  }).catch((e) => {
    // a lost session, not a table's SQL error: let the other workers stop too
    stopped = true;
    throw e;
  });
  const outcomes = await Promise.allSettled([listing, ...Array.from({ length: Math.max(opts.parallel, 1) }, worker)]);
  const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (lost) throw lost.reason;
  const queue = await listing;

  const skipped = results.filter((r) => r.result === 'skipped');
  const failedTables = results.filter((r) => r.result === 'failed');
  const vacuumed = results.filter((r) => r.result === 'vacuumed');
  const notStarted = queue.map((t) => `${opts.schema}.${t.name}`);
  for (const [result, list] of [['vacuumed', vacuumed], ['skipped', skipped], ['failed', failedTables]] as const) {
    ctx.metrics.set('aiaas_vacuum_tables', 'Tables per result of the last vacuum-analyze run', list.length, { result });
  }
  const findings: Finding[] = skipped.map((s) => ({ code: 'table_skipped', message: `${s.table} skipped: ${s.reason}`, table: s.table }));
  const errors = failedTables.map((f) => `${f.table}: ${f.reason}`);
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
      failed: failedTables.map((f) => f.table),
      notStarted,
    },
  };
}

/** One table's VACUUM (ANALYZE): a lock or statement timeout is a result, not an error. */
async function vacuumTable(client: PoolClient, schema: string, opts: VacuumOptions, name: string, ctx: TaskContext<'vacuum-analyze'>): Promise<TableResult> {
  const label = `${opts.schema}.${name}`;
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    await client.query(`VACUUM (ANALYZE) ${schema}.${client.escapeIdentifier(name)}`);
    ctx.log.debug({ table: label }, 'vacuumed');
    return { table: label, result: 'vacuumed', seconds: seconds() };
  } catch (e) {
    if (!(e instanceof DatabaseError)) throw e;
    ctx.log.warn({ table: label, code: e.code, err: e }, 'vacuum of table did not complete');
    switch (e.code) {
      case '55P03': // lock_not_available: lock_timeout
        return { table: label, result: 'skipped', seconds: seconds(), reason: 'lock_timeout: table locked by another session' };
      case '42P01': // dropped since listed
        return { table: label, result: 'skipped', seconds: seconds(), reason: 'table no longer exists' };
      case '57014': // query_canceled: statement_timeout
        return { table: label, result: 'failed', seconds: seconds(), reason: `statement_timeout (${opts.statementTimeoutMs} ms)` };
      default:
        return { table: label, result: 'failed', seconds: seconds(), reason: `${e.code}: ${e.message}` };
    }
  }
}
