// The monitoring tasks as the roles they really run as, and the sessions they act
// on: a role without pg_read_all_stats, a pg_monitor role, a WAL archiver and a
// logical walsender next to the streaming standby, an idle-in-transaction session
// that a cancel cannot end.
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from 'pg';
import { ensureBundle, expectContract, PG_BIN, PgCluster, runCli } from './pg-harness';

jest.setTimeout(120000);

let pg: PgCluster;
const PW = 'Role-pw-5f1c2b';
const asRole = (user: string, node = pg?.primary): Record<string, string> => pg.env(node, { PGUSER: user, PGPASSWORD: PW });

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start({ replica: true, settings: { wal_level: 'logical', max_replication_slots: 5 } });
  await pg.primary.query(`
    CREATE ROLE blind LOGIN PASSWORD '${PW}';
    CREATE ROLE watcher LOGIN PASSWORD '${PW}';
    GRANT pg_monitor TO watcher;
  `);
  await pg.primary.query('CREATE EXTENSION pg_stat_statements', [], pg.database);
});

afterAll(async () => {
  await pg?.stop();
});

/** A superuser session with a transaction open for over a second. */
async function holdTransaction(): Promise<{ client: Client; pid: number }> {
  const client = await pg.primary.connect(pg.database);
  const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  await client.query('BEGIN');
  await client.query('SELECT txid_current()');
  await new Promise((r) => setTimeout(r, 1500));
  return { client, pid };
}

describe('without pg_read_all_stats every monitoring task stops, naming the grant', () => {
  test.each([
    ['db-health', [], 'pg_read_all_stats'],
    ['long-transactions', ['--threshold-seconds', '1'], 'pg_read_all_stats'],
    ['replication-lag', [], 'pg_read_all_stats'],
    ['slow-queries', [], 'pg_read_all_stats and pg_read_all_settings'],
  ])('%s', async (task, args, missing) => {
    const held = await holdTransaction();
    try {
      const res = await runCli([task, ...args], asRole('blind'));
      expectContract(res, PW, 2);
      expect(res.report.errors).toHaveLength(1);
      expect(res.report.errors[0]).toContain(`role "blind" lacks ${missing}`);
      expect(res.report.errors[0]).toContain('GRANT pg_monitor TO "blind"');
      expect(res.report.findings).toEqual([]);
      expect(res.logs.some((l: any) => l.err?.stack)).toBe(false);
    } finally {
      await held.client.end();
    }
  });

  test('table-sizes needs no grant: sizes and dead tuples of other roles\' tables are readable by every role', async () => {
    await pg.primary.query(`
      CREATE TABLE others (id int) WITH (autovacuum_enabled = false);
      INSERT INTO others SELECT g FROM generate_series(1, 4000) g;
      DELETE FROM others WHERE id <= 2000;
    `, [], pg.database);
    const res = await runCli(['table-sizes', '--max-dead-ratio', '0.4'], asRole('blind'));
    expectContract(res, PW, 1);
    const t = res.report.data.tables.find((x: any) => x.name === 'others');
    expect(t.totalBytes).toBeGreaterThan(0);
    expect(t).toMatchObject({ deadTuples: 2000, liveTuples: 2000, deadRatio: 0.5 });
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'table_bloated', table: 'others' })]);
  });

  test('replication-lag on the standby too', async () => {
    const res = await runCli(['replication-lag'], asRole('blind', pg.replica));
    expectContract(res, PW, 2);
    expect(res.report.errors[0]).toContain('lacks pg_read_all_stats');
  });
});

describe('with pg_monitor the tasks see every session', () => {
  test('db-health counts the other roles\' connections', async () => {
    const others = await Promise.all([1, 2, 3].map(() => pg.primary.connect(pg.database)));
    try {
      const res = await runCli(['db-health'], asRole('watcher'));
      expectContract(res, PW, 0);
      // three superuser sessions and the job's own
      expect(res.report.data.connections.used).toBeGreaterThanOrEqual(4);
    } finally {
      await Promise.all(others.map((c) => c.end()));
    }
  });

  test('replication-lag sees the standby streaming', async () => {
    const res = await runCli(['replication-lag', '--expected-standbys', '1'], asRole('watcher'));
    expectContract(res, PW, 0);
    expect(res.report.data.streaming).toBe(1);
    const onStandby = await runCli(['replication-lag'], asRole('watcher', pg.replica));
    expectContract(onStandby, PW, 0);
    expect(onStandby.report.data.receiverStatus).toBe('streaming');
  });

  test('--action terminate without the right to signal: the findings and pids stay, the failed action is an error', async () => {
    const held = await holdTransaction();
    try {
      const res = await runCli(['long-transactions', '--threshold-seconds', '1', '--action', 'terminate'], asRole('watcher'));
      expectContract(res, PW, 2);
      const finding = res.report.findings.find((f: any) => f.pid === held.pid);
      expect(finding).toMatchObject({ code: 'long_transaction', outcome: 'signal_failed' });
      expect(finding.message).toMatch(/terminate failed: 42501: (permission denied|must be a superuser)/);
      const t = res.report.data.transactions.find((x: any) => x.pid === held.pid);
      expect(t).toMatchObject({ signalSent: false, actionSucceeded: false, outcome: 'signal_failed' });
      expect(res.report.errors).toEqual([expect.stringMatching(new RegExp(`^pid ${held.pid}: terminate failed: 42501`))]);
      await expect(held.client.query('SELECT 1')).resolves.toBeDefined();
    } finally {
      await held.client.end();
    }
  });
});

