// vacuum-analyze, table-sizes and slow-queries on their worst days: partitioned
// tables, a schema that does not exist, --parallel beyond the free connections, a
// role that owns only some tables, a locked table, statistics reset by a crash
// restart, and the job's own statements in pg_stat_statements.
import { Client } from 'pg';
import { ensureBundle, expectContract, PgCluster, runCli } from './pg-harness';

jest.setTimeout(180000);

let pg: PgCluster;
const PW = 'Maint-pw-83d0a1';

beforeAll(async () => {
  ensureBundle();
  pg = await PgCluster.start();
  await pg.primary.query('CREATE EXTENSION pg_stat_statements', [], pg.database);
  await pg.primary.query(`
    CREATE SCHEMA part AUTHORIZATION aiaas_ops;
    CREATE TABLE part.events (id int, at date) PARTITION BY RANGE (at);
    CREATE TABLE part.events_2025 PARTITION OF part.events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
    CREATE TABLE part.events_2026 PARTITION OF part.events FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
    INSERT INTO part.events SELECT g, date '2025-06-01' + (g % 400) FROM generate_series(1, 20000) g;
    CREATE TABLE part.plain (id int);
    ALTER TABLE part.events OWNER TO aiaas_ops; ALTER TABLE part.events_2025 OWNER TO aiaas_ops;
    ALTER TABLE part.events_2026 OWNER TO aiaas_ops; ALTER TABLE part.plain OWNER TO aiaas_ops;
    CREATE SCHEMA many AUTHORIZATION aiaas_ops;
    CREATE ROLE maint LOGIN PASSWORD '${PW}';
    CREATE SCHEMA perm AUTHORIZATION aiaas_ops;
    GRANT USAGE ON SCHEMA perm TO maint;
    CREATE TABLE perm.theirs (id int);
    CREATE TABLE perm.mine (id int);
    ALTER TABLE perm.theirs OWNER TO aiaas_ops;
    ALTER TABLE perm.mine OWNER TO maint;
    CREATE SCHEMA perm2 AUTHORIZATION aiaas_ops;
    GRANT USAGE ON SCHEMA perm2 TO maint;
    CREATE TABLE perm2.pt (id int) PARTITION BY RANGE (id);
    CREATE TABLE perm2.pt_1 PARTITION OF perm2.pt FOR VALUES FROM (0) TO (1000);
    ALTER TABLE perm2.pt OWNER TO aiaas_ops;
    ALTER TABLE perm2.pt_1 OWNER TO maint;
    CREATE TABLE public.small (id int);
    CREATE TABLE public.locked_one (id int);
    CREATE TABLE public.big (id int PRIMARY KEY, v int);
    INSERT INTO public.big SELECT g, 0 FROM generate_series(1, 50000) g;
  `, [], pg.database);
  for (let i = 0; i < 10; i++) await pg.primary.query(`CREATE TABLE many.t${i} (id int)`, [], pg.database);
});

afterAll(async () => {
  await pg?.stop();
});

