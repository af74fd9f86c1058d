// The off-cluster copy against a real S3-compatible server (s3rver on loopback)
// with the real AWS SDK v3 client: multipart upload checked after upload,
// manifest last, retention, verified download, and each misconfiguration's error.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backupName, Manifest, MANIFEST_FORMAT, MANIFEST_SUFFIX } from '../../../src/jobs/backup-files';
import { BucketConfig, BucketError, ChecksumMismatchError, ObjectStore, partSizeFor } from '../../../src/jobs/object-store';
import { ACCESS_KEY, S3Server, SECRET_KEY } from './s3-harness';

let s3: S3Server;
let work: string;
const DB = 'appdb';
const never = new AbortController().signal;

const cfg = (over: Partial<BucketConfig> = {}): BucketConfig => ({
  endpoint: s3.endpoint, region: 'us-east-1', bucket: 'backups', prefix: 'aiaas/', forcePathStyle: true, ...over,
});
const env = (secret = SECRET_KEY): NodeJS.ProcessEnv => ({ AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: secret });

/** A local "backup": a file of random bytes and its manifest, as the backup task writes them. */
function localBackup(dir: string, at: Date, bytes: number): Manifest {
  const name = backupName(DB, at);
  const data = randomBytes(bytes);
  fs.writeFileSync(path.join(dir, name), data);
  const m: Manifest = {
    format: MANIFEST_FORMAT, file: name, database: DB, sizeBytes: bytes, sha256: createHash('sha256').update(data).digest('hex'),
    serverVersion: '15', pgDumpVersion: 'pg_dump 15', durationSeconds: 1, createdAt: at.toISOString(), rowCounts: { 'public.users': 3 },
  };
  fs.writeFileSync(path.join(dir, name + MANIFEST_SUFFIX), JSON.stringify(m));
  return m;
}

async function withStore<T>(f: (store: ObjectStore) => Promise<T>, over: Partial<BucketConfig> = {}, secret = SECRET_KEY): Promise<T> {
  const store = await ObjectStore.open(cfg(over), env(secret));
  try {
    return await f(store);
  } finally {
    store.close();
  }
}

beforeAll(async () => {
  s3 = await S3Server.start(['backups', 'other']);
});
afterAll(async () => {
  await s3?.stop();
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-objstore-'));
});
afterEach(async () => {
  fs.rmSync(work, { recursive: true, force: true });
  await withStore(async (store) => { await store.retention(DB, 1); }).catch(() => undefined);
  for (const b of ['backups', 'other']) fs.rmSync(path.join(s3.dir, b, 'aiaas'), { recursive: true, force: true });
});

test('part size stays within S3 limits of 10 000 parts of at least 5 MiB', () => {
  expect(partSizeFor(0)).toBe(8 * 1024 * 1024);
  expect(partSizeFor(100 * 1024 ** 3) * 10000).toBeGreaterThan(100 * 1024 ** 3);
});

test('a multipart upload is checked, listed complete only with its manifest, and downloads verified', async () => {
  const m = localBackup(work, new Date('2026-11-01T00:00:00Z'), 20 * 1024 * 1024 + 17); // 3 parts of 8 MiB
  const seen: string[] = [];
  s3.onRequest = (method, url) => { seen.push(`${method} ${url.split('?')[0]}`); };
  try {
    await withStore(async (store) => {
      await store.check();
      const up = await store.upload(work, m, never);
      expect(up.keys).toEqual([`aiaas/${m.file}`, `aiaas/${m.file}${MANIFEST_SUFFIX}`]);
      const st = await store.state(DB);
      expect(st.complete.map((c) => c.name)).toEqual([m.file]);
      expect(st.invalid).toEqual([]);
      const dl = path.join(work, 'dl');
      const got = await store.download(DB, dl, never);
      expect(got.entry.manifest.sha256).toBe(m.sha256);
      expect(createHash('sha256').update(fs.readFileSync(path.join(dl, m.file))).digest('hex')).toBe(m.sha256);
      expect(fs.readdirSync(dl).filter((n) => n.endsWith('.partial'))).toEqual([]);
    });
  } finally {
    s3.onRequest = () => undefined;
  }
  // multipart (3 parts), the read-back GET, and the manifest PUT strictly after the dump completed
  const dumpPuts = seen.filter((s) => s === `PUT /backups/aiaas/${m.file}`);
  expect(dumpPuts.length).toBe(3);
  const complete = seen.lastIndexOf(`POST /backups/aiaas/${m.file}`);
  const manifestPut = seen.indexOf(`PUT /backups/aiaas/${m.file}${MANIFEST_SUFFIX}`);
  expect(complete).toBeGreaterThan(-1);
  expect(manifestPut).toBeGreaterThan(complete);
});

