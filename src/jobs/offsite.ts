// The tasks' side of the off-cluster copy: `backup` uploads each finished backup
// and applies retention in the bucket; `restore-verify` (and `restore`) take a
// backup from the bucket, checked before use. A failed upload after a good local
// backup is a finding and a pushed metric (aiaas_backup_bucket_upload_ok 0), never
// a silent success; the local backup stays.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { BackupEntry, Manifest } from './backup-files';
import type { TaskContext } from './context';
import type { BUCKET_OPTIONS, OptionValues } from './contract';
import { BucketConfig, BucketState, ChecksumMismatchError, ObjectStore, where } from './object-store';
import type { Finding } from './report';

export { where as bucketWhere };

/** The bucket of a task's options (contract.ts BUCKET_OPTIONS), with the defaults its --help states. */
export function bucketConfigOf(o: OptionValues<typeof BUCKET_OPTIONS>): BucketConfig | undefined {
  if (!o.bucket) return undefined;
  return {
    bucket: o.bucket, endpoint: o.bucketEndpoint, region: o.bucketRegion ?? 'us-east-1', prefix: o.bucketPrefix ?? '',
    forcePathStyle: o.bucketPathStyle ?? false,
  };
}

function setNewest(ctx: TaskContext, state: Pick<BucketState, 'complete'>): void {
  ctx.metrics.set('aiaas_backup_bucket_complete_count', 'Good backups of the database in the bucket', state.complete.length);
  const newest = state.complete[0];
  if (newest) {
    ctx.metrics.set('aiaas_backup_bucket_newest_timestamp_seconds', 'Creation time of the newest good backup in the bucket',
      Date.parse(newest.manifest.createdAt) / 1000);
  }
}

/**
 * Uploads the backup just made and applies retention in the bucket. Returns findings
 * (upload failed) and data for the report; throws only when the run was stopped.
 */
export async function uploadOffsite(ctx: TaskContext, cfg: BucketConfig, dir: string, manifest: Manifest, keep: number)
  : Promise<{ findings: Finding[]; data: Record<string, unknown> }> {
  const m = ctx.metrics;
  const t0 = process.hrtime.bigint();
  let store: ObjectStore | undefined;
  try {
    store = await ObjectStore.open(cfg);
    ctx.log.info({ file: manifest.file, bucket: store.where() }, 'upload starting');
    await store.check();
    const up = await store.upload(dir, manifest, ctx.signal);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    ctx.log.info({ file: manifest.file, seconds, bytes: up.bytes }, 'upload complete and checked');
    const r = await store.retention(manifest.database, keep, manifest.file);
    for (const i of r.invalid) ctx.log.warn({ backup: i.name, reason: i.reason }, 'backup in the bucket is not good and not counted');
    m.set('aiaas_backup_bucket_upload_ok', '1 when the last backup was uploaded and checked, else 0', 1);
    m.set('aiaas_backup_bucket_upload_seconds', 'Duration of the last upload, read-back check included', seconds);
    setNewest(ctx, { complete: r.complete });
    return {
      findings: [],
      data: { bucket: store.where(), uploaded: up.keys, uploadSeconds: seconds, kept: r.kept, deleted: r.deleted, orphansRemoved: r.orphansRemoved, invalid: r.invalid },
    };
  } catch (e) {
    if (ctx.signal.aborted) throw e;
    const message = (e as Error).message;
    ctx.log.error({ file: manifest.file, error: message }, 'off-cluster copy failed; the local backup is complete');
    m.set('aiaas_backup_bucket_upload_ok', '1 when the last backup was uploaded and checked, else 0', 0);
    if (store) {
      // the newest good copy that is there, so that "off-cluster backup too old" still counts right
      await store.state(manifest.database).then((st: BucketState) => setNewest(ctx, st)).catch(() => undefined);
    }
    return {
      findings: [{ code: 'bucket_upload_failed', message: `${manifest.file} is complete on the volume, but its off-cluster copy failed: ${message}`, file: manifest.file }],
      data: { bucket: where(cfg) },
    };
  } finally {
    store?.close();
  }
}

/** Where a task downloads a backup from the bucket: per database, under the backup directory. */
export function downloadDir(dir: string, database: string): string {
  return path.join(dir, `.from-bucket-${database.replace(/[^A-Za-z0-9_-]/g, '_')}`);
}

export type Fetched =
  | { readonly kind: 'ok'; readonly entry: BackupEntry; readonly file: string; readonly cleanup: () => Promise<void> }
  | { readonly kind: 'finding'; readonly finding: Finding };

/**
 * The newest good backup of the database in the bucket (or `name`), downloaded and checked
 * against its manifest. A corrupted copy is a finding naming the object; a bucket that cannot
 * be read (credentials, missing bucket, unreachable) throws: the task could not do its work.
 */
export async function fetchFromBucket(ctx: TaskContext, cfg: BucketConfig, dir: string, name?: string): Promise<Fetched> {
  const database = ctx.config.connection.database;
  const target = downloadDir(dir, database);
  const cleanup = (): Promise<void> => fs.rm(target, { recursive: true, force: true });
  await cleanup(); // a download of an interrupted run
  const store = await ObjectStore.open(cfg);
  try {
    await store.check();
    const t0 = process.hrtime.bigint();
    const { entry, state } = await store.download(database, target, ctx.signal, name);
    setNewest(ctx, state);
    ctx.log.info({ file: entry.name, bucket: store.where(), seconds: Number(process.hrtime.bigint() - t0) / 1e9 }, 'downloaded from the bucket and checked');
    return { kind: 'ok', entry, file: path.join(target, entry.name), cleanup };
  } catch (e) {
    await cleanup();
    if (e instanceof ChecksumMismatchError) {
      return { kind: 'finding', finding: { code: 'backup_checksum_mismatch', message: `${e.message} (in ${store.where()})`, file: e.file } };
    }
    throw e;
  } finally {
    store.close();
  }
}
