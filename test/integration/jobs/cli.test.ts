// The CLI as a whole against a real server: exit codes, secrets never printed,
// errors a person can act on, and SIGTERM while a statement waits for a lock.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { CLI, ensureBundle, expectContract, PgCluster, runCli, sleep, startCli } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start({});
  await pg.primary.query(`
    CREATE TABLE users (id int PRIMARY KEY);
    INSERT INTO users SELECT generate_series(1, 100);
    CREATE ROLE one_letter LOGIN PASSWORD 'e' IN ROLE pg_monitor;
    CREATE ROLE no_password_given LOGIN PASSWORD 'something' IN ROLE pg_monitor;
  `, [], pg.database);
});

afterAll(async () => {
  await pg?.stop();
});


async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('usage errors exit 64 (EX_USAGE), not 2 like a server that is down', () => {
  test.each([
    [['db-health', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['vacuum-analyze', '--lock-timeout-ms', '0'], /'--lock-timeout-ms <ms>' argument '0' is invalid. expected a positive integer up to 3600000 \(ms\)/],
    // Node's timers overflow above 2^31-1 ms and fire at once: a grace period that large would be no grace at all
    [['db-health', '--shutdown-grace-ms', '3000000000'], /'--shutdown-grace-ms <ms>' argument '3000000000' is invalid. expected a non-negative integer up to 3600000 \(ms\)/],
    [['vacuum-analyze', '--statement-timeout-ms', '99999999999'], /'--statement-timeout-ms <ms>'.*up to 86400000 \(ms\)/],
  ])('%j', async (args, message) => {
    const res = await runCli(args as string[], pg.env());
    expectContract(res, pg.password, 64);
    expect(res.report.status).toBe('error');
    expect(res.report.errors[0]).toMatch(message);
  });
});

test('--dbname with a connection string: refused, exit 64, its password printed nowhere', async () => {
  const secret = 'Uri-Secret-4711';
  const uri = `postgresql://aiaas_ops:${secret}@127.0.0.1:${pg.primary.port}/${pg.database}`;
  for (const env of [{}, { PGDATABASE: uri }] as Record<string, string>[]) {
    const res = await runCli(Object.keys(env).length ? ['db-health'] : ['db-health', '--dbname', uri], pg.env(undefined, env));
    expectContract(res, secret, 64);
    expectContract(res, pg.password, 64);
    expect(res.report.errors[0]).toMatch(/--dbname.*expected a name, not a connection string/);
  }
});

test('a one-letter password is redacted as a value, never out of words', async () => {
  const res = await runCli(['db-health'], pg.env(undefined, { PGUSER: 'one_letter', PGPASSWORD: 'e' }));
  expect(res.code).toBe(0);
  // today every "e" of every word became "[redacted]", which gives the password away
  expect(res.stdout + res.stderr).not.toContain('[redacted]');
  expect(res.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['task starting', 'task finished']));
  expect(res.report.database.user).toBe('one_letter');
});

test('no PGPASSWORD: says that no password was given and how to give one, without a stack trace', async () => {
  const env = pg.env(undefined, { PGUSER: 'no_password_given' });
  delete (env as Record<string, string | undefined>).PGPASSWORD;
  const started = Date.now();
  const res = await runCli(['db-health'], env);
  expectContract(res, 'something', 2);
  // not held by the half-open socket until the server's authentication_timeout (60 s)
  expect(Date.now() - started).toBeLessThan(10000);
  expect(res.report.errors[0]).toMatch(/^no password was given; set PGPASSWORD/);
  expect(res.stderr).not.toMatch(/SASL/);
  expect(res.logs.some((l) => l.err?.stack)).toBe(false);
});

test('server down: exit 2, one JSON line per log, no stack trace', async () => {
  const res = await runCli(['db-health'], pg.env(undefined, { PGPORT: '1' }));
  expectContract(res, pg.password, 2);
  expect(res.logs.some((l) => l.err?.stack)).toBe(false);
  expect(res.logs.find((l) => l.err)?.err.code).toBe('ECONNREFUSED');
});

test('SIGTERM while VACUUM waits for a lock: the statement is cancelled in the server and the report written', async () => {
  const holder: Client = await pg.primary.connect(pg.database);
  try {
    await holder.query('BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
    const run = startCli(['vacuum-analyze', '--lock-timeout-ms', '3600000', '--shutdown-grace-ms', '10000'], pg.env());
    const waiting = async (): Promise<number> => (await pg.primary.query(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'aiaas-job/%' AND wait_event_type = 'Lock'`))[0].n;
    await waitFor('vacuum to wait for the lock', async () => (await waiting()) === 1);
    const signalled = Date.now();
    run.kill('SIGTERM');
    const res = await run.done;
    expectContract(res, pg.password, 2);
    // well within the grace period: it did not wait to be forced out
    expect(Date.now() - signalled).toBeLessThan(8000);
    expect(res.report.errors.join(' ')).toMatch(/stopped by signal/);
    expect(res.logs.map((l) => l.msg)).toContain('cancelled the statements the run was still running');
    // and nothing of the job is left in the lock queue while the lock is still held
    expect(await waiting()).toBe(0);
  } finally {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end();
  }
});

describe('a report a person can read', () => {
  test('--output text: status first, findings as sentences, sizes and ratios in units, the next command', async () => {
    await pg.primary.query(`
      CREATE TABLE bloated (id int, pad text) WITH (autovacuum_enabled = false);
      INSERT INTO bloated SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;
      DELETE FROM bloated WHERE id % 2 = 0;
      ANALYZE bloated;`, [], pg.database);
    const res = await runCli(['table-sizes', '--output', 'text'], pg.env());
    expect(res.code).toBe(1);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(/^table-sizes: FINDINGS \(exit 1, took [\d.]+ s\)$/);
    expect(res.stdout).toMatch(/Findings \(1\):\n  - public\.bloated: .*dead ratio 50 %/);
    expect(res.stdout).toMatch(/total bytes [\d.]+ MB/);
    expect(res.stdout).toContain('Next: reclaim dead tuples: aiaas-job vacuum-analyze --schema public');
    expect(res.stdout).not.toContain(pg.password);
    // logs stay one JSON object per line on stderr
    expect(res.logs.every((l) => l.unparsable === undefined)).toBe(true);
    await pg.primary.query('DROP TABLE bloated', [], pg.database);
  });

  test('on a terminal the report is text by default; piped it is JSON', async () => {
    // script(1) gives the CLI a pseudo-terminal as stdout
    const env = { ...pg.env(), PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const { stdout } = await promisify(execFile)('script', ['-qec', `${process.execPath} ${CLI} db-health 2>/dev/null`, '/dev/null'], { env });
    expect(stdout).toMatch(/^db-health: OK \(exit 0, took [\d.]+ s\)/);
    expect(stdout).toMatch(/cache hit ratio: [\d.]+ %/);
    const piped = await runCli(['db-health'], pg.env());
    expectContract(piped, pg.password, 0);
    expect(piped.report.status).toBe('ok');
  });
});
