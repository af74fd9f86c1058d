// restore-verify: the NEWEST backup is what a restore would use, so a broken
// newest backup (unreadable manifest, size mismatch, no manifest) is a finding
// naming it, and so is a newest good backup older than --max-backup-age-seconds.
// The newest complete backup is checked against its manifest checksum (each file
// of a directory-format backup), restored with `pg_restore --exit-on-error --jobs N` into a scratch database this run creates and
// marks (only a database so marked is ever dropped; bulk-load settings of its own, see tuneScratch), and row counts of chosen
// tables are compared with the counts the backup recorded in its snapshot (or,
// for tables it did not count, with the live source). What the role may not
// create (untrusted extensions without superuser) is left out and reported.
import * as path from 'node:path';
import type { Pool } from 'pg';
import type { Manifest } from '../backup-files';
import { runPg } from '../child';
import { TaskContext, throwIfAborted } from '../context';
import { childEnv, createPool, withAdvisoryLock } from '../db';
import { bucketConfigOf, bucketWhere, fetchFromBucket } from '../offsite';
import type { Finding, TaskResult } from '../report';
import {
  candidates, checksumProblem, countRows, createMarked, dropMarked, newRunId, planRestore, removePlan, RestorePlan, tuneScratch,
} from '../restore-common';
import { qualifiedKey } from './backup';

const PURPOSE = 'restore-verify';

interface Comparison {
  readonly table: string;
  readonly restored: number | null;
  readonly expected: number | null;
  readonly expectedFrom: 'backup snapshot' | 'live source' | null;
}

/**
 * Compare restored row counts with the backup's own counts, else the live source.
 * A table missing from the restore is a finding only if the backup had it (counted
 * it, or it exists in the source and the backup did not record it as missing);
 * otherwise it is a warning, as in backup's report.
 */
export async function compareCounts(source: Pool, restoredPool: Pool, tables: string[], manifest: Manifest):
Promise<{ findings: Finding[]; warnings: string[]; comparison: Comparison[] }> {
  const restored = await countRows(restoredPool, tables);
  const uncounted = tables.filter((t) => !(t in manifest.rowCounts));
  const live = uncounted.length > 0 ? await countRows(source, uncounted) : {};
  const missingAtBackup = new Set(manifest.missingTables ?? []);
  const findings: Finding[] = [];
  const warnings: string[] = [];
  const comparison = tables.map((t): Comparison => {
    const inBackup = t in manifest.rowCounts;
    const expected = inBackup ? manifest.rowCounts[t] : live[t] ?? null;
    const expectedFrom = inBackup ? 'backup snapshot' : expected === null ? null : 'live source';
    const got = restored[t] ?? null;
    if (got === null) {
      if (inBackup) {
        findings.push({ code: 'table_missing', message: `${t} had ${expected} rows in the backup's snapshot but is missing from the restored backup`, table: t });
      } else if (expected !== null && !missingAtBackup.has(t)) {
        findings.push({ code: 'table_missing', message: `${t} exists in the source but is missing from the restored backup`, table: t });
      } else if (expected !== null) {
        warnings.push(`${t} did not exist when the backup was taken (created since): nothing to compare`);
      } else {
        warnings.push(`${t} exists neither in the source nor in the backup: check the table names (--tables)`);
      }
    } else if (expected === null) {
      warnings.push(`${t} is in the backup (${got} rows) but not in the source any more: nothing to compare`);
    } else if (got !== expected) {
      findings.push({ code: 'row_count_mismatch', message: `${t}: ${got} rows restored, ${expected} expected (${expectedFrom})`, table: t });
    }
    return { table: t, restored: got, expected, expectedFrom };
  });
  return { findings, warnings, comparison };
}

