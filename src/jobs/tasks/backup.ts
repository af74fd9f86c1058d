// backup: pg_dump -Fc streamed to `<dir>/.<name>.partial` while its sha256 is
// computed (or, with --format directory, `pg_dump -Fd --jobs N` writing the
// directory `.<name>.partial`, each file then hashed), fsync, rename to `<name>`,
// fsync the directory, then write `<name>.manifest.json`. Row counts of chosen tables are taken in the very
// snapshot pg_dump uses (exported snapshot), for restore-verify to compare.
// Retention keeps the newest `keep` complete backups. On any failure the
// partial file is removed and earlier backups are untouched.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  BackupFile, backupName, forDatabase, hashTree, fsyncPath, Manifest, MANIFEST_FORMAT, MANIFEST_SUFFIX, partialName, planRetention, readDir,
  removeQuietly, writeFileDurable,
} from '../backup-files';
import { Running, runPg, versionOf } from '../child';
import { num, TaskContext, throwIfAborted } from '../context';
import { childEnv, quoteQualified, withAdvisoryLock, withClient } from '../db';
import { bucketConfigOf, uploadOffsite } from '../offsite';
import type { TaskResult } from '../report';

/**
 * Each chunk read from pg_dump is a fresh off-heap buffer that V8 frees only at
 * its next GC, which it triggers late (after ~64 MB of external memory). A
 * young-generation GC every few MB keeps the process's RSS flat whatever the
 * size of the database.
 */
const GC_EVERY_BYTES = 8 * 1024 * 1024;
function minorGc(): () => void {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as (o?: object) => void;
    return () => gc({ type: 'minor' });
  } catch {
    return () => undefined;
  }
}

export function qualifiedKey(table: string): string {
  return table.includes('.') ? table : `public.${table}`;
}

/** pg_dump's stdout streamed into a new file, hashed on the way, fsynced. */
async function streamToFile(dump: Running, file: string): Promise<{ sizeBytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let size = 0;
  let sinceGc = 0;
  const gc = minorGc();
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      sinceGc += chunk.length;
      if (sinceGc >= GC_EVERY_BYTES) {
        sinceGc = 0;
        gc();
      }
      cb(null, chunk);
    },
  });
  await Promise.all([pipeline(dump.child.stdout!, tap, createWriteStream(file, { flags: 'wx', mode: 0o600 })), dump.done]);
  await fsyncPath(file, 'r+');
  const st = await fs.stat(file);
  if (st.size !== size) throw new Error(`wrote ${size} bytes but the file has ${st.size}`);
  return { sizeBytes: size, sha256: hash.digest('hex') };
}

