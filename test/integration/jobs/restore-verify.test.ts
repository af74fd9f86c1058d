// restore-verify against a real server: it drops only the scratch database it
// created, verifies the NEWEST backup (a broken or old one is a finding naming
// it), tells a table missing from the backup from a table that never existed,
// refuses a missing directory, and restores what a non-superuser can.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ensureBundle, expectContract, PgCluster, runCli, sleep, TempDirs } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;
const VERIFIER = 'verifier';
const VERIFIER_PASSWORD = 'Verifier-Pw-8812';

const tmp = new TempDirs('aiaas-verify-');
const tmpDir = tmp.make;

async function backupInto(d: string, extra: string[] = []): Promise<any> {
  const res = await runCli(['backup', '--dir', d, ...extra], pg.env());
  expectContract(res, pg.password, 0);
  await sleep(5); // distinct millisecond names
  return res;
}

const databaseExists = async (name: string): Promise<boolean> =>
  (await pg.primary.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start();
  await pg.seedUsers(300);
  await pg.primary.query(`CREATE ROLE ${VERIFIER} LOGIN CREATEDB PASSWORD '${VERIFIER_PASSWORD}'`);
});

afterAll(async () => {
  await pg?.stop();
  tmp.removeAll();
});

describe('the scratch database', () => {
  test('an existing database it did not create is refused (exit 2) and keeps its data', async () => {
    const d = tmpDir();
    await backupInto(d);
    await pg.primary.query('CREATE DATABASE precious');
    await pg.primary.query('CREATE TABLE keep (v int); INSERT INTO keep VALUES (42)', [], 'precious');
    const res = await runCli(['restore-verify', '--dir', d, '--scratch-database', 'precious'], pg.env());
    expectContract(res, pg.password, 2);
    expect(res.report.errors[0]).toMatch(/"precious" exists and was not created by aiaas-job restore-verify: refusing to drop it/);
    expect(await pg.primary.query('SELECT v FROM keep', [], 'precious')).toEqual([{ v: 42 }]);
  });

  test('a leftover of an earlier run (marked) is dropped and the run succeeds', async () => {
    const d = tmpDir();
    await backupInto(d);
    await pg.primary.query('CREATE DATABASE aiaas_restore_verify');
    await pg.primary.query(`COMMENT ON DATABASE aiaas_restore_verify IS 'created by aiaas-job restore-verify (run 0000dead); dropped by it, do not use'`);
    const res = await runCli(['restore-verify', '--dir', d], pg.env());
    expectContract(res, pg.password, 0);
    expect(await databaseExists('aiaas_restore_verify')).toBe(false);
  });
});

describe('the newest backup', () => {
  test.each([
    ['truncated (size differs from its manifest)', (file: string) => fs.truncateSync(file, 100), /size 100 differs from manifest/],
    ['with an unreadable manifest', (file: string) => fs.writeFileSync(`${file}.manifest.json`, '{"format": '), /manifest unreadable/],
    ['without its manifest', (file: string) => fs.rmSync(`${file}.manifest.json`), /no manifest/],
  ])('%s is a finding naming it, even though an older one restores', async (_what, breakIt, reason) => {
    const d = tmpDir();
    const older = (await backupInto(d)).report.data.file;
    const newest = (await backupInto(d)).report.data.file;
    breakIt(path.join(d, newest));
    const res = await runCli(['restore-verify', '--dir', d], pg.env());
    expectContract(res, pg.password, 1);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'newest_backup_unusable', file: newest })]);
    expect(res.report.findings[0].message).toMatch(reason);
    expect(res.report.data.file).toBe(older);
    expect(res.report.status).toBe('finding');
  });

  test('older than --max-backup-age-seconds is a finding', async () => {
    const d = tmpDir();
    const { report } = await backupInto(d);
    await sleep(2100);
    const res = await runCli(['restore-verify', '--dir', d, '--max-backup-age-seconds', '2'], pg.env());
    expectContract(res, pg.password, 1);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'backup_too_old', file: report.data.file })]);
    expect(res.report.findings[0].message).toMatch(/--max-backup-age-seconds/);
  });

  test('a missing --dir is an error, not created', async () => {
    const d = path.join(tmpDir(), 'not-mounted');
    const res = await runCli(['restore-verify', '--dir', d], pg.env());
    expectContract(res, pg.password, 2);
    expect(res.report.errors[0]).toMatch(/backup directory .*not-mounted \(--dir\) does not exist/);
    expect(fs.existsSync(d)).toBe(false);
  });
});