/** pg_restore of `file` into `database` following `plan`; resolves, or rejects with pg_restore's stderr. */
export async function pgRestore(ctx: TaskContext, database: string, file: string, plan: RestorePlan, extra: string[] = []): Promise<void> {
  const args = ['--exit-on-error', ...plan.flags, ...extra, ...(plan.listFile ? [`--use-list=${plan.listFile}`] : []),
    `--dbname=${database}`, file];
  await runPg('pg_restore', args, childEnv(ctx.config.connection), ctx.signal).done;
}

export async function restoreVerify(ctx: TaskContext<'restore-verify'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  const bucket = bucketConfigOf(opts);
  if (!opts.fromBucket || !bucket) return verifyDir(ctx, path.resolve(opts.dir));
  // from the bucket: the backup (newest good, or --backup) is downloaded into a directory of its
  // own and checked there, then verified as any backup on the volume
  const fetched = await fetchFromBucket(ctx, bucket, path.resolve(opts.dir), opts.backup);
  if (fetched.kind === 'finding') {
    ctx.metrics.set('aiaas_restore_verify_ok', '1 when the newest backup restored and matched, else 0', 0);
    return { findings: [fetched.finding], data: { bucket: bucketWhere(bucket) } };
  }
  try {
    const result = await verifyDir(ctx, path.dirname(fetched.file));
    return { ...result, data: { ...result.data, bucket: bucketWhere(bucket) } };
  } finally {
    await fetched.cleanup();
  }
}

/** Seconds spent in each phase, filled in as they end: where the time of a verification goes. */
type Phases = Record<'checksum' | 'prepare' | 'restore' | 'count' | 'drop', number>;

const secondsSince = (t0: bigint): number => Math.round(Number(process.hrtime.bigint() - t0) / 1e6) / 1000;

async function timed<T>(phases: Partial<Phases>, phase: keyof Phases, fn: () => Promise<T>): Promise<T> {
  const t0 = process.hrtime.bigint();
  try {
    return await fn();
  } finally {
    phases[phase] = secondsSince(t0);
  }
}

