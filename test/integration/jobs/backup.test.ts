// backup and restore-verify against a real server: manifest and checksum,
// retention, a dump killed (SIGKILL), stopped (SIGTERM), cut off by the server
// or by a full disk halfway, and corrupted backups caught by restore-verify.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { ensureBundle, expectContract, PgCluster, runCli, sleep, startCli, TempDirs } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;
let dir: string;

const tmp = new TempDirs('aiaas-backups-');
const tmpDir = tmp.make;

const sha = (file: string): string => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const listing = (d: string): string[] => fs.readdirSync(d).sort();
const dumps = (d: string): string[] => listing(d).filter((n) => n.endsWith('.dump'));
const manifests = (d: string): string[] => listing(d).filter((n) => n.endsWith('.dump.manifest.json'));

/** What an earlier good state looked like: every non-hidden file with its checksum. */
function snapshot(d: string): Record<string, string> {
  return Object.fromEntries(listing(d).filter((n) => !n.startsWith('.')).map((n) => [n, sha(path.join(d, n))]));
}

async function waitForPartial(d: string, minBytes: number): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const p = listing(d).find((n) => n.endsWith('.partial'));
    if (p && fs.statSync(path.join(d, p)).size >= minBytes) return p;
    await sleep(20);
  }
  throw new Error('no growing partial file');
}

async function waitForNoPgDump(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [{ n }] = await pg.primary.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'pg_dump'`);
    if (n === 0) return;
    await sleep(50);
  }
  throw new Error('pg_dump still connected');
}

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start();
  await pg.primary.query(`
    CREATE EXTENSION pg_stat_statements;
    CREATE TABLE users (id int PRIMARY KEY, name text);
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE orders (id int, user_id int);
    INSERT INTO orders SELECT g, g % 1000 FROM generate_series(1, 500) g;
  `, [], pg.database);
  // a bigger database whose dump takes a few seconds, to interrupt halfway
  await pg.primary.query('CREATE DATABASE big OWNER aiaas_ops');
  await pg.primary.query(`
    CREATE TABLE filler (id int, a text, b text);
    INSERT INTO filler SELECT g, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 2500000) g;
  `, [], 'big');
  dir = tmpDir();
});

afterAll(async () => {
  await pg?.stop();
  for (const d of tmp.all) {
    try {
      execFileSync('umount', [d], { stdio: 'ignore' });
    } catch {
      // not a mount point
    }
    fs.rmSync(d, { recursive: true, force: true });
  }
});

test('backup: dump, manifest with size, sha256, server version, row counts; metrics pushed', async () => {
  const bodies: string[] = [];
  const server = http.createServer((req, res) => {
    let b = '';
    req.on('data', (d) => { b += d; });
    req.on('end', () => { bodies.push(`${req.method} ${req.url}\n${b}`); res.writeHead(200).end(); });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  let res;
  try {
    res = await runCli(['backup', '--dir', dir],
      pg.env(undefined, { PUSHGATEWAY_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, AIAAS_JOB_NAMESPACE: 'aiaas-prod' }));
  } finally {
    server.close();
  }
  expectContract(res, pg.password, 0);
  const name = res.report.data.file as string;
  expect(name).toMatch(/^aiaas-aiaas-\d{8}T\d{9}Z\.dump$/);
  expect(listing(dir)).toEqual([name, `${name}.manifest.json`]);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${name}.manifest.json`), 'utf8'));
  expect(manifest).toEqual(expect.objectContaining({
    format: 'aiaas-backup-manifest/1',
    file: name,
    database: 'aiaas',
    sizeBytes: fs.statSync(path.join(dir, name)).size,
    sha256: sha(path.join(dir, name)),
    rowCounts: { 'public.users': 1000 },
  }));
  expect(manifest.serverVersion).toMatch(/^15\./);
  expect(manifest.durationSeconds).toBeGreaterThan(0);
  expect(fs.readFileSync(path.join(dir, name)).subarray(0, 5).toString()).toBe('PGDMP'); // custom format
  expect(fs.statSync(path.join(dir, name)).mode & 0o777).toBe(0o600);

  expect(bodies).toHaveLength(1);
  // the pod's namespace (downward API) is a grouping label: the alerts match namespace="…"
  expect(bodies[0]).toMatch(/^POST \/metrics\/job\/aiaas_job\/task\/backup\/namespace\/aiaas-prod\n/);
  expect(bodies[0]).toMatch(new RegExp(`^aiaas_backup_size_bytes ${manifest.sizeBytes}$`, 'm'));
  expect(bodies[0]).toMatch(/^aiaas_job_last_success_timestamp_seconds \d/m);
});

