// slow-queries: top statements by mean execution time from pg_stat_statements.
// PostgreSQL 13 renamed mean_time/total_time to mean_exec_time/total_exec_time:
// the column is detected, not assumed. The job's own statements (marked with
// OWN_STATEMENT_MARK) are left out: its VACUUMs and counts are not the application's.
import { DatabaseError } from 'pg';
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { OWN_STATEMENT_MARK } from '../own-statements';
import { requireRoles } from '../privileges';
import { redact } from '../redact';
import type { Finding, TaskResult } from '../report';

export async function slowQueries(ctx: TaskContext<'slow-queries'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
    // other roles' statements show as <insufficient privilege>; shared_preload_libraries is hidden
    await requireRoles(client, 'slow-queries', ['pg_read_all_stats', 'pg_read_all_settings']);
    const { rows: [settings] } = await client.query(
      `SELECT current_setting('shared_preload_libraries') AS preload, current_database() AS db`);
    const preloaded = String(settings.preload).split(',').map((s) => s.trim().replace(/^"|"$/g, ''))
      .includes('pg_stat_statements');
    const { rows: ext } = await client.query<{ schema: string; version: string }>(
      `SELECT n.nspname AS schema, e.extversion AS version
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_stat_statements'`);
    if (ext.length === 0) {
      return {
        findings: [{
          code: 'pg_stat_statements_missing',
          message: `extension pg_stat_statements is not installed in database "${settings.db}": `
            + 'run CREATE EXTENSION pg_stat_statements (and preload it via shared_preload_libraries)',
          preloaded,
        }],
        data: { installed: false, preloaded, statements: [] },
      };
    }
    const notLoaded = {
      code: 'pg_stat_statements_not_loaded',
      message: 'pg_stat_statements is installed but not loaded: add it to shared_preload_libraries and restart the server',
    };
    if (!preloaded) {
      return { findings: [notLoaded], data: { installed: true, preloaded: false, statements: [] } };
    }

    const schema = ext[0].schema;
    const view = `${client.escapeIdentifier(schema)}.pg_stat_statements`;
    const { rows: cols } = await client.query<{ attname: string }>(
      `SELECT attname FROM pg_attribute
        WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`, [view]);
    const names = new Set(cols.map((c) => c.attname));
    // identifiers come from this fixed list only
    const mean = names.has('mean_exec_time') ? 'mean_exec_time' : names.has('mean_time') ? 'mean_time' : undefined;
    const total = names.has('total_exec_time') ? 'total_exec_time' : 'total_time';
    if (!mean) throw new Error('pg_stat_statements has neither mean_exec_time nor mean_time');

    let rows;
    try {
      ({ rows } = await client.query(
        `SELECT s.queryid::text AS queryid, s.calls, s.${mean} AS mean_ms, s.${total} AS total_ms, s.rows,
                left(s.query, 2000) AS query
           FROM ${view} s
          WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
            AND left(s.query, $2) <> $3
          ORDER BY s.${mean} DESC NULLS LAST
          LIMIT $1`, [opts.limit, OWN_STATEMENT_MARK.length, OWN_STATEMENT_MARK]));
    } catch (e) {
      // 55000: "pg_stat_statements must be loaded via shared_preload_libraries"
      if (e instanceof DatabaseError && e.code === '55000') {
        return { findings: [notLoaded], data: { installed: true, preloaded: false, statements: [] } };
      }
      throw e;
    }
    const statements = rows.map((r) => ({
      queryid: r.queryid,
      calls: num(r.calls),
      meanMs: num(r.mean_ms),
      totalMs: num(r.total_ms),
      rows: num(r.rows),
      query: redact(String(r.query)),
    }));
    const maxMean = statements.length > 0 ? (statements[0].meanMs ?? 0) / 1000 : 0;
    ctx.metrics.set('aiaas_slow_query_max_mean_seconds', 'Highest mean execution time among statements of the database', maxMean);
    const findings: Finding[] = statements.filter((st) => (st.meanMs ?? 0) > opts.minMeanMs).map((st) => ({
      code: 'slow_query',
      message: `statement ${st.queryid} takes ${((st.meanMs ?? 0) / 1000).toFixed(2)} s on average over ${st.calls} calls `
        + `(> ${opts.minMeanMs} ms): ${st.query.slice(0, 200)}`,
      queryid: st.queryid,
      meanMs: st.meanMs,
      calls: st.calls,
    }));
    return {
      findings,
      data: { installed: true, preloaded: true, extensionVersion: ext[0].version, meanColumn: mean, minMeanMs: opts.minMeanMs, statements },
    };
  });
}