test('a wrong secret key is named, and nothing is written', async () => {
  const m = localBackup(work, new Date('2026-11-01T00:00:00Z'), 1000);
  await expect(withStore((store) => store.check(), {}, 'not-the-secret')).rejects.toThrow(/secret access key is wrong.*AWS_SECRET_ACCESS_KEY/);
  await expect(withStore((store) => store.upload(work, m, never), {}, 'not-the-secret')).rejects.toThrow(BucketError);
  expect(await withStore((store) => store.state(DB))).toEqual({ complete: [], invalid: [], orphans: [] });
});

test('a missing bucket and missing credentials are clear errors', async () => {
  await expect(withStore((store) => store.check(), { bucket: 'no-such-bucket' })).rejects.toThrow(/bucket 'no-such-bucket' does not exist/);
  await expect(ObjectStore.open(cfg(), { AWS_ACCESS_KEY_ID: ACCESS_KEY })).rejects.toThrow(/AWS_SECRET_ACCESS_KEY not set/);
  await expect(withStore((store) => store.check(), { endpoint: 'http://127.0.0.1:1' })).rejects.toThrow(/unreachable|ECONNREFUSED/);
});

test('an object corrupted in the bucket is caught on download, and no copy is left to use', async () => {
  const m = localBackup(work, new Date('2026-11-01T00:00:00Z'), 64 * 1024);
  await withStore((store) => store.upload(work, m, never));
  const file = s3.objectFile('backups', `aiaas/${m.file}`);
  const bytes = fs.readFileSync(file);
  bytes[1000] ^= 0xff; // same size: only the checksum can tell
  fs.writeFileSync(file, bytes);
  const dl = path.join(work, 'dl');
  const err = await withStore((store) => store.download(DB, dl, never)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ChecksumMismatchError);
  expect((err as ChecksumMismatchError).file).toBe(`aiaas/${m.file}`);
  expect(fs.readdirSync(dl)).toEqual([]);
});

test('retention keeps the newest N good backups and never the newest good one', async () => {
  const ms = [1, 2, 3].map((d) => localBackup(work, new Date(`2026-11-0${d}T00:00:00Z`), 1000 + d));
  await withStore(async (store) => {
    for (const m of ms) await store.upload(work, m, never);
    // a newer backup whose dump is gone (manifest only) is not good: it does not count
    const broken = localBackup(work, new Date('2026-11-04T00:00:00Z'), 500);
    await store.upload(work, broken, never);
    fs.rmSync(s3.objectFile('backups', `aiaas/${broken.file}`));
    fs.rmSync(s3.objectFile('backups', `aiaas/${broken.file}`).replace(/object$/, 'metadata.json'), { force: true });
    fs.rmSync(s3.objectFile('backups', `aiaas/${broken.file}`).replace(/object$/, 'object.md5'), { force: true });

    const r = await store.retention(DB, 2);
    expect(r.deleted).toEqual([ms[0].file]);
    expect(r.kept).toEqual([ms[2].file, ms[1].file]);
    expect(r.invalid.map((i) => i.name)).toEqual([broken.file]);
    const one = await store.retention(DB, 0); // keep 0 still keeps the newest good one
    expect(one.kept).toEqual([ms[2].file]);
    const st = await store.state(DB);
    expect(st.complete.map((c) => c.name)).toEqual([ms[2].file]);
    expect(st.orphans).toEqual([]); // the deleted backups' dumps went with their manifests
    const dl = await store.download(DB, path.join(work, 'dl'), never);
    expect(dl.entry.name).toBe(ms[2].file);
    await expect(store.download(DB, path.join(work, 'dl2'), never, ms[0].file)).rejects.toThrow(/no good backup named/);
  });
});