describe('vacuum-analyze', () => {
  test('ANALYZEs a partitioned table (autovacuum never does) after VACUUMing its partitions', async () => {
    const res = await runCli(['vacuum-analyze', '--schema', 'part'], pg.env());
    expectContract(res, pg.password, 0);
    expect(res.report.data.analyzedPartitioned).toEqual(['part.events']);
    const byTable = Object.fromEntries(res.report.data.tables.map((t: any) => [t.table, t]));
    expect(byTable['part.events']).toMatchObject({ operation: 'ANALYZE', result: 'analyzed' });
    // the parent's ANALYZE covers its partitions: they are only vacuumed
    expect(byTable['part.events_2025']).toMatchObject({ operation: 'VACUUM', result: 'vacuumed' });
    expect(byTable['part.plain']).toMatchObject({ operation: 'VACUUM (ANALYZE)', result: 'vacuumed' });
    const [{ n }] = await pg.primary.query(
      `SELECT count(*)::int AS n FROM pg_stats WHERE schemaname = 'part' AND tablename = 'events' AND inherited`, [], pg.database);
    expect(n).toBe(2);
    const parts = await pg.primary.query(
      `SELECT relname, last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analyzed
         FROM pg_stat_user_tables WHERE schemaname = 'part' AND relname LIKE 'events_%' ORDER BY relname`, [], pg.database);
    expect(parts).toEqual([
      { relname: 'events_2025', vacuumed: true, analyzed: true },
      { relname: 'events_2026', vacuumed: true, analyzed: true },
    ]);
  });

  test('--schema naming no schema is an error, not a quiet success', async () => {
    const res = await runCli(['vacuum-analyze', '--schema', 'no_such_schema'], pg.env());
    expectContract(res, pg.password, 2);
    expect(res.report.errors).toEqual(['--schema no_such_schema: no schema of that name in database "aiaas" (nothing was vacuumed)']);
    // a configuration mistake, told in a sentence: no stack trace in the log
    expect(res.logs.some((l: any) => l.err?.stack)).toBe(false);
  });

  // (the CLI refuses --parallel above 64 as a usage error; within that range the server decides)
  test('--parallel 64 is bounded by the table count', async () => {
    const res = await runCli(['vacuum-analyze', '--schema', 'part', '--parallel', '64'], pg.env());
    expectContract(res, pg.password, 0);
    expect(res.report.data.parallel).toBe(3);
    expect(res.report.warnings).toEqual(['--parallel 64 lowered to 3: only 3 tables to process in schema "part"']);
  });

  test('--parallel 64 takes at most half the free connections: the applications are never refused', async () => {
    // 40 application sessions of max_connections 50 (3 reserved for superusers)
    const apps: Client[] = [];
    for (let i = 0; i < 40; i++) apps.push(await pg.primary.connect(pg.database));
    try {
      const res = await runCli(['vacuum-analyze', '--schema', 'many', '--parallel', '64'], pg.env());
      expectContract(res, pg.password, 0);
      const free = res.report.data.freeConnections;
      expect(free).toBeLessThanOrEqual(50 - 3 - 40 - 1);
      expect(res.report.data.parallel).toBe(1 + Math.floor(free / 2));
      expect(res.report.warnings[0]).toMatch(/^--parallel 64 lowered to \d: only \d connections free \(max_connections 50 − 3 reserved − \d+ in use\)/);
      expect(res.report.data.vacuumed).toBe(10);
      expect(pg.primary.log()).not.toMatch(/too many clients/);
    } finally {
      await Promise.all(apps.map((c) => c.end()));
    }
  });

  test('tables the role may not vacuum are errors naming them, not "vacuumed" (VACUUM only warns)', async () => {
    const res = await runCli(['vacuum-analyze', '--schema', 'perm'], pg.env(undefined, { PGUSER: 'maint', PGPASSWORD: PW }));
    expectContract(res, PW, 2);
    expect(res.report.data.tables.map((t: any) => t.table)).toEqual(['perm.mine']);
    expect(res.report.data.notPermitted).toEqual(['perm.theirs']);
    expect(res.report.errors).toEqual([expect.stringMatching(/^perm\.theirs not vacuumed: role "maint" is neither its owner \("aiaas_ops"\), the owner of database "aiaas" nor a superuser/)]);
  });
});

describe('vacuum-analyze as the owner of a partition only', () => {
  test('the partition is analyzed itself: the parent, which would cover it, is not the role\'s', async () => {
    const res = await runCli(['vacuum-analyze', '--schema', 'perm2'], pg.env(undefined, { PGUSER: 'maint', PGPASSWORD: PW }));
    expectContract(res, PW, 2);
    expect(res.report.data.tables).toEqual([expect.objectContaining({ table: 'perm2.pt_1', operation: 'VACUUM (ANALYZE)', result: 'vacuumed' })]);
    expect(res.report.data.notPermitted).toEqual(['perm2.pt']);
  });
});

