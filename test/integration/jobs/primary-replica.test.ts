// The monitoring tasks against a real primary with pg_stat_statements and a
// streaming replica: each healthy case and each finding.
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import * as path from 'node:path';
import { Client } from 'pg';
import { ensureBundle, expectContract, PG_BIN, PgCluster, runCli } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start({ replica: true });
  await pg.primary.query('CREATE EXTENSION pg_stat_statements', [], pg.database);
  await pg.primary.query(`
    CREATE TABLE users (id int PRIMARY KEY, name text);
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 1000) g;
    CREATE TABLE bloated (id int, pad text) WITH (autovacuum_enabled = false);
    INSERT INTO bloated SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;
    DELETE FROM bloated WHERE id % 2 = 0;
    CREATE TABLE locked_one (id int);
    CREATE TABLE t1 (id int); CREATE TABLE t2 (id int); CREATE TABLE t3 (id int);
    ALTER TABLE users OWNER TO aiaas_ops; ALTER TABLE bloated OWNER TO aiaas_ops;
    SELECT pg_stat_force_next_flush();
  `, [], pg.database);
  await pg.primary.query(`CREATE DATABASE no_pgss OWNER aiaas_ops`);
});

afterAll(async () => {
  await pg?.stop();
});

const password = (): string => pg.password;

describe('db-health', () => {
  test('healthy: stats of the database and connections under the limit', async () => {
    const res = await runCli(['db-health'], pg.env());
    expectContract(res, password(), 0);
    expect(res.report.task).toBe('db-health');
    expect(res.report.data.database).toBe('aiaas');
    expect(res.report.data.connections.max).toBe(50);
    expect(res.report.data.cacheHitRatio).toBeGreaterThan(0);
    expect(res.report.data).toHaveProperty('deadlocks');
    expect(res.report.data).toHaveProperty('tempFiles');
  });

  test('pushes its metrics to the pushgateway with job aiaas_job and label task', async () => {
    const requests: { method?: string; url?: string; body: string }[] = [];
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        requests.push({ method: req.method, url: req.url, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const res = await runCli(['db-health'], pg.env(undefined, { PUSHGATEWAY_URL: `http://127.0.0.1:${port}` }));
      expectContract(res, password(), 0);
    } finally {
      server.close();
    }
    expect(requests).toHaveLength(1);
    expect(requests[0].method).toBe('POST'); // POST: a failed run keeps the last success timestamp
    expect(requests[0].url).toBe('/metrics/job/aiaas_job/task/db-health');
    const body = requests[0].body;
    expect(body).toMatch(/^aiaas_job_last_success_timestamp_seconds \d+(\.\d+)?$/m);
    expect(body).toMatch(/^aiaas_job_duration_seconds \d/m);
    expect(body).toMatch(/^aiaas_job_findings 0$/m);
    expect(body).toMatch(/^aiaas_job_exit_code 0$/m);
    expect(body).toMatch(/^aiaas_db_connections_max 50$/m);
    expect(body).not.toContain(password());
  });
});

describe('slow-queries', () => {
  test('top statements by mean_exec_time (PostgreSQL 13+ column detected)', async () => {
    await pg.primary.query('SELECT pg_sleep(0.2)', [], pg.database);
    // the seeding statements may be slower than the sleep on a loaded machine: look among the top 5
    const res = await runCli(['slow-queries', '--limit', '5', '--min-mean-ms', '60000'], pg.env());
    expectContract(res, password(), 0);
    expect(res.report.data.meanColumn).toBe('mean_exec_time');
    expect(res.report.data.statements.length).toBeLessThanOrEqual(5);
    const sleep = res.report.data.statements.find((st: any) => /pg_sleep/.test(st.query));
    expect(sleep.meanMs).toBeGreaterThanOrEqual(200);
    const means = res.report.data.statements.map((st: any) => st.meanMs);
    expect([...means].sort((a, b) => b - a)).toEqual(means);
  });

  test('finding, not a crash, when the extension is missing in the database', async () => {
    const res = await runCli(['slow-queries'], pg.env(undefined, { PGDATABASE: 'no_pgss' }));
    expectContract(res, password(), 1);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'pg_stat_statements_missing' })]);
    expect(res.report.findings[0].message).toMatch(/CREATE EXTENSION pg_stat_statements/);
  });
});

