// backup and restore-verify with the off-cluster copy, against real PostgreSQL and a
// real S3-compatible server (s3rver on loopback) with the real AWS SDK: upload after
// the local backup, retention on both sides, an upload killed halfway, a wrong secret
// key, a missing bucket, and an object corrupted in the bucket.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ensureBundle, expectContract, PgCluster, runCli, startCli, TempDirs } from './pg-harness';
import { S3Server } from './s3-harness';

jest.setTimeout(180000);

let pg: PgCluster;
let s3: S3Server;
const PREFIX = 'aiaas/';

const tmp = new TempDirs('aiaas-offsite-');
const tmpDir = tmp.make;

/** Keys in the bucket under the prefix (what a listing shows), from s3rver's store. */
function bucketKeys(bucket = 'backups'): string[] {
  const root = path.join(s3.dir, bucket);
  const out: string[] = [];
  const walk = (d: string, rel: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}${e.name}/`);
      else if (e.name.endsWith('._S3rver_object')) out.push(rel + e.name.slice(0, -'._S3rver_object'.length));
    }
  };
  if (fs.existsSync(root)) walk(root, '');
  return out.filter((k) => k.startsWith(PREFIX) && !k.startsWith('.')).sort();
}
const manifestsIn = (keys: string[]): string[] => keys.filter((k) => k.endsWith('.manifest.json'));
const localManifests = (d: string): string[] => fs.readdirSync(d).filter((n) => n.endsWith('.manifest.json')).sort();

/** A pushgateway stand-in that records the pushed bodies. */
async function withPushgateway<T>(f: (url: string) => Promise<T>): Promise<{ result: T; pushed: string }> {
  let pushed = '';
  const server = http.createServer((req, res) => {
    req.on('data', (d) => { pushed += d; });
    req.on('end', () => res.writeHead(200).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const result = await f(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return { result, pushed };
  } finally {
    server.close();
  }
}

const env = (over: Record<string, string> = {}, database?: string): Record<string, string> =>
  pg.env(undefined, { ...s3.env(), ...(database ? { PGDATABASE: database } : {}), ...over });

/** Two backups of the database, uploaded; their names, oldest first. */
async function twoBackups(dir: string): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < 2; i++) {
    const res = await runCli(['backup', '--dir', dir], env());
    expectContract(res, pg.password, 0);
    names.push(res.report.data.file);
  }
  return names;
}

/** Flips one byte in the middle of a backup's object in the bucket. */
function corruptInBucket(name: string): void {
  const obj = path.join(s3.dir, 'backups', PREFIX, `${name}._S3rver_object`);
  const bytes = fs.readFileSync(obj);
  bytes[Math.floor(bytes.length / 2)] ^= 0xff;
  fs.writeFileSync(obj, bytes);
}

beforeAll(async () => {
  ensureBundle();
  [pg, s3] = await Promise.all([PgCluster.start(), S3Server.start(['backups'])]);
  await pg.primary.query(`
    CREATE TABLE users (id int PRIMARY KEY, name text);
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g;
  `, [], pg.database);
  // a database whose dump is several multipart parts (8 MiB each), to kill an upload halfway
  await pg.primary.query('CREATE DATABASE big OWNER aiaas_ops');
  await pg.primary.query(`
    CREATE TABLE users (id int PRIMARY KEY, a text, b text);
    INSERT INTO users SELECT g, md5(g::text) || md5((g * 3)::text), md5((g * 7)::text) || md5((g * 11)::text) FROM generate_series(1, 400000) g;
  `, [], 'big');
});

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop()]);
  tmp.removeAll();
});

afterEach(() => {
  s3.onRequest = () => undefined;
  fs.rmSync(path.join(s3.dir, 'backups', 'aiaas'), { recursive: true, force: true });
});

test('backup uploads the finished backup (manifest last), pushes its metrics, and restore-verify --from-bucket verifies it', async () => {
  const dir = tmpDir();
  const { result: res, pushed } = await withPushgateway((url) => runCli(['backup', '--dir', dir], env({ PUSHGATEWAY_URL: url })));
  expectContract(res, pg.password, 0);
  const name = res.report.data.file as string;
  expect(bucketKeys()).toEqual([`${PREFIX}${name}`, `${PREFIX}${name}.manifest.json`]);
  expect(fs.readFileSync(path.join(s3.dir, 'backups', PREFIX, `${name}._S3rver_object`)))
    .toEqual(fs.readFileSync(path.join(dir, name)));
  expect(res.report.data.offsite).toEqual(expect.objectContaining({ uploaded: [`${PREFIX}${name}`, `${PREFIX}${name}.manifest.json`], kept: [name] }));
  expect(pushed).toMatch(/^aiaas_backup_bucket_upload_ok 1$/m);
  expect(pushed).toMatch(/^aiaas_backup_bucket_newest_timestamp_seconds \d+/m);

  // restore-verify from the bucket, into an empty directory: nothing on the volume is used
  const elsewhere = tmpDir();
  const rv = await runCli(['restore-verify', '--dir', elsewhere, '--from-bucket', 'true'], env());
  expectContract(rv, pg.password, 0);
  expect(rv.report.data).toEqual(expect.objectContaining({ file: name, bucket: expect.stringContaining('s3://backups/aiaas/') }));
  expect(rv.report.data.tables).toEqual([expect.objectContaining({ table: 'public.users', restored: 1000, expected: 1000 })]);
  expect(fs.readdirSync(elsewhere)).toEqual([]); // the download is removed after use
});

test('retention applies to the volume and to the bucket, each keeping its newest good backups', async () => {
  const dir = tmpDir();
  const names: string[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await runCli(['backup', '--dir', dir, '--keep', '2', '--bucket-keep', '3'], env());
    expectContract(res, pg.password, 0);
    names.push(res.report.data.file);
  }
  expect(localManifests(dir)).toEqual(names.slice(2).map((n) => `${n}.manifest.json`));
  expect(manifestsIn(bucketKeys())).toEqual(names.slice(1).map((n) => `${PREFIX}${n}.manifest.json`));
  expect(bucketKeys()).toHaveLength(6); // no dump left without its manifest

  // a named older backup from the bucket
  const rv = await runCli(['restore-verify', '--dir', tmpDir(), '--from-bucket', 'true', '--backup', names[1]], env());
  expectContract(rv, pg.password, 0);
  expect(rv.report.data.file).toBe(names[1]);
});

test('an upload killed halfway leaves nothing that looks like a backup in the bucket, and the next run succeeds', async () => {
  const dir = tmpDir();
  const first = await runCli(['backup', '--dir', dir], env({}, 'big'));
  expectContract(first, pg.password, 0);
  const before = bucketKeys();
  expect(before).toHaveLength(2);

  const run = startCli(['backup', '--dir', dir], env({}, 'big'));
  let killed = false;
  s3.onRequest = (method, url) => {
    // the second part of the multipart upload: part 1 is stored, the upload is not complete
    if (!killed && method === 'PUT' && /[?&]partNumber=2(&|$)/.test(url)) {
      killed = true;
      run.kill('SIGKILL');
    }
  };
  const res = await run.done;
  expect(killed).toBe(true);
  expect(res.signal).toBe('SIGKILL');
  expect(bucketKeys()).toEqual(before); // no new manifest, no dump without one

  const again = await runCli(['backup', '--dir', dir, '--bucket-keep', '2'], env({}, 'big'));
  expectContract(again, pg.password, 0);
  expect(manifestsIn(bucketKeys())).toEqual([...manifestsIn(before), `${PREFIX}${again.report.data.file}.manifest.json`].sort());
});

test('a wrong secret key: the local backup is complete, the failed upload is a finding and a pushed metric', async () => {
  const dir = tmpDir();
  const secret = 'wrong-secret-key-0123456789';
  const { result: res, pushed } = await withPushgateway((url) => runCli(['backup', '--dir', dir],
    env({ PUSHGATEWAY_URL: url, AWS_SECRET_ACCESS_KEY: secret })));
  expectContract(res, pg.password, 1);
  expect(res.report.findings).toEqual([expect.objectContaining({
    code: 'bucket_upload_failed', file: res.report.data.file, message: expect.stringMatching(/secret access key is wrong/),
  })]);
  expect(localManifests(dir)).toEqual([`${res.report.data.file}.manifest.json`]);
  expect(bucketKeys()).toEqual([]);
  expect(pushed).toMatch(/^aiaas_backup_bucket_upload_ok 0$/m);
  expect(res.stdout + res.stderr).not.toContain(secret);
});

test('a missing bucket and missing credentials are clear errors', async () => {
  const res = await runCli(['backup', '--dir', tmpDir()], env({ BACKUP_BUCKET: 'no-such-bucket' }));
  expectContract(res, pg.password, 1);
  expect(res.report.findings[0].message).toMatch(/bucket 'no-such-bucket' does not exist/);

  const noKey = await runCli(['backup', '--dir', tmpDir()], { ...env(), AWS_SECRET_ACCESS_KEY: '' });
  expect([2, 64]).toContain(noKey.code);
  expect(noKey.stderr + noKey.stdout).toMatch(/AWS_SECRET_ACCESS_KEY not set/);

  const rv = await runCli(['restore-verify', '--dir', tmpDir(), '--from-bucket', 'true'], env({ BACKUP_BUCKET: 'no-such-bucket' }));
  expect(rv.code).toBe(2); // could not do its work: nothing to verify was reachable
  expect(rv.report.errors.join(' ')).toMatch(/bucket 'no-such-bucket' does not exist/);
});

test('an object corrupted in the bucket is caught by restore-verify, naming it, with no fallback to an older backup', async () => {
  const dir = tmpDir();
  const names = await twoBackups(dir);
  corruptInBucket(names[1]);
  const rv = await runCli(['restore-verify', '--dir', dir, '--from-bucket', 'true'], env());
  expectContract(rv, pg.password, 1);
  expect(rv.report.findings).toEqual([expect.objectContaining({ code: 'backup_checksum_mismatch', file: `${PREFIX}${names[1]}` })]);
  expect(fs.readdirSync(dir).filter((n) => n.startsWith('.'))).toEqual([]); // nothing downloaded is left
});

test('restore --from-bucket: the newest good (or a named) backup, downloaded and checked; a corrupted one is refused and nothing restored', async () => {
  const dir = tmpDir();
  const names = await twoBackups(dir);
  const restoreDir = tmpDir(); // the volume is gone: nothing local is used
  const databases = async (): Promise<string[]> => (await pg.primary.query(
    `SELECT datname FROM pg_database WHERE datname LIKE 'from_bucket%' ORDER BY 1`)).map((r: { datname: string }) => r.datname);

  const res = await runCli(['restore', '--dir', restoreDir, '--from-bucket', 'true', '--target-database', 'from_bucket_a'], env());
  expectContract(res, pg.password, 0);
  expect(res.report.data).toEqual(expect.objectContaining({ file: names[1], target: 'from_bucket_a', bucket: expect.stringContaining('s3://backups/aiaas/') }));
  expect(res.report.data.tables).toEqual([expect.objectContaining({ table: 'public.users', restored: 1000, expected: 1000 })]);
  const [{ n }] = await pg.primary.query('SELECT count(*)::int AS n FROM users', [], 'from_bucket_a');
  expect(n).toBe(1000);
  expect(fs.readdirSync(restoreDir)).toEqual([]); // the download is removed after use

  const named = await runCli(['restore', '--dir', restoreDir, '--from-bucket', 'true', '--backup', names[0], '--target-database', 'from_bucket_b'], env());
  expectContract(named, pg.password, 0);
  expect(named.report.data.file).toBe(names[0]);

  // corrupted in the bucket: a finding naming the object, no fallback, no database created
  corruptInBucket(names[1]);
  const bad = await runCli(['restore', '--dir', restoreDir, '--from-bucket', 'true', '--target-database', 'from_bucket_c'], env());
  expectContract(bad, pg.password, 1);
  expect(bad.report.findings).toEqual([expect.objectContaining({ code: 'backup_checksum_mismatch', file: `${PREFIX}${names[1]}` })]);
  expect(await databases()).toEqual(['from_bucket_a', 'from_bucket_b']);
  expect(fs.readdirSync(restoreDir)).toEqual([]);

  // --from-bucket without a bucket is a usage error before any work
  const { BACKUP_BUCKET: _b, ...noBucket } = env();
  const usage = await runCli(['restore', '--dir', restoreDir, '--from-bucket', 'true'], noBucket);
  expect(usage.code).toBe(64);
  expect(usage.stderr).toMatch(/--from-bucket' needs a bucket/);
});