describe('tables to count: one behaviour in backup and restore-verify', () => {
  test('a table that exists nowhere is a warning in both reports, not a finding', async () => {
    const d = tmpDir();
    const b = await backupInto(d, ['--count-tables', 'users,no_such_table']);
    expect(b.report.warnings).toEqual([expect.stringMatching(/public\.no_such_table .*does not exist/)]);
    expect(b.report.data.manifest.missingTables).toEqual(['public.no_such_table']);
    const res = await runCli(['restore-verify', '--dir', d, '--tables', 'users,no_such_table'], pg.env());
    expectContract(res, pg.password, 0);
    expect(res.report.warnings).toEqual([expect.stringMatching(/public\.no_such_table exists neither in the source nor in the backup/)]);
    expect(res.report.findings).toEqual([]);
  });

  test('a table created after the backup is a warning; one in the source that the backup lacks is a finding', async () => {
    const d = tmpDir();
    await backupInto(d, ['--count-tables', 'users,later']);
    await pg.primary.query('CREATE TABLE later (id int); CREATE TABLE uncounted (id int)', [], pg.database);
    try {
      const res = await runCli(['restore-verify', '--dir', d, '--tables', 'users,later,uncounted'], pg.env());
      expectContract(res, pg.password, 1);
      expect(res.report.warnings).toEqual([expect.stringMatching(/public\.later did not exist when the backup was taken/)]);
      expect(res.report.findings).toEqual([expect.objectContaining({ code: 'table_missing', table: 'public.uncounted' })]);
      expect(res.report.findings[0].message).toBe('public.uncounted exists in the source but is missing from the restored backup');
    } finally {
      await pg.primary.query('DROP TABLE later, uncounted', [], pg.database);
    }
  });
});

test('as a non-superuser on a database with pg_stat_statements: restores the rest, reports what was skipped and why', async () => {
  const d = tmpDir();
  await backupInto(d);
  const env = pg.env(undefined, { PGUSER: VERIFIER, PGPASSWORD: VERIFIER_PASSWORD });
  const res = await runCli(['restore-verify', '--dir', d], env);
  expectContract(res, VERIFIER_PASSWORD, 0);
  expect(res.report.data.skipped).toEqual([{
    object: 'extension pg_stat_statements',
    reason: expect.stringMatching(/not trusted: creating it needs a superuser, and verifier is not one/),
  }]);
  expect(res.report.warnings).toEqual([expect.stringMatching(/^not restored: extension pg_stat_statements/)]);
  expect(res.report.data.tables).toEqual([{ table: 'public.users', restored: 300, expected: 300, expectedFrom: 'backup snapshot' }]);
  expect(await databaseExists('aiaas_restore_verify')).toBe(false);
});

describe('the scratch database\'s own settings and phases', () => {
  test('pg_restore\'s sessions get the bulk-load settings; nothing changes outside the scratch database', async () => {
    // a CHECK evaluated by every COPY row: the restore fails unless pg_restore's sessions see the setting
    await pg.primary.query(`CREATE TABLE tuned (v int CHECK (current_setting('maintenance_work_mem') = '256MB'));
      SET maintenance_work_mem = '256MB'; INSERT INTO tuned VALUES (1), (2)`, [], pg.database);
    try {
      const d = tmpDir();
      await backupInto(d, ['--count-tables', 'users,tuned']);
      const res = await runCli(['restore-verify', '--dir', d, '--tables', 'users,tuned'], pg.env());
      expectContract(res, pg.password, 0);
      expect(res.report.data.settings).toEqual({ synchronous_commit: 'off', maintenance_work_mem: '262144kB' });
      expect(res.report.data.tables).toEqual(expect.arrayContaining([
        { table: 'public.tuned', restored: 2, expected: 2, expectedFrom: 'backup snapshot' }]));
      expect(Object.keys(res.report.data.phases).sort()).toEqual(['checksum', 'count', 'drop', 'prepare', 'restore']);
      expect(res.report.data.phases.restore).toBeGreaterThan(0);
      expect(await databaseExists('aiaas_restore_verify')).toBe(false);
      expect(await pg.primary.query('SELECT setdatabase FROM pg_db_role_setting')).toEqual([]);
      expect(await pg.primary.query(`SELECT current_setting('maintenance_work_mem') AS v`, [], pg.database)).toEqual([{ v: '64MB' }]);
    } finally {
      await pg.primary.query('DROP TABLE tuned', [], pg.database);
    }
  });

  test('a failure in post-data (an index whose function finds no table under pg_restore\'s empty search_path) fails it and drops the scratch database', async () => {
    await pg.primary.query(`CREATE TABLE factors (f int); INSERT INTO factors VALUES (2);
      CREATE FUNCTION twice(v int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT v * (SELECT f FROM factors)';
      CREATE TABLE scaled (v int); INSERT INTO scaled VALUES (1), (2); CREATE INDEX scaled_twice ON scaled (twice(v))`, [], pg.database);
    try {
      const d = tmpDir();
      await backupInto(d);
      const res = await runCli(['restore-verify', '--dir', d], pg.env());
      expectContract(res, pg.password, 1);
      expect(res.report.findings).toEqual([expect.objectContaining({ code: 'restore_failed' })]);
      expect(res.report.findings[0].message).toMatch(/relation "factors" does not exist/);
      expect(res.report.data.phases.drop).toBeGreaterThan(0);
      expect(await databaseExists('aiaas_restore_verify')).toBe(false);
    } finally {
      await pg.primary.query('DROP TABLE scaled, factors; DROP FUNCTION twice', [], pg.database);
    }
  });
});
