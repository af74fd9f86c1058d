// Errors (exit 2) and the findings that need a differently configured server:
// a primary without pg_stat_statements preloaded, max_connections 20, no replica.
import { Client } from 'pg';
import { ensureBundle, expectContract, freePort, PgCluster, runCli } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start({ preload: false, settings: { max_connections: 20 } });
  await pg.primary.query(`
    CREATE EXTENSION pg_stat_statements;
    CREATE TABLE users (id int PRIMARY KEY);
    CREATE SCHEMA slow AUTHORIZATION aiaas_ops;
    CREATE TABLE slow.big (id int, pad text) WITH (autovacuum_enabled = false);
    INSERT INTO slow.big SELECT g, md5(g::text) FROM generate_series(1, 300000) g;
    UPDATE slow.big SET pad = pad || 'x' WHERE id % 3 = 0;
  `, [], pg.database);
});

afterAll(async () => {
  await pg?.stop();
});

test('db-health: finding when connections are near max_connections', async () => {
  const clients: Client[] = [];
  try {
    for (let i = 0; i < 16; i++) clients.push(await pg.primary.connect(pg.database));
    const res = await runCli(['db-health'], pg.env());
    expectContract(res, pg.password, 1);
    expect(res.report.data.connections.max).toBe(20);
    expect(res.report.data.connections.used).toBeGreaterThanOrEqual(17);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'connections_near_limit' })]);
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
  // and with the threshold raised by the environment twin, it is healthy again
  const ok = await runCli(['db-health'], pg.env(undefined, { DB_HEALTH_MAX_CONNECTION_RATIO: '0.95' }));
  expectContract(ok, pg.password, 0);
});

test('slow-queries: finding when pg_stat_statements is installed but not preloaded', async () => {
  const res = await runCli(['slow-queries'], pg.env());
  expectContract(res, pg.password, 1);
  expect(res.report.findings).toEqual([expect.objectContaining({ code: 'pg_stat_statements_not_loaded' })]);
  expect(res.report.findings[0].message).toMatch(/shared_preload_libraries/);
});

test('replication-lag: "no replicas" is healthy when none are expected, a finding otherwise', async () => {
  const none = await runCli(['replication-lag', '--expected-standbys', '0'], pg.env());
  expectContract(none, pg.password, 0);
  expect(none.report.data).toEqual(expect.objectContaining({ role: 'primary', streaming: 0, standbys: [] }));
  const missing = await runCli(['replication-lag'], pg.env());
  expectContract(missing, pg.password, 1);
  expect(missing.report.findings[0].code).toBe('standbys_missing');
});

test('error: server down', async () => {
  const port = await freePort();
  const res = await runCli(['db-health'], pg.env(undefined, { PGPORT: String(port) }));
  expectContract(res, pg.password, 2);
  expect(res.report.status).toBe('error');
  expect(res.report.errors[0]).toMatch(/ECONNREFUSED/);
});

test('error: wrong password, neither password printed', async () => {
  const wrong = 'Wrong-Secret-123';
  const res = await runCli(['table-sizes'], pg.env(undefined, { PGPASSWORD: wrong }));
  expectContract(res, pg.password, 2);
  expectContract(res, wrong, 2);
  expect(res.report.errors[0]).toMatch(/password authentication failed/);
});

test('error: statement timeout while vacuuming a table', async () => {
  const res = await runCli(['vacuum-analyze', '--schema', 'slow', '--statement-timeout-ms', '1'], pg.env());
  expectContract(res, pg.password, 2);
  expect(res.report.data.failed).toEqual(['slow.big']);
  expect(res.report.errors[0]).toMatch(/statement_timeout/);
});

describe('usage errors name the flag and the expected value, exit 64', () => {
  test.each([
    [['slow-queries', '--limit', 'ten'], /--limit <n>' argument 'ten' is invalid. expected a positive integer/],
    [['db-health', '--max-connection-ratio', '1.5'], /--max-connection-ratio.*expected a ratio above 0 and at most 1/],
    [['long-transactions', '--action', 'kill'], /--action.*Allowed choices are report, cancel, terminate/],
    [['backup'], /backup directory missing: set BACKUP_DIR or use --dir/],
    [['db-health', '--no-such-flag'], /unknown option '--no-such-flag'/],
    [['restore-verify', '--dir', '/tmp', '--scratch-database', 'aiaas'], /--scratch-database' must name a throwaway database/],
  ])('%j', async (args, message) => {
    const res = await runCli(args as string[], pg.env());
    expectContract(res, pg.password, 64);
    expect(res.report.errors[0]).toMatch(message);
  });

  test('a bad environment twin names the variable', async () => {
    const res = await runCli(['backup', '--dir', '/tmp/x'], pg.env(undefined, { BACKUP_KEEP: '0' }));
    expectContract(res, pg.password, 64);
    expect(res.report.errors[0]).toMatch(/from env 'BACKUP_KEEP' is invalid. expected a positive integer/);
  });

  test('missing host is actionable', async () => {
    const env = pg.env();
    delete (env as Record<string, string | undefined>).PGHOST;
    const res = await runCli(['db-health'], env);
    expectContract(res, pg.password, 64);
    expect(res.report.errors[0]).toBe('PostgreSQL host missing: set PGHOST or use --host');
  });
});

test('--help lists every task; task help shows flags, env twins and defaults', async () => {
  const res = await runCli(['--help'], {});
  expect(res.code).toBe(0);
  for (const t of ['db-health', 'slow-queries', 'table-sizes', 'vacuum-analyze', 'long-transactions', 'replication-lag', 'backup', 'restore-verify']) {
    expect(res.stdout).toContain(t);
  }
  const vac = await runCli(['vacuum-analyze', '--help'], {});
  expect(vac.code).toBe(0);
  const text = vac.stdout.replace(/\s+/g, ' ');
  expect(text).toMatch(/--parallel <n> tables vacuumed at the same time \(default: 2, env: VACUUM_PARALLEL\)/);
  expect(text).toMatch(/--lock-timeout-ms <ms> .* \(default: 5000, env: VACUUM_LOCK_TIMEOUT_MS\)/);
  expect(text).toMatch(/--host <host> PostgreSQL host \(env: PGHOST\)/); // global options shown too
});
