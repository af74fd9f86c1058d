// restore-verify: the newest complete backup is checked against its manifest
// checksum (every file of a directory-format backup), restored with
// `pg_restore --exit-on-error --jobs N` into a scratch
// database, and row counts of chosen tables are compared with the counts the
// backup recorded in its snapshot (or, for tables it did not count, with the
// live source). The scratch database is dropped in `finally`.
import * as path from 'node:path';
import { forDatabase, readDir, verifyFiles } from '../backup-files';
import { runPg } from '../child';
import { num, TaskContext, throwIfAborted } from '../context';
import { childEnv, createPool, quoteQualified, withAdvisoryLock, withClient } from '../db';
import { bucketConfigOf, bucketWhere, fetchFromBucket } from '../offsite';
import type { Finding, TaskResult } from '../report';
import { qualifiedKey } from './backup';

async function countRows(pool: import('pg').Pool, tables: string[]): Promise<Record<string, number | null>> {
  return withClient(pool, async (client) => {
    const out: Record<string, number | null> = {};
    for (const key of tables) {
      const { rows: [{ exists }] } = await client.query('SELECT to_regclass($1) IS NOT NULL AS exists', [key]);
      if (!exists) {
        out[key] = null;
        continue;
      }
      const { rows: [{ n }] } = await client.query(`SELECT count(*) AS n FROM ${quoteQualified(client, key)}`);
      out[key] = num(n);
    }
    return out;
  });
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

async function verifyDir(ctx: TaskContext<'restore-verify'>, dir: string): Promise<TaskResult> {
  const opts = ctx.config.options;
  const conn = ctx.config.connection;
  const m = ctx.metrics;
  const fail = (findings: Finding[], data: Record<string, unknown>): TaskResult => {
    m.set('aiaas_restore_verify_ok', '1 when the newest backup restored and matched, else 0', 0);
    return { findings, data };
  };

  const state = forDatabase(await readDir(dir), conn.database);
  if (state.complete.length === 0) {
    return fail([{ code: 'no_complete_backup', message: `no complete backup of "${conn.database}" (dump with matching manifest) in ${dir}` }],
      { dir, invalid: state.invalid });
  }
  const newest = state.complete[0];
  const file = path.join(dir, newest.name);
  m.set('aiaas_restore_verify_backup_age_seconds', 'Age of the backup that was verified',
    (Date.now() - Date.parse(newest.manifest.createdAt)) / 1000);

  const bad = await verifyFiles(dir, newest.manifest);
  if (bad) {
    return fail([{
      code: 'backup_checksum_mismatch',
      message: `${bad.file}: sha256 ${bad.actual} differs from manifest ${bad.expected}: the backup is corrupted`,
      file: newest.name,
    }], { dir, file: newest.name, corruptedFile: bad.file, expectedSha256: bad.expected, actualSha256: bad.actual });
  }
  const sum = { sha256: newest.manifest.sha256, sizeBytes: newest.manifest.sizeBytes };
  ctx.log.info({ file: newest.name }, 'checksum matches');
  throwIfAborted(ctx.signal);

  const tables = opts.tables.map(qualifiedKey);
  const scratch = opts.scratchDatabase;
  return withAdvisoryLock(ctx.pool, `aiaas-job:restore-verify:${scratch}`, ctx.log, async () => {
    const { rows: [{ v }] } = await ctx.pool.query(`SELECT current_setting('server_version_num')::int AS v`);
    await withClient(ctx.pool, async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(scratch)}${v >= 130000 ? ' WITH (FORCE)' : ''}`);
      await c.query(`CREATE DATABASE ${c.escapeIdentifier(scratch)} TEMPLATE template0`);
    });
    const t0 = process.hrtime.bigint();
    try {
      const restore = runPg('pg_restore', ['--exit-on-error', '--no-owner', '--no-acl', `--jobs=${opts.jobs}`, `--dbname=${scratch}`, file],
        childEnv(conn), ctx.signal);
      try {
        await restore.done;
      } catch (e) {
        throwIfAborted(ctx.signal);
        return fail([{ code: 'restore_failed', message: `${newest.name} did not restore: ${(e as Error).message}`, file: newest.name }],
          { dir, file: newest.name });
      }
      const restoreSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
      ctx.log.info({ file: newest.name, seconds: restoreSeconds }, 'restored into scratch database');

      const scratchPool = createPool(conn, 'aiaas-job/restore-verify', 1, ctx.log, scratch);
      let restored: Record<string, number | null>;
      try {
        restored = await countRows(scratchPool, tables);
      } finally {
        await scratchPool.end();
      }
      const uncounted = tables.filter((t) => !(t in newest.manifest.rowCounts));
      const live = uncounted.length > 0 ? await countRows(ctx.pool, uncounted) : {};
      const findings: Finding[] = [];
      const comparison = tables.map((t) => {
        const expected = t in newest.manifest.rowCounts ? newest.manifest.rowCounts[t] : live[t];
        const source = t in newest.manifest.rowCounts ? 'backup snapshot' : 'live source';
        const got = restored[t];
        if (got === null || got === undefined) {
          findings.push({ code: 'table_missing', message: `${t} is missing from the restored backup`, table: t });
        } else if (expected === null || expected === undefined) {
          findings.push({ code: 'table_missing_in_source', message: `${t} exists in neither the backup's counts nor the source`, table: t });
        } else if (got !== expected) {
          findings.push({ code: 'row_count_mismatch', message: `${t}: ${got} rows restored, ${expected} expected (${source})`, table: t });
        }
        return { table: t, restored: got ?? null, expected: expected ?? null, expectedFrom: source };
      });
      if (findings.length > 0) return fail(findings, { dir, file: newest.name, restoreSeconds, tables: comparison });
      m.set('aiaas_restore_verify_ok', '1 when the newest backup restored and matched, else 0', 1);
      m.set('aiaas_restore_verify_restore_seconds', 'Duration of pg_restore', restoreSeconds);
      return {
        findings,
        data: { dir, file: newest.name, sha256: sum.sha256, sizeBytes: sum.sizeBytes, restoreSeconds, tables: comparison },
      };
    } finally {
      await withClient(ctx.pool, async (c) => {
        await c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(scratch)}${v >= 130000 ? ' WITH (FORCE)' : ''}`);
      }).catch((err) => {
        ctx.log.error({ err, database: scratch }, 'could not drop scratch database');
        throw err;
      });
    }
  });
}
