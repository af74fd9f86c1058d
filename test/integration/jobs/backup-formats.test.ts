// The directory format (pg_dump -Fd --jobs) next to the custom one, against real
// PostgreSQL: a sha256 per file in the manifest, nothing visible until complete
// (a dump killed halfway), retention across formats, pg_restore --jobs in
// restore-verify, a corrupted file caught, and the off-cluster copy of a directory.
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureBundle, expectContract, PgCluster, runCli, sleep, startCli, TempDirs } from './pg-harness';
import { S3Server } from './s3-harness';

jest.setTimeout(180000);

let pg: PgCluster;

const tmp = new TempDirs('aiaas-formats-');
const tmpDir = tmp.make;
const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const visible = (d: string): string[] => fs.readdirSync(d).filter((n) => !n.startsWith('.')).sort();
const DIRECTORY = ['--format', 'directory', '--jobs', '2', '--compress', '1'];

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start();
  await pg.primary.query(`
    CREATE TABLE users (id int PRIMARY KEY, name text);
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE orders (id int PRIMARY KEY, user_id int, note text);
    INSERT INTO orders SELECT g, g % 1000, md5(g::text) FROM generate_series(1, 20000) g;
    CREATE TABLE events (id bigint, at timestamptz, payload text);
    INSERT INTO events SELECT g, now(), repeat(md5(g::text), 4) FROM generate_series(1, 300000) g;
  `, [], pg.database);
});

afterAll(async () => {
  await pg?.stop();
  tmp.removeAll();
});

test('directory format: a sha256 per file in the manifest, and restore-verify restores it with --jobs', async () => {
  const dir = tmpDir();
  const res = await runCli(['backup', '--dir', dir, ...DIRECTORY], pg.env());
  expectContract(res, pg.password, 0);
  const name = res.report.data.file as string;
  expect(visible(dir)).toEqual([name, `${name}.manifest.json`]);
  expect(fs.statSync(path.join(dir, name)).isDirectory()).toBe(true);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}.manifest.json`), 'utf8'));
  const onDisk = fs.readdirSync(path.join(dir, name)).sort();
  expect(onDisk).toContain('toc.dat');
  expect(onDisk.filter((n) => n.endsWith('.dat.gz')).length).toBeGreaterThanOrEqual(3); // one per table, compressed
  expect(manifest.files.map((f: { path: string }) => f.path)).toEqual(onDisk.map((n) => `${name}/${n}`));
  for (const f of manifest.files) {
    expect(f.sha256).toBe(sha(path.join(dir, f.path)));
    expect(f.sizeBytes).toBe(fs.statSync(path.join(dir, f.path)).size);
  }
  expect(manifest.sizeBytes).toBe(manifest.files.reduce((a: number, f: { sizeBytes: number }) => a + f.sizeBytes, 0));
  expect(manifest.rowCounts).toEqual({ 'public.users': 1000 });

  const rv = await runCli(['restore-verify', '--dir', dir, '--jobs', '2', '--tables', 'users,orders,events'], pg.env());
  expectContract(rv, pg.password, 0);
  expect(rv.report.data.tables.map((t: { restored: number }) => t.restored)).toEqual([1000, 20000, 300000]);
});

test('a corrupted file inside a directory-format backup is caught, naming the file', async () => {
  const dir = tmpDir();
  const res = await runCli(['backup', '--dir', dir, ...DIRECTORY], pg.env());
  expectContract(res, pg.password, 0);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${res.report.data.file}.manifest.json`), 'utf8'));
  const victim = manifest.files.find((f: { path: string; sizeBytes: number }) => f.path.endsWith('.dat.gz') && f.sizeBytes > 1000);
  const bytes = fs.readFileSync(path.join(dir, victim.path));
  bytes[500] ^= 0xff;
  fs.writeFileSync(path.join(dir, victim.path), bytes);
  const rv = await runCli(['restore-verify', '--dir', dir], pg.env());
  expectContract(rv, pg.password, 1);
  expect(rv.report.findings).toEqual([expect.objectContaining({ code: 'backup_checksum_mismatch' })]);
  expect(rv.report.findings[0].message).toContain(victim.path);
});

test('a directory-format dump killed halfway is never visible, is cleaned up, and retention spans formats', async () => {
  const dir = tmpDir();
  const custom = await runCli(['backup', '--dir', dir, '--keep', '2'], pg.env());
  expectContract(custom, pg.password, 0);

  const run = startCli(['backup', '--dir', dir, '--keep', '2', ...DIRECTORY], pg.env());
  let partial: string | undefined;
  for (let i = 0; i < 500 && !partial; i++) {
    partial = fs.readdirSync(dir).find((n) => n.endsWith('.partial'));
    if (!partial) await sleep(10);
  }
  run.kill('SIGKILL');
  const killed = await run.done;
  expect(partial).toBeDefined();
  expect(killed.signal).toBe('SIGKILL');
  expect(visible(dir)).toEqual([custom.report.data.file, `${custom.report.data.file}.manifest.json`]);

  const names = [custom.report.data.file as string];
  for (let i = 0; i < 2; i++) {
    const res = await runCli(['backup', '--dir', dir, '--keep', '2', ...DIRECTORY], pg.env());
    expectContract(res, pg.password, 0);
    names.push(res.report.data.file);
    if (i === 0) expect(res.report.data.removedLeftovers.length).toBeGreaterThanOrEqual(1);
  }
  // the custom-format backup went, the two directories stay; the killed run's partial is gone
  expect(fs.readdirSync(dir).sort()).toEqual(names.slice(1).flatMap((n) => [n, `${n}.manifest.json`]).sort());
});

test('a directory-format backup goes to the bucket file by file and comes back verified', async () => {
  const s3 = await S3Server.start(['backups']);
  try {
    const dir = tmpDir();
    const res = await runCli(['backup', '--dir', dir, ...DIRECTORY], { ...pg.env(), ...s3.env() });
    expectContract(res, pg.password, 0);
    const name = res.report.data.file as string;
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}.manifest.json`), 'utf8'));
    expect(res.report.data.offsite.uploaded).toEqual([...manifest.files.map((f: { path: string }) => `aiaas/${f.path}`), `aiaas/${name}.manifest.json`]);
    const rv = await runCli(['restore-verify', '--dir', tmpDir(), '--from-bucket', 'true', '--tables', 'users,orders'], { ...pg.env(), ...s3.env() });
    expectContract(rv, pg.password, 0);
    expect(rv.report.data.tables.map((t: { restored: number }) => t.restored)).toEqual([1000, 20000]);
  } finally {
    await s3.stop();
  }
});
