// vacuum-analyze: VACUUM (ANALYZE) table by table, N at a time, each under
// lock_timeout and statement_timeout, so one locked table is skipped and
// reported instead of failing (or blocking) the rest. Partitioned tables, which
// autovacuum never analyzes, get an ANALYZE once their partitions are vacuumed.
import { DatabaseError, PoolClient } from 'pg';
import type { VacuumOptions } from '../config';
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { MissingGrantError, NoSuchSchemaError } from '../privileges';
import type { Finding, TaskResult } from '../report';

type Operation = 'VACUUM (ANALYZE)' | 'VACUUM' | 'ANALYZE';

interface Item {
  readonly name: string;
  readonly operation: Operation;
}

interface TableResult {
  readonly table: string;
  readonly operation: Operation;
  readonly result: 'vacuumed' | 'analyzed' | 'skipped' | 'failed';
  readonly seconds: number;
  readonly reason?: string;
}

interface Plan {
  readonly database: string;
  readonly user: string;
  /** Leaves (vacuumed first), then partitioned tables (analyzed once their partitions are done). */
  readonly leaves: Item[];
  readonly parents: Item[];
  /** Tables the role may not vacuum: PostgreSQL 15 would only warn and skip them. */
  readonly notPermitted: { name: string; owner: string }[];
  readonly freeConnections: number;
  readonly connectionSummary: string;
}

export async function vacuumAnalyze(ctx: TaskContext<'vacuum-analyze'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  const plan = await withClient(ctx.pool, (client) => planRun(client, opts));

  // Never more sessions than tables, nor more than half the connections still free to
  // non-superusers: the applications keep the rest (one session, the listing's, is reused).
  const tables = Math.max(plan.leaves.length, plan.parents.length);
  const workers = Math.max(1, Math.min(opts.parallel, tables, 1 + Math.floor(plan.freeConnections / 2)));
  const warnings: string[] = [];
  if (workers < opts.parallel) {
    const why = workers >= tables && tables < opts.parallel
      ? `only ${tables} tables to process in schema "${opts.schema}"`
      : `only ${plan.freeConnections} connections free (${plan.connectionSummary}) and the job takes at most half of them`;
    warnings.push(`--parallel ${opts.parallel} lowered to ${workers}: ${why}`);
  }
  ctx.log.info({ tables: plan.leaves.length, partitioned: plan.parents.length, parallel: workers }, 'vacuum analyze starting');

  const results: TableResult[] = [];
  const leafQueue = [...plan.leaves];
  const parentQueue = [...plan.parents];
  // ANALYZE of a partitioned table locks its partitions: only after all of them are vacuumed
  await runQueue(ctx, opts, leafQueue, workers, results);
  if (!ctx.signal.aborted) await runQueue(ctx, opts, parentQueue, workers, results);

  const skipped = results.filter((r) => r.result === 'skipped');
  const failedTables = results.filter((r) => r.result === 'failed');
  const done = results.filter((r) => r.result === 'vacuumed' || r.result === 'analyzed');
  const notStarted = [...leafQueue, ...parentQueue].map((t) => `${opts.schema}.${t.name}`);
  for (const [result, n] of [['vacuumed', done.length], ['skipped', skipped.length], ['failed', failedTables.length],
    ['not_permitted', plan.notPermitted.length]] as const) {
    ctx.metrics.set('aiaas_vacuum_tables', 'Tables per result of the last vacuum-analyze run', n, { result });
  }
  const findings: Finding[] = skipped.map((s) => ({ code: 'table_skipped', message: `${s.table} skipped: ${s.reason}`, table: s.table }));
  const errors = failedTables.map((f) => `${f.table}: ${f.reason}`);
  for (const t of plan.notPermitted) {
    errors.push(`${opts.schema}.${t.name} not vacuumed: role "${plan.user}" is neither its owner ("${t.owner}"), the owner of `
      + `database "${plan.database}" nor a superuser (on PostgreSQL 15 and older VACUUM needs one of them and otherwise only warns and skips the table)`);
  }
  if (notStarted.length > 0) errors.push(`stopped by signal: ${notStarted.length} tables not vacuumed`);
  return {
    findings,
    errors,
    warnings,
    data: {
      schema: opts.schema,
      parallel: workers,
      parallelRequested: opts.parallel,
      freeConnections: plan.freeConnections,
      tables: results,
      vacuumed: results.filter((r) => r.result === 'vacuumed').length,
      analyzedPartitioned: results.filter((r) => r.result === 'analyzed').map((r) => r.table),
      skipped: skipped.map((s) => s.table),
      failed: failedTables.map((f) => f.table),
      notPermitted: plan.notPermitted.map((t) => `${opts.schema}.${t.name}`),
      notStarted,
    },
  };
}