test('restore-verify: restores the newest backup into a scratch database, counts match, scratch dropped', async () => {
  // rows added after the backup do not matter: counts come from the dump's own snapshot
  await pg.primary.query('INSERT INTO users VALUES (5001, $1)', ['late'], pg.database);
  const res = await runCli(['restore-verify', '--dir', dir, '--tables', 'users,public.orders'], pg.env());
  expectContract(res, pg.password, 0);
  expect(res.report.data.tables).toEqual([
    { table: 'public.users', restored: 1000, expected: 1000, expectedFrom: 'backup snapshot' },
    { table: 'public.orders', restored: 500, expected: 500, expectedFrom: 'live source' },
  ]);
  const dbs = await pg.primary.query(`SELECT datname FROM pg_database WHERE datname = 'aiaas_restore_verify'`);
  expect(dbs).toEqual([]);
  await pg.primary.query('DELETE FROM users WHERE id = 5001', [], pg.database);
});

test('retention keeps the newest N complete backups and removes leftovers of interrupted runs', async () => {
  fs.writeFileSync(path.join(dir, '.aiaas-aiaas-20000101T000000000Z.dump.partial'), 'half a dump');
  fs.writeFileSync(path.join(dir, 'aiaas-aiaas-20000101T000000001Z.dump'), 'a dump without manifest');
  const made: string[] = [dumps(dir).find((n) => !n.startsWith('aiaas-aiaas-2000'))!];
  for (let i = 0; i < 3; i++) {
    await sleep(5); // distinct millisecond names
    const res = await runCli(['backup', '--dir', dir, '--keep', '2'], pg.env());
    expectContract(res, pg.password, 0);
    made.push(res.report.data.file);
    if (i === 0) {
      expect(res.report.data.removedLeftovers.sort()).toEqual([
        '.aiaas-aiaas-20000101T000000000Z.dump.partial', 'aiaas-aiaas-20000101T000000001Z.dump']);
    }
    expect(res.report.data.kept).toEqual(made.slice(-2).reverse());
  }
  expect(dumps(dir)).toEqual(made.slice(-2));
  expect(manifests(dir)).toEqual(made.slice(-2).map((n) => `${n}.manifest.json`));

  // keep 1: only the newest survives, never zero
  const res = await runCli(['backup', '--dir', dir], pg.env(undefined, { BACKUP_KEEP: '1' }));
  expectContract(res, pg.password, 0);
  expect(dumps(dir)).toEqual([res.report.data.file]);
});

test('backup killed halfway (SIGKILL): no complete-looking file, earlier backups intact, leftover cleaned next run', async () => {
  const before = snapshot(dir);
  const run = startCli(['backup', '--dir', dir], pg.env(undefined, { PGDATABASE: 'big' }));
  const partial = await waitForPartial(dir, 1024 * 1024);
  run.kill('SIGKILL');
  const res = await run.done;
  expect(res.signal).toBe('SIGKILL');
  await waitForNoPgDump();
  expect(snapshot(dir)).toEqual(before); // nothing new that looks complete, nothing old changed
  expect(listing(dir).filter((n) => n.startsWith('.'))).toEqual([partial]); // hidden, named .partial

  // a backup of another database in the same directory leaves it alone ...
  const other = await runCli(['backup', '--dir', dir, '--keep', '7'], pg.env());
  expectContract(other, pg.password, 0);
  expect(other.report.data.removedLeftovers).toEqual([]);
  expect(listing(dir).filter((n) => n.startsWith('.'))).toEqual([partial]);
  // ... the next backup of the same database removes it
  const next = await runCli(['backup', '--dir', dir, '--keep', '7'], pg.env(undefined, { PGDATABASE: 'big' }));
  expectContract(next, pg.password, 0);
  expect(next.report.data.removedLeftovers).toEqual([partial]);
  expect(listing(dir).filter((n) => n.startsWith('.'))).toEqual([]);
});

