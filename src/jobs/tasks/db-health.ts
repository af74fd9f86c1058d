// db-health: pg_stat_database of the database and connections against max_connections.
import { num, TaskContext } from '../context';
import { withClient } from '../db';
import { requireRoles } from '../privileges';
import type { Finding, TaskResult } from '../report';

export async function dbHealth(ctx: TaskContext<'db-health'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  return withClient(ctx.pool, async (client) => {
    // other roles' sessions count only when the role can see them
    await requireRoles(client, 'db-health', ['pg_read_all_stats']);
    const { rows: [db] } = await client.query(
      `SELECT datname, numbackends, xact_commit, xact_rollback, blks_read, blks_hit,
              deadlocks, temp_files, temp_bytes, conflicts
         FROM pg_stat_database WHERE datname = current_database()`);
    const { rows: [conn] } = await client.query(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend') AS used,
              current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS reserved`);
    const used = num(conn.used) ?? 0;
    const max = num(conn.max) ?? 1;
    const ratio = used / max;
    const hit = num(db.blks_hit) ?? 0;
    const read = num(db.blks_read) ?? 0;
    const cacheHitRatio = hit + read > 0 ? hit / (hit + read) : null;

    const findings: Finding[] = [];
    if (ratio > opts.maxConnectionRatio) {
      findings.push({
        code: 'connections_near_limit',
        message: `${used} of max_connections ${max} in use (${(ratio * 100).toFixed(1)} % > ${opts.maxConnectionRatio * 100} %)`,
        used, max, ratio,
      });
    }
    const m = ctx.metrics;
    m.set('aiaas_db_connections_used', 'Client backends connected to the server', used);
    m.set('aiaas_db_connections_max', 'max_connections of the server', max);
    m.set('aiaas_db_connection_ratio', 'Client backends / max_connections', ratio);
    if (cacheHitRatio !== null) m.set('aiaas_db_cache_hit_ratio', 'blks_hit / (blks_hit + blks_read) of the database', cacheHitRatio);
    m.set('aiaas_db_deadlocks', 'pg_stat_database.deadlocks of the database (counter value)', num(db.deadlocks) ?? 0);
    m.set('aiaas_db_temp_files', 'pg_stat_database.temp_files of the database (counter value)', num(db.temp_files) ?? 0);

    return {
      findings,
      data: {
        database: db.datname,
        backends: num(db.numbackends),
        commits: num(db.xact_commit),
        rollbacks: num(db.xact_rollback),
        blocksRead: read,
        blocksHit: hit,
        cacheHitRatio,
        deadlocks: num(db.deadlocks),
        tempFiles: num(db.temp_files),
        tempBytes: num(db.temp_bytes),
        conflicts: num(db.conflicts),
        connections: { used, max, reservedForSuperuser: num(conn.reserved), ratio, maxRatio: opts.maxConnectionRatio },
      },
    };
  });
}