/** The schema must exist and be usable; which tables, what to run on each, how many connections are free. */
async function planRun(client: PoolClient, opts: VacuumOptions): Promise<Plan> {
  const { rows: [s] } = await client.query(
    `SELECT current_database() AS db, current_user AS user, n.oid IS NOT NULL AS exists,
            n.oid IS NOT NULL AND has_schema_privilege(n.oid, 'USAGE') AS usable,
            current_setting('server_version_num')::int AS version
       FROM (SELECT 1) one LEFT JOIN pg_namespace n ON n.nspname = $1`, [opts.schema]);
  if (!s.exists) {
    throw new NoSuchSchemaError(`--schema ${opts.schema}: no schema of that name in database "${s.db}" (nothing was vacuumed)`);
  }
  if (!s.usable) {
    throw new MissingGrantError(`--schema ${opts.schema}: role "${s.user}" lacks USAGE on it: GRANT USAGE ON SCHEMA ${client.escapeIdentifier(opts.schema)} `
      + `TO ${client.escapeIdentifier(s.user)}; (nothing was vacuumed)`);
  }
  // PostgreSQL 17 has the MAINTAIN privilege; before, the table owner, the database owner or a superuser
  const permitted = (rel: string): string => (s.version >= 170000
    ? `has_table_privilege(${rel}.oid, 'MAINTAIN')`
    : `(pg_has_role(current_user, ${rel}.relowner, 'USAGE') OR (NOT ${rel}.relisshared
       AND pg_has_role(current_user, (SELECT datdba FROM pg_database WHERE datname = current_database()), 'USAGE')))`);
  // relpages, not pg_total_relation_size(): sizing a table would wait for its lock.
  // covered: an ancestor in the schema that the role may analyze is analyzed, which analyzes this partition too.
  const { rows } = await client.query<{ relname: string; relkind: string; pages: string; covered: boolean; permitted: boolean; owner: string }>(
    `SELECT c.relname, c.relkind::text AS relkind, c.relpages AS pages, pg_get_userbyid(c.relowner) AS owner,
            c.relispartition AND EXISTS (
              SELECT 1 FROM pg_partition_ancestors(c.oid) a JOIN pg_class p ON p.oid = a.relid
               WHERE a.relid <> c.oid AND p.relnamespace = c.relnamespace AND ${permitted('p')}) AS covered,
            ${permitted('c')} AS permitted
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'm', 'p') AND c.relpersistence <> 't'
      ORDER BY c.relpages DESC, c.relname`, [opts.schema]);
  const allowed = rows.filter((r) => r.permitted);
  const leaves = allowed.filter((r) => r.relkind !== 'p')
    .map((r): Item => ({ name: r.relname, operation: r.covered ? 'VACUUM' : 'VACUUM (ANALYZE)' }));
  const parents = allowed.filter((r) => r.relkind === 'p' && !r.covered).map((r): Item => ({ name: r.relname, operation: 'ANALYZE' }));

  // Free for non-superusers: max_connections − reserved slots − client sessions now (ours included).
  // Sessions hidden from a role without pg_read_all_stats have no backend_type: counted, to be safe.
  const { rows: [c] } = await client.query(
    `SELECT current_setting('max_connections')::int AS max,
            current_setting('superuser_reserved_connections')::int
              + coalesce(nullif(current_setting('reserved_connections', true), '')::int, 0) AS reserved,
            (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' OR backend_type IS NULL)::int AS used`);
  const free = Math.max(0, num(c.max)! - num(c.reserved)! - num(c.used)!);
  return {
    database: s.db,
    user: s.user,
    leaves,
    parents,
    notPermitted: rows.filter((r) => !r.permitted).map((r) => ({ name: r.relname, owner: r.owner })),
    freeConnections: free,
    connectionSummary: `max_connections ${c.max} − ${c.reserved} reserved − ${c.used} in use`,
  };
}