async function verifyDir(ctx: TaskContext<'restore-verify'>, dir: string): Promise<TaskResult> {
  const opts = ctx.config.options;
  const conn = ctx.config.connection;
  const m = ctx.metrics;
  const findings: Finding[] = [];
  const phases: Partial<Phases> = {};
  const fail = (data: Record<string, unknown>, warnings: string[] = []): TaskResult => {
    m.set('aiaas_restore_verify_ok', '1 when the newest backup restored and matched, else 0', 0);
    return { findings, warnings, data };
  };

  const { state, all } = await candidates(dir, conn.database);
  // never fall back silently: whatever is newer than the newest complete backup is broken
  const broken = all.slice(0, all.findIndex((c) => c.entry) === -1 ? all.length : all.findIndex((c) => c.entry));
  for (const b of broken) {
    findings.push({
      code: 'newest_backup_unusable',
      message: `${b.name} (${b.createdAt}) is newer than the newest complete backup but unusable: ${b.problem}`,
      file: b.name,
    });
  }
  const newest = state.complete[0];
  if (!newest) {
    findings.push({ code: 'no_complete_backup', message: `no complete backup of "${conn.database}" (dump with matching manifest) in ${dir}` });
    return fail({ dir, invalid: state.invalid.map(({ name, reason }) => ({ name, reason })) });
  }
  const ageSeconds = (Date.now() - Date.parse(newest.manifest.createdAt)) / 1000;
  m.set('aiaas_restore_verify_backup_age_seconds', 'Age of the backup that was verified', ageSeconds);
  if (ageSeconds > opts.maxBackupAgeSeconds) {
    findings.push({
      code: 'backup_too_old',
      message: `the newest complete backup ${newest.name} is ${(ageSeconds / 3600).toFixed(1)} h old, more than `
        + `${(opts.maxBackupAgeSeconds / 3600).toFixed(1)} h (--max-backup-age-seconds): backups are not being made`,
      file: newest.name,
      ageSeconds: Math.round(ageSeconds),
    });
  }
  const file = path.join(dir, newest.name);
  const base = { dir, file: newest.name, createdAt: newest.manifest.createdAt, ageSeconds: Math.round(ageSeconds) };

  // checked before anything of it is restored: pg_restore never reads an unverified file
  const problem = await timed(phases, 'checksum', () => checksumProblem(dir, newest));
  if (problem) {
    findings.push({ code: 'backup_checksum_mismatch', message: `${newest.name}: ${problem}`, file: newest.name });
    return fail(base);
  }
  ctx.log.info({ file: newest.name }, 'checksum matches');
  throwIfAborted(ctx.signal);

  const tables = opts.tables.map(qualifiedKey);
  const scratch = opts.scratchDatabase;
  const runId = newRunId();
  return withAdvisoryLock(ctx.pool, `aiaas-job:restore-verify:${scratch}`, ctx.log, async () => {
    // a leftover of an earlier run (killed) is ours to drop; any other database is refused
    if (await dropMarked(ctx.pool, scratch, PURPOSE) === 'dropped') {
      ctx.log.warn({ database: scratch }, 'dropped the scratch database an earlier run left behind');
    }
    const prepared = process.hrtime.bigint();
    const plan = await planRestore(ctx.pool, conn, file, ctx.signal);
    const skipped = plan.skipped.map((s) => `${s.object}: ${s.reason}`);
    for (const s of plan.skipped) ctx.log.warn({ object: s.object, reason: s.reason }, 'not restored');
    await createMarked(ctx.pool, scratch, PURPOSE, runId);
    try {
      const settings = await tuneScratch(ctx.pool, scratch);
      phases.prepare = secondsSince(prepared);
      ctx.log.info({ database: scratch, settings }, 'scratch database created');
      try {
        // One pg_restore for all sections: a table's indexes are built as soon as its data is in,
        // alongside the next table's COPY. Sections one after the other (with the counts during
        // post-data) measured slower on 2 cores: each section ends with a core idle.
        await timed(phases, 'restore', () => pgRestore(ctx, scratch, file, plan, ['--no-owner', '--no-acl', `--jobs=${opts.jobs}`]));
      } catch (e) {
        throwIfAborted(ctx.signal);
        findings.push({ code: 'restore_failed', message: `${newest.name} did not restore: ${(e as Error).message}`, file: newest.name });
        return fail({ ...base, skipped: plan.skipped, phases }, skipped);
      } finally {
        await removePlan(plan);
      }
      const restoreSeconds = phases.restore ?? 0;
      ctx.log.info({ file: newest.name, seconds: restoreSeconds }, 'restored into scratch database');

      const scratchPool = createPool(conn, 'aiaas-job/restore-verify', opts.jobs, ctx.log, scratch, ctx.onLost);
      let compared: Awaited<ReturnType<typeof compareCounts>>;
      try {
        compared = await timed(phases, 'count', () => compareCounts(ctx.pool, scratchPool, tables, newest.manifest));
      } finally {
        await scratchPool.end();
      }
      findings.push(...compared.findings);
      const warnings = [...skipped.map((s) => `not restored: ${s}`), ...compared.warnings];
      // `phases` gets its `drop` below, before the report is written
      const data = { ...base, sha256: newest.manifest.sha256, sizeBytes: newest.manifest.sizeBytes, restoreSeconds,
        tables: compared.comparison, skipped: plan.skipped, settings, phases };
      if (findings.length > 0) return fail(data, warnings);
      m.set('aiaas_restore_verify_ok', '1 when the newest backup restored and matched, else 0', 1);
      m.set('aiaas_restore_verify_restore_seconds', 'Duration of pg_restore', restoreSeconds);
      return { findings, warnings, data };
    } finally {
      await timed(phases, 'drop', () => dropMarked(ctx.pool, scratch, PURPOSE, runId)).catch((err) => {
        ctx.log.error({ err, database: scratch }, 'could not drop scratch database');
        throw err;
      });
    }
  });
}