describe('table-sizes', () => {
  test('finding for a table with dead tuples above the ratio', async () => {
    const res = await runCli(['table-sizes', '--max-dead-ratio', '0.3'], pg.env());
    expectContract(res, password(), 1);
    const bloated = res.report.data.tables.find((t: any) => t.name === 'bloated');
    expect(bloated.deadTuples).toBe(10000);
    expect(bloated.deadRatio).toBeCloseTo(0.5, 2);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'table_bloated', table: 'bloated' })]);
    // sorted by total size, largest first
    const sizes = res.report.data.tables.map((t: any) => t.totalBytes);
    expect([...sizes].sort((a, b) => b - a)).toEqual(sizes);
  });

  test('healthy with a higher threshold, limit respected', async () => {
    const res = await runCli(['table-sizes', '--limit', '2'], pg.env(undefined, { TABLE_SIZES_MAX_DEAD_RATIO: '0.6' }));
    expectContract(res, password(), 0);
    expect(res.report.data.tables).toHaveLength(2);
  });
});

describe('vacuum-analyze', () => {
  test('one locked table is skipped and reported, the others are vacuumed', async () => {
    const holder = await pg.primary.connect(pg.database);
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE locked_one IN ACCESS EXCLUSIVE MODE');
      const res = await runCli(['vacuum-analyze', '--parallel', '2', '--lock-timeout-ms', '300'], pg.env());
      expectContract(res, password(), 1);
      expect(res.report.data.skipped).toEqual(['public.locked_one']);
      expect(res.report.data.failed).toEqual([]);
      const vacuumed = res.report.data.tables.filter((t: any) => t.result === 'vacuumed').map((t: any) => t.table);
      expect(vacuumed.sort()).toEqual(['public.bloated', 'public.t1', 'public.t2', 'public.t3', 'public.users']);
      expect(res.report.findings[0].message).toMatch(/lock_timeout/);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  test('healthy: every table vacuumed and analyzed', async () => {
    const res = await runCli(['vacuum-analyze'], pg.env());
    expectContract(res, password(), 0);
    expect(res.report.data.vacuumed).toBe(6);
    const [row] = await pg.primary.query(`SELECT n_dead_tup, last_vacuum, last_analyze FROM pg_stat_user_tables WHERE relname = 'bloated'`, [], pg.database);
    expect(row.last_vacuum).not.toBeNull();
    expect(row.last_analyze).not.toBeNull();
  });

  test('runs with an empty search_path, as vacuumdb does: an index expression cannot reach a function of a user schema', async () => {
    // wrap() calls helper() unqualified; only a session whose search_path includes public finds it
    await pg.primary.query(`
      CREATE SCHEMA trap AUTHORIZATION aiaas_ops;
      CREATE FUNCTION public.helper(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1';
      CREATE FUNCTION trap.wrap(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT helper($1)';
      CREATE TABLE trap.guarded (v int);
      INSERT INTO trap.guarded SELECT g FROM generate_series(1, 100) g;
      CREATE INDEX ON trap.guarded (trap.wrap(v));
      CREATE TABLE trap.plain (v int);
    `, [], pg.database);
    try {
      const res = await runCli(['vacuum-analyze', '--schema', 'trap'], pg.env());
      expectContract(res, password(), 2);
      expect(res.report.data.failed).toEqual(['trap.guarded']);
      expect(res.report.data.tables.find((t: any) => t.table === 'trap.guarded').reason).toMatch(/^42883: function helper\(integer\) does not exist/);
      expect(res.report.data.skipped).toEqual([]);
      expect(res.report.data.vacuumed).toBe(1);
      // the reference tool fails on the same table for the same reason
      const vacuumdb = spawnSync(path.join(PG_BIN, 'vacuumdb'), ['--analyze', '--table=trap.guarded'], { env: { ...process.env, ...pg.env() }, encoding: 'utf8' });
      expect(vacuumdb.status).not.toBe(0);
      expect(vacuumdb.stderr).toMatch(/function helper\(integer\) does not exist/);
    } finally {
      await pg.primary.query('DROP SCHEMA trap CASCADE; DROP FUNCTION public.helper(int)', [], pg.database);
    }
  });
});

describe('long-transactions', () => {
  let holder: Client;
  let holderPid: number;

  beforeEach(async () => {
    holder = await pg.primary.connect(pg.database);
    holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    await holder.query('BEGIN');
    await holder.query('SELECT txid_current()');
    await new Promise((r) => setTimeout(r, 1500));
  });

  afterEach(async () => {
    await holder.query('ROLLBACK').catch(() => undefined);
    await holder.end().catch(() => undefined);
  });

  test('healthy under the default threshold of 5 minutes', async () => {
    const res = await runCli(['long-transactions'], pg.env());
    expectContract(res, password(), 0);
    expect(res.report.data.thresholdSeconds).toBe(300);
  });

  test('reports a held transaction, touching nothing, never its own backend or walsenders', async () => {
    const res = await runCli(['long-transactions', '--threshold-seconds', '1'], pg.env());
    expectContract(res, password(), 1);
    const pids = res.report.data.transactions.map((t: any) => t.pid);
    expect(pids).toContain(holderPid);
    expect(pids).not.toContain(res.report.data.ownPid);
    for (const t of res.report.data.transactions) expect(t.backendType).toBe('client backend');
    const [{ n }] = await pg.primary.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1', [holderPid]);
    expect(n).toBe(1);
  });

  test('--action terminate ends the held transaction only', async () => {
    const [{ walsender }] = await pg.primary.query(`SELECT pid AS walsender FROM pg_stat_replication`);
    const res = await runCli(['long-transactions', '--threshold-seconds', '1', '--action', 'terminate'], pg.env());
    expectContract(res, password(), 1);
    const held = res.report.data.transactions.find((t: any) => t.pid === holderPid);
    expect(held.actionSucceeded).toBe(true);
    await expect(holder.query('SELECT 1')).rejects.toThrow();
    const [{ n }] = await pg.primary.query('SELECT count(*)::int AS n FROM pg_stat_replication WHERE pid = $1', [walsender]);
    expect(n).toBe(1);
  });
});

describe('replication-lag', () => {
  test('primary: one standby streaming within the thresholds', async () => {
    const res = await runCli(['replication-lag'], pg.env());
    expectContract(res, password(), 0);
    expect(res.report.data.role).toBe('primary');
    expect(res.report.data.streaming).toBe(1);
    const s = res.report.data.standbys[0];
    for (const k of ['writeLagBytes', 'flushLagBytes', 'replayLagBytes', 'writeLagSeconds', 'flushLagSeconds', 'replayLagSeconds']) {
      expect(typeof s[k]).toBe('number');
    }
  });

  test('standby: its own receive/replay lag', async () => {
    const res = await runCli(['replication-lag'], pg.env(pg.replica));
    expectContract(res, password(), 0);
    expect(res.report.data.role).toBe('standby');
    expect(res.report.data.receiverStatus).toBe('streaming');
  });

  test('finding when fewer standbys than expected are connected', async () => {
    const res = await runCli(['replication-lag', '--expected-standbys', '2'], pg.env());
    expectContract(res, password(), 1);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'standbys_missing', streaming: 1, expected: 2 })]);
  });

  test('finding on primary and standby when the standby lags (replay paused)', async () => {
    await pg.replica!.query('SELECT pg_wal_replay_pause()');
    try {
      await pg.primary.query(`INSERT INTO users SELECT g, repeat('y', 200) FROM generate_series(100001, 102000) g`, [], pg.database);
      const [{ lsn }] = await pg.primary.query('SELECT pg_current_wal_lsn()::text AS lsn');
      // wait until the standby has received (not replayed) the new WAL
      for (let i = 0; i < 100; i++) {
        const [{ ok }] = await pg.replica!.query('SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn AS ok', [lsn]);
        if (ok) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const onPrimary = await runCli(['replication-lag', '--max-lag-bytes', '65536'], pg.env());
      expectContract(onPrimary, password(), 1);
      expect(onPrimary.report.findings).toEqual([expect.objectContaining({ code: 'replication_lag_bytes' })]);
      expect(onPrimary.report.data.standbys[0].replayLagBytes).toBeGreaterThan(65536);

      const onStandby = await runCli(['replication-lag', '--max-lag-bytes', '65536'], pg.env(pg.replica));
      expectContract(onStandby, password(), 1);
      expect(onStandby.report.data.replayPaused).toBe(true);
      expect(onStandby.report.findings).toEqual([expect.objectContaining({ code: 'replication_lag_bytes' })]);
    } finally {
      await pg.replica!.query('SELECT pg_wal_replay_resume()');
      await pg.primary.query(`DELETE FROM users WHERE id > 100000`, [], pg.database);
    }
    await pg.waitForReplay();
  });

  test('finding on both sides when the replica is stopped', async () => {
    await pg.replica!.stop('fast');
    await pg.waitForStandbys(0);
    const res = await runCli(['replication-lag'], pg.env());
    expectContract(res, password(), 1);
    expect(res.report.data.streaming).toBe(0);
    expect(res.report.findings[0].message).toMatch(/no standby is streaming/);
  });
});
