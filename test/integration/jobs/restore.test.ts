// restore against a real server: the newest backup whose checksum matches (or a
// named one) into a new or empty database, row counts checked against the manifest
// before the target is touched; a target with data only with --force, after a
// safety backup; a broken named backup or a mismatch leaves the target as it was.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBundle, expectContract, PgCluster, runCli, sleep } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;
let dir: string;
let older: string;
let newest: string;

const databases = async (): Promise<string[]> =>
  (await pg.primary.query(`SELECT datname FROM pg_database WHERE datname LIKE 'restored%' ORDER BY 1`)).map((r) => r.datname);
const usersIn = async (database: string): Promise<number> =>
  (await pg.primary.query('SELECT count(*)::int AS n FROM users', [], database))[0].n;

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start();
  await pg.seedUsers(200);
  await pg.primary.query(`
    CREATE TABLE orders (id int, user_id int REFERENCES users);
    INSERT INTO orders SELECT g, 1 + g % 200 FROM generate_series(1, 400) g;
  `, [], pg.database);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-restore-'));
  const first = await runCli(['backup', '--dir', dir, '--count-tables', 'users,orders'], pg.env());
  expectContract(first, pg.password, 0);
  older = first.report.data.file;
  await pg.primary.query('INSERT INTO users SELECT g, $1 FROM generate_series(201, 250) g', ['later'], pg.database);
  await sleep(5);
  const second = await runCli(['backup', '--dir', dir, '--count-tables', 'users,orders'], pg.env());
  expectContract(second, pg.password, 0);
  newest = second.report.data.file;
});

