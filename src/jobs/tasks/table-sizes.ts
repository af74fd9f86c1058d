// table-sizes: largest relations by total size with dead-tuple ratios.
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import type { Finding, TaskResult } from '../report';

export async function tableSizes(ctx: TaskContext<'table-sizes'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
    const { rows } = await client.query(
      `SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS kind,
              pg_total_relation_size(c.oid) AS total_bytes,
              pg_relation_size(c.oid) AS table_bytes,
              pg_indexes_size(c.oid) AS index_bytes,
              s.n_live_tup, s.n_dead_tup, s.last_vacuum, s.last_autovacuum, s.last_analyze, s.last_autoanalyze
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm', 'p')
        ORDER BY pg_total_relation_size(c.oid) DESC, c.relname
        LIMIT $2`, [opts.schema, opts.limit]);
    const findings: Finding[] = [];
    const tables = rows.map((r) => {
      const live = num(r.n_live_tup) ?? 0;
      const dead = num(r.n_dead_tup) ?? 0;
      const deadRatio = live + dead > 0 ? dead / (live + dead) : 0;
      const t = {
        schema: r.schema as string,
        name: r.name as string,
        kind: r.kind as string,
        totalBytes: num(r.total_bytes),
        tableBytes: num(r.table_bytes),
        indexBytes: num(r.index_bytes),
        liveTuples: live,
        deadTuples: dead,
        deadRatio,
        lastVacuum: r.last_vacuum ?? r.last_autovacuum ?? null,
        lastAnalyze: r.last_analyze ?? r.last_autoanalyze ?? null,
      };
      const labels = { schema: t.schema, table: t.name };
      ctx.metrics.set('aiaas_table_total_bytes', 'pg_total_relation_size of the largest relations', t.totalBytes ?? 0, labels);
      ctx.metrics.set('aiaas_table_dead_tuple_ratio', 'n_dead_tup / (n_live_tup + n_dead_tup)', deadRatio, labels);
      if (deadRatio > opts.maxDeadRatio && dead >= opts.minDeadTuples) {
        findings.push({
          code: 'table_bloated',
          message: `${t.schema}.${t.name}: ${dead} dead tuples, ratio ${deadRatio.toFixed(3)} > ${opts.maxDeadRatio}`,
          schema: t.schema, table: t.name, deadTuples: dead, deadRatio,
        });
      }
      return t;
    });
    return { findings, data: { schema: opts.schema, tables } };
  });
}