export async function backup(ctx: TaskContext<'backup'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  const conn = ctx.config.connection;
  const dir = path.resolve(opts.dir);
  await fs.mkdir(dir, { recursive: true });

  return withAdvisoryLock(ctx.pool, `aiaas-job:backup:${conn.database}`, ctx.log, async () => {
    // leftovers of interrupted runs of this database (this run holds its lock, so none is in progress)
    const before = forDatabase(await readDir(dir), conn.database);
    for (const n of [...before.partials, ...before.orphans]) {
      await removeQuietly(path.join(dir, n));
      ctx.log.warn({ file: n }, 'removed leftover of an interrupted backup');
    }
    for (const i of before.invalid) ctx.log.warn({ file: i.name, reason: i.reason }, 'backup with an invalid manifest is not counted');
    throwIfAborted(ctx.signal);

    const started = new Date();
    const t0 = process.hrtime.bigint();
    const name = backupName(conn.database, started);
    const finalPath = path.join(dir, name);
    const partialPath = path.join(dir, partialName(name));
    const pgDumpVersion = versionOf('pg_dump'); // in parallel with the dump

    const { manifest } = await withClient(ctx.pool, async (snap) => {
      await snap.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        const { rows: [{ snapshot, version }] } = await snap.query(
          `SELECT pg_export_snapshot() AS snapshot, current_setting('server_version') AS version`);
        const rowCounts: Record<string, number> = {};
        for (const t of opts.countTables) {
          const key = qualifiedKey(t);
          const { rows: [{ exists }] } = await snap.query('SELECT to_regclass($1) IS NOT NULL AS exists', [key]);
          if (!exists) {
            ctx.log.warn({ table: key }, 'table to count does not exist; not in manifest');
            continue;
          }
          const { rows: [{ n }] } = await snap.query(`SELECT count(*) AS n FROM ${quoteQualified(snap, key)}`);
          rowCounts[key] = num(n) ?? 0;
        }

        ctx.log.info({ file: name }, 'backup starting');
        const env = childEnv(conn);
        const common = [`--snapshot=${snapshot}`, `--compress=${opts.compress}`, '--no-password'];
        let dump: Running | undefined;
        try {
          let written: { sizeBytes: number; sha256: string; files?: BackupFile[] };
          if (opts.format === 'directory') {
            // pg_dump writes the directory itself (one file per table, --jobs workers in the same snapshot);
            // its files are hashed and fsynced once it has exited successfully
            dump = runPg('pg_dump', ['--format=directory', `--jobs=${opts.jobs}`, ...common, `--file=${partialPath}`], env, ctx.signal);
            await dump.done;
            throwIfAborted(ctx.signal);
            written = await hashTree(partialPath, name);
          } else {
            dump = runPg('pg_dump', ['--format=custom', ...common], env, ctx.signal, 'pipe');
            written = await streamToFile(dump, partialPath);
            throwIfAborted(ctx.signal);
          }
          await fs.rename(partialPath, finalPath);
          await fsyncPath(dir);
          const m: Manifest = {
            format: MANIFEST_FORMAT,
            file: name,
            database: conn.database,
            sizeBytes: written.sizeBytes,
            sha256: written.sha256,
            serverVersion: String(version),
            pgDumpVersion: await pgDumpVersion,
            durationSeconds: Number(process.hrtime.bigint() - t0) / 1e9,
            createdAt: started.toISOString(),
            rowCounts,
            ...(written.files ? { files: written.files } : {}),
          };
          await writeFileDurable(dir, name + MANIFEST_SUFFIX, `${JSON.stringify(m, null, 2)}\n`);
          return { manifest: m };
        } catch (e) {
          dump?.kill();
          await dump?.done.catch(() => undefined);
          await removeQuietly(partialPath);
          await removeQuietly(finalPath); // a dump without its manifest would look complete
          await removeQuietly(path.join(dir, partialName(name + MANIFEST_SUFFIX)));
          throw e;
        }
      } finally {
        await snap.query('COMMIT').catch(() => undefined);
      }
    });
    ctx.log.info({ file: name, sizeBytes: manifest.sizeBytes, seconds: manifest.durationSeconds }, 'backup complete');

    // retention, only after a new complete backup exists
    const after = forDatabase(await readDir(dir), conn.database);
    const deleted: string[] = [];
    for (const old of planRetention(after.complete, opts.keep)) {
      if (old.name === name) continue; // belt and braces: never the one just made
      await removeQuietly(path.join(dir, old.name + MANIFEST_SUFFIX)); // manifest first: no longer complete
      await removeQuietly(path.join(dir, old.name));
      deleted.push(old.name);
    }
    if (deleted.length > 0) await fsyncPath(dir);
    const kept = after.complete.filter((c) => !deleted.includes(c.name)).map((c) => c.name);

    const m = ctx.metrics;
    m.set('aiaas_backup_size_bytes', 'Size of the last backup file', manifest.sizeBytes);
    m.set('aiaas_backup_duration_seconds', 'Duration of the last pg_dump', manifest.durationSeconds);
    m.set('aiaas_backup_throughput_bytes_per_second', 'Backup bytes written per second', manifest.sizeBytes / Math.max(manifest.durationSeconds, 1e-3));
    m.set('aiaas_backup_complete_count', 'Complete backups in the backup directory after retention', kept.length);
    m.set('aiaas_backup_last_complete_timestamp_seconds', 'Creation time of the newest complete backup', started.getTime() / 1000);

    // the off-cluster copy, once the local backup is complete (a failure there is a finding, not an error)
    const bucket = bucketConfigOf(opts);
    const offsite = bucket ? await uploadOffsite(ctx, bucket, dir, manifest, opts.bucketKeep) : undefined;

    return {
      findings: offsite?.findings ?? [],
      data: {
        ...(offsite ? { offsite: offsite.data } : {}),
        dir,
        file: name,
        manifest,
        kept,
        deleted,
        removedLeftovers: [...before.partials, ...before.orphans],
        invalid: before.invalid,
      },
    };
  });
}
