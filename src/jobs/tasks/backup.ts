// backup: pg_dump -Fc streamed to `<dir>/.<name>.<server>.partial` while its
// sha256 is computed (or, with --format directory, `pg_dump -Fd --jobs N` writing
// that partial as a directory, each file then hashed and fsynced), fsync, write `<name>.manifest.json` (durably), rename the
// dump to `<name>`, fsync the directory: the rename makes the backup complete in
// one step. Row counts of chosen tables are taken in the very snapshot pg_dump
// uses (exported snapshot), for restore-verify and restore to compare. Locks are
// waited for at most `--lock-wait-timeout-ms` (pg_dump's --lock-wait-timeout),
// then the run fails naming the table. Retention keeps the newest `keep` complete
// backups of this server and database. On any failure (signal, lost server, full
// disk) the partial file is removed and earlier backups are untouched.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Pool, PoolClient } from 'pg';
import {
  BackupFile, backupName, BackupEntry, forDatabase, hashTree, fsyncPath, Manifest, MANIFEST_FORMAT, MANIFEST_SUFFIX, partialName, partialsOf, planRetention,
  readDir, removeQuietly, serverTag, writeFileDurable,
} from '../backup-files';
import { Running, runPg, versionOf } from '../child';
import type { ConnectionConfig } from '../config';
import type { BackupFormat } from '../contract';
import { num, TaskContext, throwIfAborted } from '../context';
import { childEnv, quoteQualified, withAdvisoryLock, withClient } from '../db';
import type { Logger } from '../logger';
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

/** Thrown when a lock was not granted within the bound; names the table and who holds it. */
export class LockWaitTimeoutError extends Error {}

export interface DumpRequest {
  readonly conn: ConnectionConfig;
  readonly dir: string;
  readonly countTables: readonly string[];
  readonly lockWaitTimeoutMs: number;
  /** pg_dump format, parallel jobs (directory format) and gzip level. @default custom, 1 job, level 1 */
  readonly format?: BackupFormat;
  readonly jobs?: number;
  readonly compress?: number;
  readonly signal: AbortSignal;
  readonly log: Logger;
}

export interface DumpResult {
  readonly name: string;
  readonly manifest: Manifest;
  /** Tables to count that do not exist (also in the manifest's missingTables). */
  readonly warnings: string[];
}

/** Who holds an ACCESS EXCLUSIVE lock on a table of this database, as text for a message. */
async function lockHolders(client: PoolClient, tables?: string[]): Promise<string> {
  const { rows } = await client.query<{ rel: string; pid: number; app: string; state: string }>(
    `SELECT l.relation::regclass::text AS rel, l.pid, a.application_name AS app, a.state
       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'relation' AND l.granted AND l.mode = 'AccessExclusiveLock'
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.pid <> pg_backend_pid()
      ORDER BY 1`);
  const relevant = tables ? rows.filter((r) => tables.some((t) => t === r.rel || qualifiedKey(r.rel) === t)) : rows;
  return (relevant.length > 0 ? relevant : rows)
    .map((r) => `${qualifiedKey(r.rel)} (held by pid ${r.pid}${r.app ? ` '${r.app}'` : ''}${r.state ? `, ${r.state}` : ''})`)
    .join(', ');
}

