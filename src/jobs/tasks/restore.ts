// restore: a backup of the directory (--backup, or the newest complete one whose
// checksum matches) restored with `pg_restore --jobs` into a staging database
// this run creates and marks, its row counts compared with the manifest, then
// renamed to the target. The target must not exist or be empty; with --force a
// target with data is first backed up into --dir (a regular, complete backup),
// then dropped. Until the rename the target is untouched: a failed or mismatched
// restore leaves it as it was and drops the staging database. With --from-bucket the
// backup (newest good, or --backup) comes from the bucket, downloaded under --dir and
// checked against its manifest before use; the download is removed afterwards.
import * as path from 'node:path';
import type { Pool } from 'pg';
import { BackupEntry, forDatabase, readDir } from '../backup-files';
import { TaskContext, throwIfAborted } from '../context';
import { createPool, withAdvisoryLock, withClient } from '../db';
import type { Finding, TaskResult } from '../report';
import {
  candidates, checksumProblem, createMarked, dropMarked, newRunId, planRestore, RefusedError, removePlan,
} from '../restore-common';
import { bucketConfigOf, bucketWhere, fetchFromBucket } from '../offsite';
import { dumpDatabase } from './backup';
import { compareCounts, pgRestore } from './restore-verify';

const PURPOSE = 'restore';
/** Lock wait of the safety backup: the target's writers should be stopped anyway. */
const SAFETY_LOCK_WAIT_MS = 300_000;

/** The backup to restore and the newer ones passed over (with why). */
async function chooseBackup(dir: string, database: string, name: string | undefined):
Promise<{ entry?: BackupEntry; problem?: string; passedOver: string[] }> {
  const { all } = await candidates(dir, database);
  if (name !== undefined) {
    const c = all.find((x) => x.name === name);
    if (!c) {
      const known = forDatabase(await readDir(dir), database).complete.slice(0, 5).map((e) => e.name);
      throw new RefusedError(`backup ${name} (--backup) of "${database}" not found in ${dir}`
        + `${known.length > 0 ? `; newest complete: ${known.join(', ')}` : ''}`);
    }
    if (!c.entry) return { problem: `${name} is not usable: ${c.problem}`, passedOver: [] };
    const problem = await checksumProblem(dir, c.entry);
    return problem ? { problem: `${name}: ${problem}`, passedOver: [] } : { entry: c.entry, passedOver: [] };
  }
  const passedOver: string[] = [];
  for (const c of all) {
    const problem = c.entry ? await checksumProblem(dir, c.entry) : c.problem;
    if (!problem && c.entry) return { entry: c.entry, passedOver };
    passedOver.push(`${c.name}: ${problem}`);
  }
  return { problem: `no complete backup of "${database}" whose checksum matches in ${dir}`, passedOver };
}