/** `workers` sessions pull from one queue; a lost session stops the others. */
async function runQueue(ctx: TaskContext<'vacuum-analyze'>, opts: VacuumOptions, queue: Item[], workers: number, results: TableResult[]): Promise<void> {
  if (queue.length === 0) return;
  let stopped = false;
  let connected = 0;
  const worker = async (): Promise<void> => {
    let inside = false;
    try {
      await withClient(ctx.pool, async (client) => {
        inside = true;
        connected++;
        // An empty search_path, as vacuumdb sets: names are qualified, so no function of a
        // user-writable schema can run inside the vacuum (CVE-2018-1058); it also spares
        // the server a search-path lookup per table.
        await client.query(
          `SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false), set_config('search_path', '', false)`,
          [`${opts.lockTimeoutMs}ms`, `${opts.statementTimeoutMs}ms`]);
        const schema = client.escapeIdentifier(opts.schema);
        for (;;) {
          if (ctx.signal.aborted || stopped) return;
          const t = queue.shift();
          if (!t) return;
          results.push(await processTable(client, schema, opts, t, ctx));
        }
      });
    } catch (e) {
      // the server refusing one more session ("too many clients") while another worker runs: go on with fewer
      if (!inside && e instanceof DatabaseError && e.code === '53300' && connected > 0) {
        ctx.log.warn({ err: e }, 'a vacuum worker could not connect: the others go on');
        return;
      }
      // a lost session, not a table's SQL error: let the other workers stop too
      stopped = true;
      throw e;
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: workers }, worker));
  const lost = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (lost) throw lost.reason;
}

/** One table's VACUUM and/or ANALYZE: a lock or statement timeout is a result, not an error. */
async function processTable(client: PoolClient, schema: string, opts: VacuumOptions, item: Item, ctx: TaskContext<'vacuum-analyze'>): Promise<TableResult> {
  const label = `${opts.schema}.${item.name}`;
  const { operation } = item;
  const started = process.hrtime.bigint();
  const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    await client.query(`${operation} ${schema}.${client.escapeIdentifier(item.name)}`);
    ctx.log.debug({ table: label, operation }, 'done');
    return { table: label, operation, result: operation === 'ANALYZE' ? 'analyzed' : 'vacuumed', seconds: seconds() };
  } catch (e) {
    if (!(e instanceof DatabaseError)) throw e;
    ctx.log.warn({ table: label, operation, code: e.code, err: e }, 'vacuum of table did not complete');
    switch (e.code) {
      case '55P03': // lock_not_available: lock_timeout
        return { table: label, operation, result: 'skipped', seconds: seconds(), reason: 'lock_timeout: table locked by another session' };
      case '42P01': // dropped since listed
        return { table: label, operation, result: 'skipped', seconds: seconds(), reason: 'table no longer exists' };
      case '57014': // query_canceled: statement_timeout
        return { table: label, operation, result: 'failed', seconds: seconds(), reason: `statement_timeout (${opts.statementTimeoutMs} ms)` };
      default:
        return { table: label, operation, result: 'failed', seconds: seconds(), reason: `${e.code}: ${e.message}` };
    }
  }
}