describe('long-transactions checks what its action did', () => {
  test('cancel on an idle-in-transaction session: signal sent, transaction still open, said so', async () => {
    const held = await holdTransaction();
    try {
      const res = await runCli(['long-transactions', '--threshold-seconds', '1', '--action', 'cancel'], pg.env());
      expectContract(res, pg.password, 1);
      const t = res.report.data.transactions.find((x: any) => x.pid === held.pid);
      expect(t).toMatchObject({ state: 'idle in transaction', signalSent: true, actionSucceeded: false, outcome: 'still_open', stateAfter: 'idle in transaction' });
      const finding = res.report.findings.find((f: any) => f.pid === held.pid);
      expect(finding.message).toMatch(/still open .*does nothing to an idle-in-transaction session; use --action terminate/);
      // and it is indeed still open
      const [{ open }] = await pg.primary.query('SELECT xact_start IS NOT NULL AS open FROM pg_stat_activity WHERE pid = $1', [held.pid]);
      expect(open).toBe(true);
    } finally {
      await held.client.end();
    }
  });

  test('cancel of a running statement ends its transaction, seen on a second look', async () => {
    const held = await holdTransaction();
    const running = held.client.query('SELECT pg_sleep(60)').catch((e: Error) => e);
    try {
      await new Promise((r) => setTimeout(r, 300));
      const res = await runCli(['long-transactions', '--threshold-seconds', '1', '--action', 'cancel'], pg.env());
      expectContract(res, pg.password, 1);
      const t = res.report.data.transactions.find((x: any) => x.pid === held.pid);
      expect(t).toMatchObject({ state: 'active', signalSent: true, actionSucceeded: true, outcome: 'transaction_ended', stateAfter: 'idle in transaction (aborted)' });
      expect(await running).toBeInstanceOf(Error);
    } finally {
      await held.client.end();
    }
  });
});

describe('replication-lag counts only physical standbys that replay', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGTERM');
  });

  /** Run a PostgreSQL client program as the postgres OS user (root in CI) over the socket. */
  function startAsPostgres(bin: string, args: string[]): ChildProcess {
    const cmd = path.join(PG_BIN, bin);
    const asRoot = process.getuid?.() === 0;
    const child = asRoot
      ? spawn('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore' })
      : spawn(cmd, args, { stdio: 'ignore' });
    children.push(child);
    return child;
  }

  async function waitForWalSenders(n: number): Promise<void> {
    for (let i = 0; i < 200; i++) {
      const [{ count }] = await pg.primary.query(`SELECT count(*)::int AS count FROM pg_stat_replication WHERE state = 'streaming'`);
      if (count >= n) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`expected ${n} streaming walsenders`);
  }

  test('a pg_receivewal archiver and a logical walsender are listed apart, not counted', async () => {
    const walDir = path.join(pg.root, 'archive');
    fs.mkdirSync(walDir);
    if (process.getuid?.() === 0) fs.chownSync(walDir, Number(fs.statSync(pg.root).uid), Number(fs.statSync(pg.root).gid));
    const conn = ['-h', pg.root, '-p', String(pg.primary.port), '-U', 'postgres'];
    startAsPostgres('pg_receivewal', [...conn, '-D', walDir, '--no-sync']);
    await pg.primary.query(`SELECT pg_create_logical_replication_slot('audit', 'test_decoding')`, [], pg.database);
    startAsPostgres('pg_recvlogical', [...conn, '-d', pg.database, '--slot', 'audit', '--start', '-f', '/dev/null']);
    await waitForWalSenders(3);

    const res = await runCli(['replication-lag', '--expected-standbys', '2'], pg.env());
    expectContract(res, pg.password, 1);
    expect(res.report.data.streaming).toBe(1);
    expect(res.report.data.standbys).toHaveLength(1);
    expect(res.report.findings).toEqual([expect.objectContaining({ code: 'standbys_missing', streaming: 1, expected: 2 })]);
    const others = res.report.data.otherWalSenders;
    expect(others.map((o: any) => o.applicationName).sort()).toEqual(['pg_receivewal', 'pg_recvlogical']);
    expect(others.find((o: any) => o.applicationName === 'pg_recvlogical')).toMatchObject({ kind: 'logical walsender', slotName: 'audit', database: pg.database });
    expect(others.find((o: any) => o.applicationName === 'pg_receivewal').kind).toMatch(/without replay/);

    const one = await runCli(['replication-lag', '--expected-standbys', '1'], asRole('watcher'));
    expectContract(one, PW, 0);
    expect(one.report.data.streaming).toBe(1);
  });
});
