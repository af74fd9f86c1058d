// backup and vacuum-analyze on their worst days, against a real primary and its
// streaming replica: the server lost mid-run (session terminated, server stopped
// with `pg_ctl stop -m immediate`), a table held in ACCESS EXCLUSIVE, and two
// servers backing up into one shared directory.
import * as fs from 'node:fs';
import { CliResult, ensureBundle, expectContract, PgCluster, runCli, RunningCli, sleep, startCli, TempDirs } from './pg-harness';

jest.setTimeout(180000);

let pg: PgCluster;

const tmp = new TempDirs('aiaas-faults-');
const tmpDir = tmp.make;
const listing = (d: string): string[] => fs.readdirSync(d).sort();
const hidden = (d: string): string[] => listing(d).filter((n) => n.startsWith('.'));

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start({ replica: true });
  await pg.primary.query(`
    CREATE TABLE users (id int PRIMARY KEY, name text);
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE audit (id int, what text);
    INSERT INTO audit SELECT g, 'x' FROM generate_series(1, 100) g;
  `, [], pg.database);
  // a database whose dump takes a few seconds
  await pg.primary.query('CREATE DATABASE big OWNER aiaas_ops');
  await pg.primary.query(`
    CREATE TABLE filler (id int, a text, b text);
    INSERT INTO filler SELECT g, md5(g::text), md5((g * 7)::text) FROM generate_series(1, 2000000) g;
  `, [], 'big');
  await pg.waitForReplay(120000);
});

afterAll(async () => {
  await pg?.stop();
  tmp.removeAll();
});

/** A session holding ACCESS EXCLUSIVE on a table until `release()`. */
async function holdLock(table: string): Promise<{ release(): Promise<void> }> {
  const c = await pg.primary.connect(pg.database);
  await c.query('BEGIN');
  await c.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    release: async () => {
      await c.query('ROLLBACK').catch(() => undefined);
      await c.end().catch(() => undefined);
    },
  };
}

/** Wait until a session of `application` waits for a lock. */
async function waitForLockWait(application: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const rows = await pg.primary.query(
      `SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [application]);
    if (rows.length > 0) return;
    await sleep(50);
  }
  throw new Error(`no session of ${application} waits for a lock`);
}

async function terminate(application: string): Promise<number> {
  const rows = await pg.primary.query(
    'SELECT pg_terminate_backend(pid) AS t FROM pg_stat_activity WHERE application_name = $1', [application]);
  return rows.length;
}

describe('connection loss is "could not do its work": exit 2, a report, nothing left behind', () => {
  test('backup: its own session terminated while pg_dump waits', async () => {
    const dir = tmpDir();
    const lock = await holdLock('audit');
    let run: RunningCli | undefined;
    try {
      run = startCli(['backup', '--dir', dir, '--lock-wait-timeout-ms', '60000'], pg.env());
      await waitForLockWait('pg_dump');
      expect(await terminate('aiaas-job/backup')).toBeGreaterThan(0);
      const res = await run.done;
      expectContract(res, pg.password, 2);
      expect(res.report.errors.join(' ')).toMatch(/lost the connection to the database server/);
      expect(listing(dir)).toEqual([]);
    } finally {
      await lock.release();
    }
  });

  test('backup: server stopped (pg_ctl stop -m immediate) while pg_dump waits', async () => {
    const dir = tmpDir();
    const lock = await holdLock('audit');
    try {
      const run = startCli(['backup', '--dir', dir, '--lock-wait-timeout-ms', '60000'], pg.env());
      await waitForLockWait('pg_dump');
      await pg.primary.stop('immediate');
      const res = await run.done;
      expectContract(res, pg.password, 2);
      expect(res.report.errors.join(' ')).toMatch(/lost the connection to the database server|pg_dump failed/);
      expect(listing(dir)).toEqual([]);
    } finally {
      await lock.release();
      if (!pg.primary.running) await pg.primary.start();
      await pg.waitForStandbys(1, 60000);
    }
  });

  test('vacuum-analyze: a worker session terminated while it waits for a lock', async () => {
    const lock = await holdLock('audit');
    try {
      const run = startCli(['vacuum-analyze', '--lock-timeout-ms', '60000', '--parallel', '1'], pg.env());
      await waitForLockWait('aiaas-job/vacuum-analyze');
      await terminate('aiaas-job/vacuum-analyze');
      const res: CliResult = await run.done;
      expectContract(res, pg.password, 2);
      expect(res.report.errors[0]).toMatch(/^lost the connection to the database server: /);
    } finally {
      await lock.release();
    }
  });
});

describe('a table held in ACCESS EXCLUSIVE', () => {
  test('backup gives up after --lock-wait-timeout-ms and names the table', async () => {
    const dir = tmpDir();
    const lock = await holdLock('audit');
    try {
      const t0 = Date.now();
      const res = await runCli(['backup', '--dir', dir, '--lock-wait-timeout-ms', '1500'], pg.env());
      expectContract(res, pg.password, 2);
      expect(Date.now() - t0).toBeLessThan(30000);
      expect(res.report.errors.join(' ')).toMatch(/public\.audit/);
      expect(res.report.errors.join(' ')).toMatch(/--lock-wait-timeout-ms/);
      expect(listing(dir)).toEqual([]);
    } finally {
      await lock.release();
    }
  });

  test('a table to count that is locked is named too, within the same bound', async () => {
    const dir = tmpDir();
    const lock = await holdLock('users');
    try {
      const res = await runCli(['backup', '--dir', dir, '--lock-wait-timeout-ms', '1500'], pg.env());
      expectContract(res, pg.password, 2);
      expect(res.report.errors.join(' ')).toMatch(/public\.users/);
      expect(listing(dir)).toEqual([]);
    } finally {
      await lock.release();
    }
  });
});

test('primary and replica backing up into one directory leave each other\'s work alone', async () => {
  const dir = tmpDir();
  const onPrimary = startCli(['backup', '--dir', dir], pg.env(undefined, { PGDATABASE: 'big' }));
  for (let i = 0; i < 400 && !hidden(dir).some((n) => n.endsWith('.partial')); i++) await sleep(20);
  expect(hidden(dir).some((n) => n.endsWith('.partial'))).toBe(true);
  // a leftover of an earlier, killed run of the replica: its own to clean
  const onReplica = await runCli(['backup', '--dir', dir], pg.env(pg.replica, { PGDATABASE: 'big' }));
  const res = await onPrimary.done;
  expectContract(onReplica, pg.password, 0);
  expectContract(res, pg.password, 0);
  expect(onReplica.report.data.removedLeftovers).toEqual([]);
  const dumps = listing(dir).filter((n) => n.endsWith('.dump'));
  expect(dumps.sort()).toEqual([res.report.data.file, onReplica.report.data.file].sort());
  expect(hidden(dir)).toEqual([]);
});