afterAll(async () => {
  await pg?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the newest backup into a new database, with pg_restore --jobs; counts checked against the manifest', async () => {
  const res = await runCli(['restore', '--dir', dir, '--target-database', 'restored_a', '--jobs', '3'], pg.env());
  expectContract(res, pg.password, 0);
  expect(res.report.data).toEqual(expect.objectContaining({ file: newest, target: 'restored_a', jobs: 3, replaced: false }));
  expect(res.report.data.tables).toEqual([
    { table: 'public.users', restored: 250, expected: 250, expectedFrom: 'backup snapshot' },
    { table: 'public.orders', restored: 400, expected: 400, expectedFrom: 'backup snapshot' },
  ]);
  expect(await usersIn('restored_a')).toBe(250);
  expect(await databases()).toEqual(['restored_a']); // no staging left
  // it is no scratch database: nothing may drop it as a leftover
  const [{ comment }] = await pg.primary.query(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = 'restored_a'`);
  expect(comment).toBeNull();
  // planner statistics are there (pg_restore leaves none)
  const [{ analyzed }] = await pg.primary.query(`SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = 'users'`, [], 'restored_a');
  expect(analyzed).toBe(true);
});

test('a target with data is refused without --force (exit 2), untouched', async () => {
  const res = await runCli(['restore', '--dir', dir, '--target-database', 'restored_a', '--backup', older], pg.env());
  expectContract(res, pg.password, 2);
  expect(res.report.errors[0]).toMatch(/target database "restored_a" is not empty \(\d+ relations\): use --force/);
  expect(await usersIn('restored_a')).toBe(250);
});

test('--force replaces it after a safety backup of it, which is itself a complete backup', async () => {
  await pg.primary.query(`INSERT INTO users VALUES (9999, 'written after the restore')`, [], 'restored_a');
  const res = await runCli(['restore', '--dir', dir, '--target-database', 'restored_a', '--backup', older, '--force'], pg.env());
  expectContract(res, pg.password, 0);
  expect(res.report.data).toEqual(expect.objectContaining({ file: older, replaced: true }));
  expect(await usersIn('restored_a')).toBe(200);
  const safety = res.report.data.safetyBackup as string;
  expect(safety).toMatch(/^aiaas-restored_a-\d{8}T\d{9}Z\.dump$/);
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, `${safety}.manifest.json`), 'utf8'));
  expect(manifest).toEqual(expect.objectContaining({ database: 'restored_a', file: safety, sizeBytes: fs.statSync(path.join(dir, safety)).size }));
  // and the safety backup restores what was replaced, row written after the first restore included
  const back = await runCli(['restore', '--dir', dir, '--target-database', 'restored_b'], pg.env(undefined, { PGDATABASE: 'restored_a' }));
  expectContract(back, pg.password, 0);
  expect(back.report.data.file).toBe(safety);
  expect(await usersIn('restored_b')).toBe(251);
});

test('an existing empty database is a valid target', async () => {
  await pg.primary.query('CREATE DATABASE restored_empty');
  const res = await runCli(['restore', '--dir', dir, '--target-database', 'restored_empty'], pg.env());
  expectContract(res, pg.password, 0);
  expect(await usersIn('restored_empty')).toBe(250);
});

test('a corrupted newest backup is passed over with a warning; a named corrupted one is a finding and nothing is restored', async () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-restore-bad-'));
  try {
    for (const n of [older, newest]) {
      for (const f of [n, `${n}.manifest.json`]) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
    }
    const buf = fs.readFileSync(path.join(copy, newest));
    buf[Math.floor(buf.length / 2)] ^= 0xff;
    fs.writeFileSync(path.join(copy, newest), buf);

    const res = await runCli(['restore', '--dir', copy, '--target-database', 'restored_c'], pg.env());
    expectContract(res, pg.password, 0);
    expect(res.report.data.file).toBe(older);
    expect(res.report.warnings).toEqual([expect.stringMatching(new RegExp(`passed over \\(not usable\\): ${newest}: sha256 .* the backup is corrupted`))]);

    const named = await runCli(['restore', '--dir', copy, '--target-database', 'restored_d', '--backup', newest], pg.env());
    expectContract(named, pg.password, 1);
    expect(named.report.findings).toEqual([expect.objectContaining({ code: 'backup_unusable' })]);
    expect(named.report.findings[0].message).toMatch(/corrupted: nothing was restored/);
    expect(await databases()).not.toContain('restored_d');
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test('row counts that differ from the manifest: a finding, the target untouched, staging dropped', async () => {
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-restore-mismatch-'));
  try {
    fs.copyFileSync(path.join(dir, older), path.join(copy, older));
    const m = JSON.parse(fs.readFileSync(path.join(dir, `${older}.manifest.json`), 'utf8'));
    fs.writeFileSync(path.join(copy, `${older}.manifest.json`), JSON.stringify({ ...m, rowCounts: { ...m.rowCounts, 'public.users': 201 } }));
    const res = await runCli(['restore', '--dir', copy, '--target-database', 'restored_a', '--force'], pg.env());
    expectContract(res, pg.password, 1);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'row_count_mismatch', table: 'public.users' })]);
    expect(res.report.findings[0].message).toMatch(/200 rows restored, 201 expected .*target untouched/);
    expect(await usersIn('restored_a')).toBe(200);
    expect(res.report.data.safetyBackup).toBeUndefined();
    expect((await databases()).filter((d) => d.endsWith('_restoring'))).toEqual([]);
  } finally {
    fs.rmSync(copy, { recursive: true, force: true });
  }
});

test('usage: a bad --force value and a system database as target are refused', async () => {
  const bad = await runCli(['restore', '--dir', dir], pg.env(undefined, { RESTORE_FORCE: 'perhaps' }));
  expect(bad.report.errors[0]).toMatch(/RESTORE_FORCE.*expected true or false/);
  expect(bad.report.exitCode).not.toBe(0);
  const sys = await runCli(['restore', '--dir', dir, '--target-database', 'postgres'], pg.env());
  expect(sys.report.errors[0]).toMatch(/--target-database' must name an application database, not 'postgres'/);
  // RESTORE_FORCE=false means off, not on
  const off = await runCli(['restore', '--dir', dir, '--target-database', 'restored_a'], pg.env(undefined, { RESTORE_FORCE: 'false' }));
  expectContract(off, pg.password, 2);
  expect(off.report.errors[0]).toMatch(/not empty/);
});