/** Relations of the target outside the system schemas; null when it does not exist. */
async function userRelations(admin: Pool, ctx: TaskContext<'restore'>, database: string): Promise<number | null> {
  const { rows } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
  if (rows.length === 0) return null;
  const pool = createPool(ctx.config.connection, 'aiaas-job/restore', 1, ctx.log, database, ctx.onLost);
  try {
    const { rows: [{ n }] } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
        WHERE s.nspname NOT IN ('pg_catalog', 'information_schema') AND s.nspname !~ '^pg_(toast|temp_)'`);
    return n;
  } finally {
    await pool.end();
  }
}

export async function restore(ctx: TaskContext<'restore'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  const conn = ctx.config.connection;
  const dir = path.resolve(opts.dir);
  const target = opts.targetDatabase;
  // The target may be the database PGDATABASE names: drop and rename it from another one.
  const admin = createPool(conn, 'aiaas-job/restore', 2, ctx.log, target === conn.database ? 'postgres' : conn.database, ctx.onLost);
  const runId = newRunId();
  const findings: Finding[] = [];
  try {
    return await withAdvisoryLock(admin, `aiaas-job:restore:${target}`, ctx.log, async (): Promise<TaskResult> => {
      const bucket = opts.fromBucket ? bucketConfigOf(opts) : undefined;
      let backup: BackupEntry;
      let file: string;
      let cleanup = async (): Promise<void> => undefined;
      const warnings: string[] = [];
      if (bucket) {
        // downloaded under --dir and checked against its manifest; a corrupted copy is a finding
        const fetched = await fetchFromBucket(ctx, bucket, dir, opts.backup);
        if (fetched.kind === 'finding') {
          findings.push({ ...fetched.finding, message: `${fetched.finding.message}: nothing was restored` });
          return { findings, warnings, data: { dir, target, bucket: bucketWhere(bucket) } };
        }
        ({ entry: backup, file, cleanup } = fetched);
      } else {
        const chosen = await chooseBackup(dir, conn.database, opts.backup);
        warnings.push(...chosen.passedOver.map((p) => `passed over (not usable): ${p}`));
        if (!chosen.entry) {
          findings.push({ code: 'backup_unusable', message: `${chosen.problem}: nothing was restored` });
          return { findings, warnings, data: { dir, target } };
        }
        backup = chosen.entry;
        file = path.join(dir, backup.name);
      }
      try {
        return await restoreChosen(ctx, admin, { backup, file, dir, runId, warnings, bucket: bucket && bucketWhere(bucket) });
      } finally {
        await cleanup();
      }
    });
  } finally {
    await admin.end().catch((err) => ctx.log.warn({ err }, 'closing the pool failed'));
  }
}

/** Restores `file` (checked) into the staging database, compares counts, then renames it to the target. */
async function restoreChosen(ctx: TaskContext<'restore'>, admin: Pool, chosen: {
  backup: BackupEntry; file: string; dir: string; runId: string; warnings: string[]; bucket?: string;
}): Promise<TaskResult> {
  const opts = ctx.config.options;
  const conn = ctx.config.connection;
  const target = opts.targetDatabase;
  const staging = `${target.slice(0, 52)}_restoring`;
  const { backup, file, dir, runId, warnings } = chosen;
  const findings: Finding[] = [];
  ctx.log.info({ file: backup.name, target, bucket: chosen.bucket }, 'checksum matches; restoring');

  const relations = await userRelations(admin, ctx, target);
  if (relations !== null && relations > 0 && !opts.force) {
    throw new RefusedError(`target database "${target}" is not empty (${relations} relations): `
      + 'use --force to replace it (it is backed up into --dir first), or choose another --target-database');
  }
  if (await dropMarked(admin, staging, PURPOSE) === 'dropped') {
    ctx.log.warn({ database: staging }, 'dropped the staging database an earlier run left behind');
  }
  throwIfAborted(ctx.signal);

  const plan = await planRestore(admin, conn, file, ctx.signal);
  for (const s of plan.skipped) ctx.log.warn({ object: s.object, reason: s.reason }, 'not restored');
  warnings.push(...plan.skipped.map((s) => `not restored: ${s.object}: ${s.reason}`));
  await createMarked(admin, staging, PURPOSE, runId);
  let renamed = false;
  try {
    const t0 = process.hrtime.bigint();
    try {
      await pgRestore(ctx, staging, file, plan, [`--jobs=${opts.jobs}`]);
    } catch (e) {
      throwIfAborted(ctx.signal);
      findings.push({ code: 'restore_failed', message: `${backup.name} did not restore (target untouched): ${(e as Error).message}`, file: backup.name });
      return { findings, warnings, data: { dir, target, file: backup.name, skipped: plan.skipped } };
    } finally {
      await removePlan(plan);
    }
    const restoreSeconds = Number(process.hrtime.bigint() - t0) / 1e9;

    // counts against the manifest, and planner statistics (pg_restore leaves none)
    const stagingPool = createPool(conn, 'aiaas-job/restore', 1, ctx.log, staging, ctx.onLost);
    let compared: Awaited<ReturnType<typeof compareCounts>>;
    try {
      compared = await compareCounts(admin, stagingPool, Object.keys(backup.manifest.rowCounts), backup.manifest);
      if (compared.findings.length === 0) await stagingPool.query('ANALYZE');
    } finally {
      await stagingPool.end();
    }
    const data = {
      dir, target, file: backup.name, ...(chosen.bucket ? { bucket: chosen.bucket } : {}), createdAt: backup.manifest.createdAt, sha256: backup.manifest.sha256,
      restoreSeconds, jobs: opts.jobs, tables: compared.comparison, skipped: plan.skipped,
    };
    warnings.push(...compared.warnings);
    if (Object.keys(backup.manifest.rowCounts).length === 0) warnings.push(`${backup.name} recorded no row counts: none compared`);
    if (compared.findings.length > 0) {
      findings.push(...compared.findings.map((f) => ({ ...f, message: `${f.message} (target untouched)` })));
      return { findings, warnings, data };
    }
    throwIfAborted(ctx.signal);

    let safetyBackup: string | undefined;
    if (relations !== null) {
      if (relations > 0) {
        const targetPool = createPool(conn, 'aiaas-job/restore', 2, ctx.log, target, ctx.onLost);
        try {
          safetyBackup = (await dumpDatabase(targetPool, {
            conn: { ...conn, database: target }, dir, countTables: [], lockWaitTimeoutMs: SAFETY_LOCK_WAIT_MS, signal: ctx.signal, log: ctx.log,
          })).name;
        } finally {
          await targetPool.end();
        }
        ctx.log.warn({ target, safetyBackup }, 'safety backup of the replaced database taken');
      }
      await withClient(admin, async (c) => {
        await c.query(`DROP DATABASE ${c.escapeIdentifier(target)} WITH (FORCE)`);
      });
    }
    await withClient(admin, async (c) => {
      await c.query(`ALTER DATABASE ${c.escapeIdentifier(staging)} RENAME TO ${c.escapeIdentifier(target)}`);
      renamed = true;
      // no longer a staging database: nothing may drop it as a leftover
      await c.query(`COMMENT ON DATABASE ${c.escapeIdentifier(target)} IS NULL`);
    });
    ctx.log.info({ target, file: backup.name, seconds: restoreSeconds }, 'restored');
    ctx.metrics.set('aiaas_restore_seconds', 'Duration of pg_restore of the last restore', restoreSeconds);
    return { findings, warnings, data: { ...data, replaced: relations !== null, safetyBackup } };
  } finally {
    if (!renamed) {
      await dropMarked(admin, staging, PURPOSE, runId).catch((err) => ctx.log.error({ err, database: staging }, 'could not drop staging database'));
    }
  }
}
