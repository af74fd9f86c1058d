// Off-cluster copies of backups in an S3-compatible bucket (AWS S3, GCS's S3
// interoperability, MinIO, Ceph RGW), the way pgBackRest and barman-cloud keep them:
// - every file of a backup is uploaded with a streamed multipart upload (a few
//   parts in memory, whatever the size), then read back and its sha256 compared
//   with the manifest's; the manifest goes last, so a listing never shows a
//   dump without its manifest, and a backup counts only when every file it
//   names is there with the size it records;
// - retention keeps the newest `keep` good backups and never the newest good one;
// - a download is written to `.<name>.partial` and checked before it is renamed.
// Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (a Secret in the
// cluster) only: no instance-metadata lookups that would hang behind a NetworkPolicy.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  backupPrefix, BackupEntry, DUMP_SUFFIX, filesOf, fsyncPath, isManifest, Manifest, MANIFEST_SUFFIX, newestFirst, partialName, planRetention,
  removeQuietly,
} from './backup-files';
import { addSecret } from './redact';

export interface BucketConfig {
  /** http(s) URL of the S3 API; undefined: AWS S3 of `region`. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix of this platform's backups, '' or ending in '/'. */
  readonly prefix: string;
  /** `https://endpoint/bucket/key` instead of `https://bucket.endpoint/key` (MinIO, Ceph RGW). */
  readonly forcePathStyle: boolean;
}

/** A problem with the bucket itself: wrong credentials, no bucket, no permission, unreachable. */
export class BucketError extends Error {}

/** The downloaded (or uploaded) copy does not match its manifest. */
export class ChecksumMismatchError extends Error {
  public constructor(public readonly file: string, public readonly expected: string, public readonly actual: string) {
    super(`${file}: sha256 ${actual} differs from the manifest's ${expected}: the copy is corrupted`);
  }
}

export interface BucketState {
  /** Good backups (manifest readable, every file present with its size), newest first. */
  readonly complete: BackupEntry[];
  /** Backups that are not good, with the reason (e.g. a file missing or of another size). */
  readonly invalid: { name: string; reason: string }[];
  /** Objects of this database that belong to no manifest (an upload that stopped before its manifest). */
  readonly orphans: { key: string; lastModified?: Date }[];
}

const MiB = 1024 * 1024;
/** S3 allows 10 000 parts of at least 5 MiB; 8 MiB parts, larger for files over ~78 GiB. */
export function partSizeFor(sizeBytes: number): number {
  return Math.max(8 * MiB, Math.ceil(sizeBytes / 9000 / MiB) * MiB);
}
/** Parts in flight at once: memory is about partSize x (queueSize + 1). */
const QUEUE_SIZE = 2;
/** Orphans younger than this may be another server's upload in progress. */
const ORPHAN_GRACE_MS = 24 * 3600 * 1000;

export function where(cfg: BucketConfig): string {
  return `s3://${cfg.bucket}/${cfg.prefix}${cfg.endpoint ? ` at ${cfg.endpoint}` : ''}`;
}

/** A readable sentence for the failures an operator can fix; the SDK's message otherwise. */
export function describeS3Error(e: unknown, cfg: BucketConfig, doing: string): BucketError {
  const err = e as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number }; code?: string };
  const code = err.name ?? err.Code ?? '';
  const status = err.$metadata?.httpStatusCode;
  const at = where(cfg);
  let why: string;
  if (code === 'NoSuchBucket') {
    why = `bucket '${cfg.bucket}' does not exist (create it, or fix the bucket name in the config)`;
  } else if (code === 'SignatureDoesNotMatch') {
    why = 'the secret access key is wrong (SignatureDoesNotMatch): check AWS_SECRET_ACCESS_KEY in the Secret';
  } else if (code === 'InvalidAccessKeyId') {
    why = 'the access key id is not known to the server (InvalidAccessKeyId): check AWS_ACCESS_KEY_ID in the Secret';
  } else if (code === 'AccessDenied' || status === 403) {
    why = `access denied (${code || 403}): the key needs s3:PutObject, GetObject, ListBucket and DeleteObject on the prefix`;
  } else if (['ECONNREFUSED', 'ENOTFOUND', 'ETIMEDOUT', 'ECONNRESET', 'EAI_AGAIN'].includes(err.code ?? code)) {
    why = `endpoint unreachable (${err.code ?? code}): check the endpoint and the egress rule`;
  } else {
    why = `${code || 'error'}${status ? ` (HTTP ${status})` : ''}: ${err.message ?? String(e)}`;
  }
  return new BucketError(`${doing} ${at}: ${why}`);
}

/** Credentials from the environment (the Secret), with a clear error naming what is missing. */
export function credentialsFromEnv(env: NodeJS.ProcessEnv = process.env): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new BucketError(`bucket credentials missing: ${missing.join(' and ')} not set (the CronJob takes them from the Secret named in backup.bucket.credentialsSecret)`);
  }
  addSecret(env.AWS_SECRET_ACCESS_KEY);
  addSecret(env.AWS_SESSION_TOKEN);
  return { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!, sessionToken: env.AWS_SESSION_TOKEN || undefined };
}