test('backup stopped by SIGTERM halfway: partial removed, exit 2', async () => {
  const before = snapshot(dir);
  const run = startCli(['backup', '--dir', dir], pg.env(undefined, { PGDATABASE: 'big' }));
  await waitForPartial(dir, 1024 * 1024);
  run.kill('SIGTERM');
  const res = await run.done;
  expectContract(res, pg.password, 2);
  expect(res.report.errors.join(' ')).toMatch(/signal/);
  expect(listing(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  expect(snapshot(dir)).toEqual(before);
  await waitForNoPgDump();
});

test('backup fails when the server ends the dump halfway: partial removed, exit 2', async () => {
  const before = snapshot(dir);
  const run = startCli(['backup', '--dir', dir], pg.env(undefined, { PGDATABASE: 'big' }));
  await waitForPartial(dir, 1024 * 1024);
  await pg.primary.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pg_dump'`);
  const res = await run.done;
  expectContract(res, pg.password, 2);
  expect(res.report.errors[0]).toMatch(/pg_dump failed/);
  expect(listing(dir).filter((n) => n.startsWith('.'))).toEqual([]);
  expect(snapshot(dir)).toEqual(before);
});

const asRoot = process.getuid?.() === 0;
(asRoot ? test : test.skip)('backup fails on a full disk: partial removed, earlier backup intact, exit 2', async () => {
  const small = tmpDir();
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]);
  const first = await runCli(['backup', '--dir', small], pg.env());
  expectContract(first, pg.password, 0);
  const before = snapshot(small);
  const res = await runCli(['backup', '--dir', small], pg.env(undefined, { PGDATABASE: 'big' }));
  expectContract(res, pg.password, 2);
  expect(res.report.errors[0]).toMatch(/ENOSPC/);
  expect(listing(small)).toEqual(Object.keys(before).sort());
  expect(snapshot(small)).toEqual(before);
  await waitForNoPgDump();
});

test('restore-verify: a corrupted backup (flipped bytes) is caught by its checksum', async () => {
  const d = tmpDir();
  expectContract(await runCli(['backup', '--dir', d], pg.env()), pg.password, 0);
  const [name] = dumps(d);
  const file = path.join(d, name);
  const buf = fs.readFileSync(file);
  for (let i = 0; i < 4; i++) buf[Math.floor(buf.length / 2) + i] ^= 0xff;
  fs.writeFileSync(file, buf);
  const res = await runCli(['restore-verify', '--dir', d], pg.env());
  expectContract(res, pg.password, 1);
  expect(res.report.findings).toEqual([expect.objectContaining({ code: 'backup_checksum_mismatch', file: name })]);
});

test('restore-verify: a truncated dump whose manifest matches still fails pg_restore --exit-on-error', async () => {
  const d = tmpDir();
  expectContract(await runCli(['backup', '--dir', d], pg.env()), pg.password, 0);
  const [name] = dumps(d);
  const file = path.join(d, name);
  const truncated = fs.readFileSync(file).subarray(0, Math.floor(fs.statSync(file).size * 0.6));
  fs.writeFileSync(file, truncated);
  const mPath = `${file}.manifest.json`;
  const m = JSON.parse(fs.readFileSync(mPath, 'utf8'));
  fs.writeFileSync(mPath, JSON.stringify({ ...m, sizeBytes: truncated.length, sha256: sha(file) }));
  const res = await runCli(['restore-verify', '--dir', d], pg.env());
  expectContract(res, pg.password, 1);
  expect(res.report.findings).toEqual([expect.objectContaining({ code: 'restore_failed' })]);
  expect(await pg.primary.query(`SELECT 1 FROM pg_database WHERE datname = 'aiaas_restore_verify'`)).toEqual([]);
});

test('restore-verify: finding when there is no complete backup', async () => {
  const d = tmpDir();
  fs.writeFileSync(path.join(d, 'aiaas-aiaas-20000101T000000000Z.dump'), 'no manifest');
  const res = await runCli(['restore-verify', '--dir', d], pg.env());
  expectContract(res, pg.password, 1);
  expect(res.report.findings.map((f: any) => f.code)).toEqual(['newest_backup_unusable', 'no_complete_backup']);
  expect(res.report.findings[0].file).toBe('aiaas-aiaas-20000101T000000000Z.dump');
});
