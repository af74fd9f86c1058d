// table-sizes: largest relations by total size with dead-tuple ratios.
// Sizing a relation takes an ACCESS SHARE lock: each is sized on its own under
// lock_timeout, so one locked table is skipped and named while the rest is reported.
// A partitioned table is the sum of its partitions. Dead-tuple ratios are only given
// where the counters describe the table (see deadRatioOf).
import { DatabaseError } from 'pg';
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { NoSuchSchemaError } from '../privileges';
import type { Finding, TaskResult } from '../report';

interface Listed {
  oid: string;
  name: string;
  kind: string;
  reltuples: string;
  n_live_tup: string | null;
  n_dead_tup: string | null;
  has_stats: boolean;
  last_vacuum: Date | null;
  last_autovacuum: Date | null;
  last_analyze: Date | null;
  last_autoanalyze: Date | null;
}

export async function tableSizes(ctx: TaskContext<'table-sizes'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
    const { rows: [s] } = await client.query(
      `SELECT current_database() AS db, EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1) AS exists,
              set_config('lock_timeout', $2, false)`, [opts.schema, `${opts.lockTimeoutMs}ms`]);
    if (!s.exists) throw new NoSuchSchemaError(`--schema ${opts.schema}: no schema of that name in database "${s.db}"`);
    // catalog and statistics only: no lock is taken here
    const { rows: listed } = await client.query<Listed>(
      `SELECT c.oid::text AS oid, c.relname AS name, c.relkind::text AS kind, c.reltuples,
              st.relid IS NOT NULL AS has_stats, st.n_live_tup, st.n_dead_tup,
              st.last_vacuum, st.last_autovacuum, st.last_analyze, st.last_autoanalyze
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables st ON st.relid = c.oid
        WHERE n.nspname = $1 AND c.relkind IN ('r', 'm', 'p')
        ORDER BY c.relname`, [opts.schema]);

    const skipped: string[] = [];
    const findings: Finding[] = [];
    const sized = [];
    for (const r of listed) {
      const label = `${opts.schema}.${r.name}`;
      let size;
      try {
        ({ rows: [size] } = await client.query(r.kind === 'p'
          ? `SELECT coalesce(sum(pg_total_relation_size(relid)), 0) AS total, coalesce(sum(pg_relation_size(relid)), 0) AS heap,
                    coalesce(sum(pg_indexes_size(relid)), 0) AS indexes, count(*) FILTER (WHERE relid <> $1::oid) AS partitions
               FROM pg_partition_tree($1::oid) WHERE isleaf`
          : `SELECT pg_total_relation_size($1::oid) AS total, pg_relation_size($1::oid) AS heap,
                    pg_indexes_size($1::oid) AS indexes, NULL AS partitions`, [r.oid]));
      } catch (e) {
        if (e instanceof DatabaseError && e.code === '55P03') { // lock_not_available
          skipped.push(label);
          findings.push({
            code: 'table_skipped',
            message: `${label}: size not measured, still locked by another session after lock_timeout ${opts.lockTimeoutMs} ms`,
            table: label,
          });
          ctx.log.warn({ table: label }, 'table locked: size not measured');
          continue;
        }
        throw e;
      }
      if (size.total === null) continue; // dropped since listed
      sized.push({ r, size });
    }
    sized.sort((a, b) => (num(b.size.total) ?? 0) - (num(a.size.total) ?? 0) || a.r.name.localeCompare(b.r.name));

    const tables = sized.slice(0, opts.limit).map(({ r, size }) => {
      const live = num(r.n_live_tup) ?? 0;
      const dead = num(r.n_dead_tup) ?? 0;
      const { deadRatio, note } = deadRatioOf(r, live, dead);
      const t = {
        schema: opts.schema,
        name: r.name,
        kind: r.kind,
        totalBytes: num(size.total),
        tableBytes: num(size.heap),
        indexBytes: num(size.indexes),
        ...(r.kind === 'p' ? { partitions: num(size.partitions) } : {}),
        liveTuples: live,
        deadTuples: dead,
        deadRatio,
        ...(note ? { deadRatioNote: note } : {}),
        lastVacuum: r.last_vacuum ?? r.last_autovacuum ?? null,
        lastAnalyze: r.last_analyze ?? r.last_autoanalyze ?? null,
      };
      const labels = { schema: t.schema, table: t.name };
      ctx.metrics.set('aiaas_table_total_bytes', 'pg_total_relation_size of the largest relations', t.totalBytes ?? 0, labels);
      if (deadRatio !== null) {
        ctx.metrics.set('aiaas_table_dead_tuple_ratio', 'n_dead_tup / (n_live_tup + n_dead_tup)', deadRatio, labels);
      }
      if (deadRatio !== null && deadRatio > opts.maxDeadRatio && dead >= opts.minDeadTuples) {
        findings.push({
          code: 'table_bloated',
          message: `${t.schema}.${t.name}: ${dead} dead tuples, ratio ${deadRatio.toFixed(3)} > ${opts.maxDeadRatio}`,
          schema: t.schema, table: t.name, deadTuples: dead, deadRatio,
        });
      }
      return t;
    });
    return { findings, data: { schema: opts.schema, lockTimeoutMs: opts.lockTimeoutMs, tables, skipped } };
  });
}

/**
 * n_live_tup is a real count only once a VACUUM or ANALYZE has run since the statistics
 * began; before that it counts the rows inserted since then. After a crash restart or
 * pg_stat_reset() a big table thus has ~0 live and some dead tuples: ratio 1.0, not bloat.
 * Trusted: a vacuum/analyze since the statistics began, or a table never vacuumed nor
 * analyzed at all (reltuples −1, PostgreSQL 14+), whose counters started with it.
 */
function deadRatioOf(r: Listed, live: number, dead: number): { deadRatio: number | null; note?: string } {
  if (r.kind === 'p') return { deadRatio: null, note: 'partitioned table: its partitions hold the tuples' };
  if (!r.has_stats) return { deadRatio: null, note: 'no statistics for this relation' };
  const counted = [r.last_vacuum, r.last_autovacuum, r.last_analyze, r.last_autoanalyze].some((d) => d !== null);
  if (!counted && (num(r.reltuples) ?? -1) >= 0) {
    return { deadRatio: null, note: 'statistics reset since the last VACUUM/ANALYZE (crash restart or pg_stat_reset): live tuples unknown until the table is analyzed' };
  }
  return { deadRatio: live + dead > 0 ? dead / (live + dead) : 0 };
}