type S3 = typeof import('@aws-sdk/client-s3');

export class ObjectStore {
  /**
   * The SDK is loaded only when a bucket is configured: tasks without one start as fast as before.
   * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED`: the job image runs Node 20 with an SDK
   * version that supports it, and its stderr carries JSON lines only.
   */
  public static async open(cfg: BucketConfig, env: NodeJS.ProcessEnv = process.env): Promise<ObjectStore> {
    const credentials = credentialsFromEnv(env);
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    const client = new sdk.S3Client({
      endpoint: cfg.endpoint,
      region: cfg.region,
      forcePathStyle: cfg.forcePathStyle,
      credentials,
      // the SDK's default CRC trailers (aws-chunked bodies) are not understood by GCS and older
      // S3-compatible servers; integrity is checked end to end with the manifest's sha256 instead
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    return new ObjectStore(cfg, client, sdk);
  }

  private constructor(public readonly cfg: BucketConfig, private readonly client: S3Client, private readonly sdk: S3) {}

  public close(): void {
    this.client.destroy();
  }

  public key(rel: string): string {
    return `${this.cfg.prefix}${rel}`;
  }

  public where(): string {
    return where(this.cfg);
  }

  private async call<T>(doing: string, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      if (e instanceof BucketError || e instanceof ChecksumMismatchError) throw e;
      throw describeS3Error(e, this.cfg, doing);
    }
  }

  /**
   * Fails early, with a clear error, on a wrong key, a missing bucket or an unreachable endpoint.
   * A listing rather than HeadBucket: a HEAD response has no body, so a wrong secret would be a bare 403.
   */
  public async check(): Promise<void> {
    // an empty listing (a prefix no object has): checks bucket and keys at the cost of one small request
    await this.call('checking bucket', () => this.client.send(new this.sdk.ListObjectsV2Command({
      Bucket: this.cfg.bucket, Prefix: `${this.cfg.prefix}.aiaas-check/`, MaxKeys: 1,
    })));
  }

  private async listKeys(prefix: string): Promise<{ key: string; size: number; lastModified?: Date }[]> {
    const out: { key: string; size: number; lastModified?: Date }[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('listing', () => this.client.send(new this.sdk.ListObjectsV2Command({
        Bucket: this.cfg.bucket, Prefix: prefix, ContinuationToken: token,
      })));
      for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, lastModified: o.LastModified });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async getText(key: string): Promise<string> {
    const res = await this.call(`reading ${key} from`, () => this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.cfg.bucket, Key: key })));
    return res.Body!.transformToString('utf8');
  }

  /** The backups of one database in the bucket. */
  public async state(database: string): Promise<BucketState> {
    const objects = await this.listKeys(this.key(backupPrefix(database)));
    const byKey = new Map(objects.map((o) => [o.key, o]));
    const complete: BackupEntry[] = [];
    const invalid: { name: string; reason: string }[] = [];
    const owned = new Set<string>();
    for (const o of objects.filter((x) => x.key.endsWith(DUMP_SUFFIX + MANIFEST_SUFFIX))) {
      const name = o.key.slice(this.cfg.prefix.length, -MANIFEST_SUFFIX.length);
      owned.add(o.key);
      let manifest: unknown;
      try {
        manifest = JSON.parse(await this.getText(o.key));
      } catch (e) {
        if (e instanceof BucketError) throw e;
        invalid.push({ name, reason: 'manifest unreadable' });
        continue;
      }
      if (!isManifest(manifest) || manifest.file !== name || manifest.database !== database) {
        invalid.push({ name, reason: 'manifest malformed' });
        continue;
      }
      const problems: string[] = [];
      for (const f of filesOf(manifest)) {
        const obj = byKey.get(this.key(f.path));
        owned.add(this.key(f.path));
        if (!obj) problems.push(`${f.path} missing`);
        else if (obj.size !== f.sizeBytes) problems.push(`${f.path} has ${obj.size} bytes, manifest ${f.sizeBytes}`);
      }
      if (problems.length > 0) invalid.push({ name, reason: problems.join('; ') });
      else complete.push({ name, manifest });
    }
    complete.sort(newestFirst);
    const orphans = objects.filter((o) => !owned.has(o.key)).map((o) => ({ key: o.key, lastModified: o.lastModified }));
    return { complete, invalid, orphans };
  }

  /** Streams a local file into `key` (multipart), then checks size and sha256 of what the bucket holds. */
  private async putFile(localPath: string, key: string, expected: { sizeBytes: number; sha256: string }, signal: AbortSignal): Promise<void> {
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.cfg.bucket, Key: key, Body: createReadStream(localPath, { highWaterMark: MiB }) },
      partSize: partSizeFor(expected.sizeBytes),
      queueSize: QUEUE_SIZE,
      leavePartsOnError: false, // a failed upload aborts its multipart upload: no parts billed forever
    });
    const abort = (): void => { void upload.abort(); };
    signal.addEventListener('abort', abort, { once: true });
    try {
      await this.call(`uploading ${key} to`, () => upload.done());
    } finally {
      signal.removeEventListener('abort', abort);
    }
    const actual = await this.hashObject(key);
    if (actual.sizeBytes !== expected.sizeBytes || actual.sha256 !== expected.sha256) {
      throw new ChecksumMismatchError(key, expected.sha256, `${actual.sha256} (${actual.sizeBytes} bytes)`);
    }
  }

  /** sha256 and size of an object, streamed: the bucket's copy, not what was sent. */
  private async hashObject(key: string, sink?: NodeJS.WritableStream): Promise<{ sha256: string; sizeBytes: number }> {
    const res = await this.call(`reading ${key} from`, () => this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.cfg.bucket, Key: key })));
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, sink ? chunk : undefined);
      },
    });
    const body = res.Body as Readable;
    await this.call(`reading ${key} from`, () => (sink ? pipeline(body, tap, sink) : pipeline(body, tap, async (src) => {
      for await (const _ of src) { /* drained */ }
    })));
    return { sha256: hash.digest('hex'), sizeBytes: size };
  }

  /**
   * Uploads a complete local backup (its files, then its manifest). On failure, the objects this call
   * wrote are removed, so that nothing half-uploaded looks like a backup.
   */
  public async upload(dir: string, manifest: Manifest, signal: AbortSignal): Promise<{ keys: string[]; bytes: number }> {
    const keys: string[] = [];
    let bytes = 0;
    try {
      for (const f of filesOf(manifest)) {
        const key = this.key(f.path);
        keys.push(key);
        await this.putFile(path.join(dir, f.path), key, f, signal);
        bytes += f.sizeBytes;
      }
      const mkey = this.key(manifest.file + MANIFEST_SUFFIX);
      keys.push(mkey);
      await this.call(`uploading ${mkey} to`, () => this.client.send(new this.sdk.PutObjectCommand({
        Bucket: this.cfg.bucket, Key: mkey, Body: `${JSON.stringify(manifest, null, 2)}\n`, ContentType: 'application/json',
      })));
      return { keys, bytes };
    } catch (e) {
      await this.deleteKeys([...keys].reverse()).catch(() => undefined);
      throw e;
    }
  }

  private async deleteKeys(keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.call(`deleting ${key} from`, () => this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.cfg.bucket, Key: key })));
    }
  }

  /**
   * Keeps the newest `keep` good backups of a database (never fewer than one, never `protect`);
   * removes orphans older than a day. Manifests go first: a backup stops counting before its files go.
   */
  public async retention(database: string, keep: number, protect?: string)
    : Promise<{ deleted: string[]; kept: string[]; complete: BackupEntry[]; orphansRemoved: string[]; invalid: { name: string; reason: string }[] }> {
    const st = await this.state(database);
    const deleted: string[] = [];
    for (const old of planRetention(st.complete, keep)) {
      if (old.name === protect) continue;
      await this.deleteKeys([this.key(old.name + MANIFEST_SUFFIX), ...filesOf(old.manifest).map((f) => this.key(f.path))]);
      deleted.push(old.name);
    }
    const now = Date.now();
    const stale = st.orphans.filter((o) => o.lastModified && now - o.lastModified.getTime() > ORPHAN_GRACE_MS).map((o) => o.key);
    await this.deleteKeys(stale);
    const complete = st.complete.filter((c) => !deleted.includes(c.name));
    return { deleted, kept: complete.map((c) => c.name), complete, orphansRemoved: stale, invalid: st.invalid };
  }

  /**
   * Downloads a backup (the newest good one, or `name`) into `dir`, each file through
   * `.<file>.partial` with its sha256 checked before the rename. Throws ChecksumMismatchError
   * naming the corrupted object; the caller reports it (and never falls back to an older backup).
   */
  public async download(database: string, dir: string, signal: AbortSignal, name?: string): Promise<{ entry: BackupEntry; state: BucketState }> {
    const st = await this.state(database);
    const entry = name ? st.complete.find((c) => c.name === name) : st.complete[0];
    if (!entry) {
      const bad = st.invalid.find((i) => i.name === name);
      throw new BucketError(name
        ? `no good backup named ${name} in ${this.where()}${bad ? ` (${bad.reason})` : ''}`
        : `no good backup of "${database}" in ${this.where()}`);
    }
    await fs.mkdir(dir, { recursive: true });
    for (const f of filesOf(entry.manifest)) {
      if (signal.aborted) throw new Error('stopped by signal before the work was done');
      const target = path.join(dir, f.path);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const partial = path.join(path.dirname(target), partialName(path.basename(target), 'download'));
      try {
        const got = await this.hashObject(this.key(f.path), createWriteStream(partial, { mode: 0o600 }));
        if (got.sha256 !== f.sha256 || got.sizeBytes !== f.sizeBytes) {
          throw new ChecksumMismatchError(this.key(f.path), f.sha256, got.sha256);
        }
        await fsyncPath(partial, 'r+');
        await fs.rename(partial, target);
      } catch (e) {
        await removeQuietly(partial);
        throw e;
      }
    }
    await fs.writeFile(path.join(dir, entry.name + MANIFEST_SUFFIX), `${JSON.stringify(entry.manifest, null, 2)}\n`, { mode: 0o600 });
    return { entry, state: st };
  }
}
