// What the monitoring tasks must be able to see, checked before they look.
// Without pg_read_all_stats a role sees other roles' sessions in pg_stat_activity,
// pg_stat_replication and pg_stat_statements with their details blanked out: the
// tasks would count nothing and report healthy. They stop instead, naming the grant.
import type { PoolClient } from 'pg';

/** Predefined roles a task may need (PostgreSQL 10+; pg_monitor includes both). */
export type MonitoringRole = 'pg_read_all_stats' | 'pg_read_all_settings';

const WHY: Record<MonitoringRole, string> = {
  pg_read_all_stats: 'other sessions\' statistics (pg_stat_activity, pg_stat_replication, pg_stat_statements) are hidden from it',
  pg_read_all_settings: 'it cannot read shared_preload_libraries',
};

/** Thrown when the role lacks a grant: the task could not do its work (exit 2), logged without a stack. */
export class MissingGrantError extends Error {
  /** SQLSTATE insufficient_privilege, as PostgreSQL would have said it. */
  public readonly code = '42501';
}

/** Thrown when `--schema` names no schema of the database (exit 2, logged without a stack). */
export class NoSuchSchemaError extends Error {
  /** SQLSTATE invalid_schema_name. */
  public readonly code = '3F000';
}

/**
 * Fail with the GRANT to run when the session's role lacks any of `roles`.
 * pg_has_role(..., 'USAGE') is true for superusers and through membership (pg_monitor).
 */
export async function requireRoles(client: PoolClient, task: string, roles: readonly MonitoringRole[]): Promise<void> {
  const { rows: [r] } = await client.query<{ user: string; missing: string[] }>(
    `SELECT current_user AS user,
            array(SELECT x FROM unnest($1::text[]) AS x WHERE NOT pg_has_role(current_user, x, 'USAGE')) AS missing`,
    [roles]);
  if (r.missing.length === 0) return;
  const user = client.escapeIdentifier(r.user);
  const missing = r.missing as MonitoringRole[];
  throw new MissingGrantError(`${task}: role ${user} lacks ${missing.join(' and ')}: ${missing.map((m) => WHY[m]).join('; ')}; `
    + `nothing was checked. Run as a superuser: GRANT pg_monitor TO ${user}; `
    + `(or GRANT ${missing.join(', ')} TO ${user};)`);
}