describe('table-sizes', () => {
  test('one locked table is skipped and named, the rest reported', async () => {
    const holder = await pg.primary.connect(pg.database);
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE public.locked_one IN ACCESS EXCLUSIVE MODE');
      const started = Date.now();
      const res = await runCli(['table-sizes', '--lock-timeout-ms', '300'], pg.env());
      expectContract(res, pg.password, 1);
      expect(Date.now() - started).toBeLessThan(15000);
      expect(res.report.data.skipped).toEqual(['public.locked_one']);
      expect(res.report.findings).toEqual([expect.objectContaining({ code: 'table_skipped', table: 'public.locked_one' })]);
      expect(res.report.findings[0].message).toMatch(/lock_timeout 300 ms/);
      expect(res.report.data.tables.map((t: any) => t.name).sort()).toEqual(['big', 'small']);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
  });

  test('a partitioned table\'s size is the sum of its partitions', async () => {
    const res = await runCli(['table-sizes', '--schema', 'part'], pg.env());
    expectContract(res, pg.password, 0);
    const events = res.report.data.tables.find((t: any) => t.name === 'events');
    const [{ total }] = await pg.primary.query(
      `SELECT (pg_total_relation_size('part.events_2025') + pg_total_relation_size('part.events_2026'))::int8::text AS total`, [], pg.database);
    expect(events.totalBytes).toBe(Number(total));
    expect(events.totalBytes).toBeGreaterThan(0);
    expect(events).toMatchObject({ kind: 'p', partitions: 2, deadRatio: null });
    expect(res.report.data.tables[0].name).toBe('events');
  });

  test('--schema naming no schema is an error', async () => {
    const res = await runCli(['table-sizes', '--schema', 'no_such_schema'], pg.env());
    expectContract(res, pg.password, 2);
    expect(res.report.errors[0]).toMatch(/--schema no_such_schema: no schema of that name/);
  });
});

describe('slow-queries', () => {
  test('--min-mean-ms makes a slow statement a finding; the job\'s own statements are left out', async () => {
    await pg.primary.query('SELECT pg_sleep(0.3)', [], pg.database);
    // the job's own statements in pg_stat_statements: its VACUUMs and listings
    await runCli(['vacuum-analyze', '--schema', 'part'], pg.env());
    const [{ own }] = await pg.primary.query(`SELECT count(*)::int AS own FROM pg_stat_statements WHERE query LIKE '/* aiaas-job */%'`, [], pg.database);
    expect(own).toBeGreaterThan(3);

    const res = await runCli(['slow-queries', '--limit', '100', '--min-mean-ms', '200'], pg.env());
    expectContract(res, pg.password, 1);
    const sleep = res.report.findings.find((f: any) => /pg_sleep/.test(f.message));
    expect(sleep).toMatchObject({ code: 'slow_query', calls: 1 });
    // (a loaded machine stretches the 0.3 s sleep: the mean is at least 0.3 s, not exactly)
    expect(sleep.message).toMatch(/\d+\.\d\d s on average over 1 calls \(> 200 ms\): SELECT pg_sleep/);
    expect(sleep.meanMs).toBeGreaterThanOrEqual(300);
    for (const f of res.report.findings) expect(f.meanMs).toBeGreaterThan(200);
    const texts: string[] = res.report.data.statements.map((s: any) => s.query);
    expect(texts.length).toBeGreaterThan(0);
    // the job's VACUUMs, its session settings and its own pg_stat_statements query
    expect(texts.filter((q) => q.includes('aiaas-job') || /VACUUM|set_config|left\(s\.query/.test(q))).toEqual([]);

    const calm = await runCli(['slow-queries', '--min-mean-ms', '5000'], pg.env());
    expectContract(calm, pg.password, 0);
  });
});

describe('table-sizes after a crash restart (statistics reset)', () => {
  test('no dead-tuple ratio from reset counters, so no false "bloated"; back after ANALYZE', async () => {
    await pg.primary.query('VACUUM ANALYZE public.big', [], pg.database);
    // the harness runs with synchronous_commit off: make the catalog's reltuples survive the crash
    await pg.primary.query('CHECKPOINT');
    await pg.primary.stop('immediate');
    await pg.primary.start();
    await pg.primary.query('UPDATE public.big SET v = 1 WHERE id <= 3000', [], pg.database);

    const res = await runCli(['table-sizes', '--max-dead-ratio', '0.2', '--min-dead-tuples', '1000'], pg.env());
    expectContract(res, pg.password, 0);
    const big = res.report.data.tables.find((t: any) => t.name === 'big');
    expect(big.deadTuples).toBe(3000);
    expect(big.deadRatio).toBeNull();
    expect(big.deadRatioNote).toMatch(/statistics reset since the last VACUUM\/ANALYZE/);

    await pg.primary.query('ANALYZE public.big', [], pg.database);
    const after = await runCli(['table-sizes'], pg.env());
    expectContract(after, pg.password, 0);
    const analyzed = after.report.data.tables.find((t: any) => t.name === 'big');
    expect(analyzed.deadRatio).toBeGreaterThan(0);
    expect(analyzed.deadRatio).toBeLessThan(0.2);
  });
});