/** Tables named in pg_dump's failed `LOCK TABLE a, b IN ACCESS SHARE MODE`, if its message shows it. */
function tablesOfLockQuery(message: string): string[] | undefined {
  const m = /LOCK TABLE (?:ONLY )?(.+?) IN ACCESS SHARE MODE/.exec(message);
  return m ? m[1].split(/,\s*(?:ONLY )?/).map((t) => t.replace(/"/g, '')) : undefined;
}

/**
 * One backup of `conn.database` into `dir`: the dump streamed to a partial file,
 * the manifest, the rename. Used by `backup` and by `restore --force` (safety backup).
 */
export async function dumpDatabase(pool: Pool, req: DumpRequest): Promise<DumpResult> {
  const { conn, dir, signal, log } = req;
  const server = serverTag(conn.host, conn.port);
  const started = new Date();
  const t0 = process.hrtime.bigint();
  const name = backupName(conn.database, started);
  const finalPath = path.join(dir, name);
  const partialPath = path.join(dir, partialName(name, server));
  const manifestPath = path.join(dir, name + MANIFEST_SUFFIX);
  const pgDumpVersion = versionOf('pg_dump'); // in parallel with the dump
  const lockWait = `${req.lockWaitTimeoutMs}ms`;

  return withClient(pool, async (snap) => {
    await snap.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      // the counts wait for locks no longer than pg_dump does
      const { rows: [{ snapshot, version }] } = await snap.query(
        `SELECT pg_export_snapshot() AS snapshot, current_setting('server_version') AS version, set_config('lock_timeout', $1, true)`,
        [lockWait]);
      const rowCounts: Record<string, number> = {};
      const missingTables: string[] = [];
      for (const t of req.countTables) {
        const key = qualifiedKey(t);
        const { rows: [{ exists }] } = await snap.query('SELECT to_regclass($1) IS NOT NULL AS exists', [key]);
        if (!exists) {
          missingTables.push(key);
          continue;
        }
        try {
          const { rows: [{ n }] } = await snap.query(`SELECT count(*) AS n FROM ${quoteQualified(snap, key)}`);
          rowCounts[key] = num(n) ?? 0;
        } catch (e) {
          if ((e as { code?: string }).code !== '55P03') throw e;
          await snap.query('ROLLBACK');
          await snap.query('BEGIN');
          throw new LockWaitTimeoutError(`table ${key} to count was not lockable within ${req.lockWaitTimeoutMs} ms `
            + `(--lock-wait-timeout-ms): ${await lockHolders(snap, [key]) || `${key} is locked`}`);
        }
      }
      const warnings = missingTables.map((t) => `table ${t} to count (--count-tables) does not exist; its row count is not in the manifest`);

      log.info({ file: name }, 'backup starting');
      const common = [`--snapshot=${snapshot}`, `--lock-wait-timeout=${req.lockWaitTimeoutMs}`, `--compress=${req.compress ?? 1}`, '--no-password'];
      const directory = req.format === 'directory';
      // the directory format: pg_dump writes the partial directory itself (one file per table, --jobs
      // workers in the same snapshot), hashed file by file once pg_dump has succeeded
      const dump = directory
        ? runPg('pg_dump', ['--format=directory', `--jobs=${req.jobs ?? 1}`, ...common, `--file=${partialPath}`], childEnv(conn), signal)
        : runPg('pg_dump', ['--format=custom', ...common], childEnv(conn), signal, 'pipe');
      try {
        let written: { sizeBytes: number; sha256: string; files?: BackupFile[] };
        try {
          if (directory) {
            await dump.done;
            written = await hashTree(partialPath, name);
          } else {
            written = await streamToFile(dump, partialPath);
          }
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          if (!signal.aborted && /lock timeout|statement timeout|could not obtain lock/i.test(message)) {
            const holders = await lockHolders(snap, tablesOfLockQuery(message)).catch(() => '');
            throw new LockWaitTimeoutError(`pg_dump could not lock ${holders || 'a table'} within ${req.lockWaitTimeoutMs} ms `
              + '(--lock-wait-timeout-ms); nothing was written');
          }
          throw e;
        }
        throwIfAborted(signal);
        const manifest: Manifest = {
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
          missingTables,
          server,
          ...(written.files ? { files: written.files } : {}),
        };
        // manifest first: until the rename below, the backup is "dump file missing", never complete
        await writeFileDurable(dir, name + MANIFEST_SUFFIX, `${JSON.stringify(manifest, null, 2)}\n`, server);
        await fs.rename(partialPath, finalPath);
        await fsyncPath(dir);
        return { name, manifest, warnings };
      } catch (e) {
        dump.kill();
        await dump.done.catch(() => undefined);
        await removeQuietly(partialPath);
        await removeQuietly(finalPath);
        await removeQuietly(manifestPath);
        await removeQuietly(path.join(dir, partialName(name + MANIFEST_SUFFIX, server)));
        throwIfAborted(signal); // the cause (signal, lost server) rather than pg_dump's exit
        throw e;
      }
    } finally {
      await snap.query('COMMIT').catch(() => undefined);
    }
  });
}

/** Backups this run may delete or clean up after: its own server's, and those of earlier versions (no server). */
function ownedBy(server: string): (e: { manifest?: Manifest }) => boolean {
  return (e) => e.manifest?.server === undefined || e.manifest.server === server;
}

export async function backup(ctx: TaskContext<'backup'>): Promise<TaskResult> {
  const opts = ctx.config.options;
  const conn = ctx.config.connection;
  const dir = path.resolve(opts.dir);
  const server = serverTag(conn.host, conn.port);
  await fs.mkdir(dir, { recursive: true });

  return withAdvisoryLock(ctx.pool, `aiaas-job:backup:${conn.database}`, ctx.log, async () => {
    // Leftovers of interrupted runs of this server and database: this run holds the
    // server's lock for the database, so none of them is in progress. Another
    // server's run may be writing into the same directory: its files are left alone.
    const before = forDatabase(await readDir(dir), conn.database);
    const strayManifests = before.invalid.filter((i) => i.reason === 'dump file missing' && i.manifest?.server === server);
    const leftovers = [...partialsOf(before.partials, server), ...before.orphans];
    for (const n of leftovers) {
      await removeQuietly(path.join(dir, n));
      ctx.log.warn({ file: n }, 'removed leftover of an interrupted backup');
    }
    for (const i of strayManifests) {
      await removeQuietly(path.join(dir, i.name + MANIFEST_SUFFIX));
      ctx.log.warn({ file: i.name + MANIFEST_SUFFIX }, 'removed manifest of an interrupted backup');
    }
    for (const i of before.invalid.filter((x) => !strayManifests.includes(x))) {
      ctx.log.warn({ file: i.name, reason: i.reason }, 'backup with an invalid manifest is not counted');
    }
    throwIfAborted(ctx.signal);

    const { name, manifest, warnings } = await dumpDatabase(ctx.pool, {
      conn, dir, countTables: opts.countTables, lockWaitTimeoutMs: opts.lockWaitTimeoutMs, signal: ctx.signal, log: ctx.log,
      format: opts.format, jobs: opts.jobs, compress: opts.compress,
    });
    ctx.log.info({ file: name, sizeBytes: manifest.sizeBytes, seconds: manifest.durationSeconds }, 'backup complete');

    // retention, only after a new complete backup exists, among this server's backups
    const after = forDatabase(await readDir(dir), conn.database);
    const mine: BackupEntry[] = after.complete.filter(ownedBy(server));
    const deleted: string[] = [];
    for (const old of planRetention(mine, opts.keep)) {
      if (old.name === name) continue; // belt and braces: never the one just made
      await removeQuietly(path.join(dir, old.name + MANIFEST_SUFFIX)); // manifest first: no longer complete
      await removeQuietly(path.join(dir, old.name));
      deleted.push(old.name);
    }
    if (deleted.length > 0) await fsyncPath(dir);
    const kept = mine.filter((c) => !deleted.includes(c.name)).map((c) => c.name);

    const m = ctx.metrics;
    m.set('aiaas_backup_size_bytes', 'Size of the last backup file', manifest.sizeBytes);
    m.set('aiaas_backup_duration_seconds', 'Duration of the last pg_dump', manifest.durationSeconds);
    m.set('aiaas_backup_throughput_bytes_per_second', 'Backup bytes written per second', manifest.sizeBytes / Math.max(manifest.durationSeconds, 1e-3));
    m.set('aiaas_backup_complete_count', 'Complete backups in the backup directory after retention', kept.length);
    m.set('aiaas_backup_last_complete_timestamp_seconds', 'Creation time of the newest complete backup', Date.parse(manifest.createdAt) / 1000);

    // the off-cluster copy, once the local backup is complete (a failure there is a finding, not an error)
    const bucket = bucketConfigOf(opts);
    const offsite = bucket ? await uploadOffsite(ctx, bucket, dir, manifest, opts.bucketKeep) : undefined;

    return {
      findings: offsite?.findings ?? [],
      warnings,
      data: {
        ...(offsite ? { offsite: offsite.data } : {}),
        dir,
        file: name,
        manifest,
        kept,
        deleted,
        removedLeftovers: [...leftovers, ...strayManifests.map((i) => i.name + MANIFEST_SUFFIX)],
        invalid: before.invalid.filter((x) => !strayManifests.includes(x)).map(({ name: n, reason }) => ({ name: n, reason })),
      },
    };
  });
}
