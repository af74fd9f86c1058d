// bench:backup — backup and restore, ours against the plain tools, in one run on the same
// databases: `backup` (the flags under test, default --format directory --jobs 2 --compress 1)
// against `pg_dump -Fc > file`, and `restore-verify --jobs 2` (checksums, restore into a scratch
// database, row counts) against a single-job `pg_restore` of that pg_dump file into an empty
// database. Databases: one table of each --sizes (MB, by pg_database_size) and one of --multi MB
// spread over 4 tables with primary keys and an index each. Peak RSS of the Node process is VmHWM
// sampled from /proc. CPU seconds of each restore are counted too, the client's (this process's
// reaped children: pg_restore, the CLI and its pg_restore) and the server's (the postmaster's
// reaped backends and its live processes): on a shared machine wall times depend on the load,
// CPU seconds much less, and total CPU / cores is the floor of a parallel restore. Not part of npm test.
//   npx ts-node --transpile-only bench/backup.ts [--sizes 100] [--multi 1024] [--reps 1] [--flags "..."]
// Last line: `backup N.NNx pg_dump -Fc time, restore N.NNx pg_restore time, size N.NNx, peak RSS N MB`
// for the multi-table database.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBundle, PgCluster, startCli } from '../test/integration/jobs/pg-harness';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SIZES_MB = arg('sizes', '100').split(',').filter(Boolean).map(Number);
const MULTI_MB = Number(arg('multi', '1024'));
const REPS = Number(arg('reps', '1'));
const FLAGS = arg('flags', '--format directory --jobs 2 --compress 1').split(' ').filter(Boolean);
const RESTORE_JOBS = arg('restore-jobs', '2');

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function run(cmd: string, args: string[], env: Record<string, string>, stdoutFile?: string): Promise<number> {
  const out = stdoutFile ? fs.openSync(stdoutFile, 'w') : 'ignore';
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', out, 'inherit'] });
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exit ${code}`))));
  });
  if (typeof out === 'number') fs.closeSync(out);
  return now() - t0;
}

const TICK = 100; // USER_HZ on Linux
/** utime, stime (and with `children`, cutime, cstime) of a pid in seconds, from /proc/<pid>/stat. */
function cpuOf(pid: number | 'self', children: boolean): number {
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // after the ") ", field 14 of stat (utime) is index 11
    return (Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0)) / TICK;
  } catch {
    return 0; // exited
  }
}

/** CPU seconds so far of the server (postmaster, its reaped backends, its live processes) and of our children. */
function cpuNow(pg: PgCluster): { server: number; client: number } {
  const pm = Number(fs.readFileSync(path.join(pg.primary.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const kids = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1] === String(pm);
    } catch {
      return false;
    }
  });
  return { server: cpuOf(pm, true) + kids.reduce((a, k) => a + cpuOf(Number(k), false), 0), client: cpuOf('self', true) };
}

async function withCpu<T>(pg: PgCluster, fn: () => Promise<T>): Promise<{ value: T; cpu: { server: number; client: number } }> {
  const a = cpuNow(pg);
  const value = await fn();
  await new Promise((r) => setTimeout(r, 300)); // backends exit and are reaped
  const b = cpuNow(pg);
  return { value, cpu: { server: +(b.server - a.server).toFixed(2), client: +(b.client - a.client).toFixed(2) } };
}

/** Peak RSS (VmHWM, kB) of a pid, sampled until it exits. */
function sampleHwm(pid: number): () => number {
  let peak = 0;
  const read = (): void => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]));
    } catch {
      // exited
    }
  };
  const timer = setInterval(read, 25);
  read();
  return () => {
    clearInterval(timer);
    return peak;
  };
}

async function task(args: string[], env: Record<string, string>): Promise<{ seconds: number; peakRssMb: number; report: any }> {
  const t0 = now();
  const cli = startCli(args, env);
  const stop = sampleHwm(cli.pid);
  const res = await cli.done;
  const seconds = now() - t0;
  const peakKb = stop();
  if (res.code !== 0) throw new Error(`${args[0]} exit ${res.code}: ${res.stdout} ${res.stderr}`);
  return { seconds, peakRssMb: peakKb / 1024, report: res.report };
}

/** Loads `tables` tables (primary key and one index each) in chunks until the database reaches `mb`. */
async function load(pg: PgCluster, db: string, mb: number, tables: string[]): Promise<void> {
  for (const t of tables) {
    await pg.primary.query(`CREATE TABLE ${t} (id bigint PRIMARY KEY, a text, b int, at timestamptz, note text)`, [], db);
    await pg.primary.query(`CREATE INDEX ON ${t} (b, at)`, [], db);
  }
  const chunk = 250_000;
  let rows = 0;
  for (;;) {
    for (const t of tables) {
      await pg.primary.query(
        `INSERT INTO ${t}
         SELECT g, md5(g::text), (g % 1000)::int, timestamptz '2026-01-01' + g * interval '1 second', repeat(chr((65 + g % 26)::int), 20)
           FROM generate_series($1::bigint, $2::bigint) g`, [rows + 1, rows + chunk], db);
    }
    rows += chunk;
    const [{ size }] = await pg.primary.query('SELECT pg_database_size(current_database())::bigint AS size', [], db);
    if (Number(size) >= mb * 1048576) break;
  }
  await pg.primary.query('VACUUM ANALYZE', [], db);
}

async function main(): Promise<void> {
  ensureBundle();
  const pg = await PgCluster.start({ settings: { shared_buffers: `'256MB'`, max_wal_size: `'4GB'`, checkpoint_timeout: `'30min'` } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-backup-'));
  const results = [];
  const cases = [
    ...SIZES_MB.map((mb) => ({ db: `bench_${mb}mb`, mb, tables: ['events'] })),
    ...(MULTI_MB > 0 ? [{ db: `bench_${MULTI_MB}mb_4tables`, mb: MULTI_MB, tables: ['events', 'orders', 'sessions', 'audit'] }] : []),
  ];
  try {
    for (const c of cases) {
      await pg.primary.query(`CREATE DATABASE ${c.db} OWNER aiaas_ops`);
      const tLoad = now();
      await load(pg, c.db, c.mb, c.tables);
      const [{ size }] = await pg.primary.query('SELECT pg_database_size(current_database())::bigint AS size', [], c.db);
      console.error(`# ${c.db}: ${c.tables.length} tables, database ${(Number(size) / 1048576).toFixed(0)} MB, loaded in ${(now() - tLoad).toFixed(1)} s`);

      const env = pg.env(undefined, { PGDATABASE: c.db });
      const dir = path.join(work, c.db);
      fs.mkdirSync(dir);
      const plainFile = path.join(work, `${c.db}.plain.dump`);
      const target = `${c.db}_plain_restore`;
      const pgDump = (): Promise<number> => run('pg_dump', ['-Fc'], env, plainFile);
      const pgRestore = async (file = plainFile, extra: string[] = []): Promise<number> => {
        await pg.primary.query(`DROP DATABASE IF EXISTS ${target}`);
        await pg.primary.query(`CREATE DATABASE ${target} OWNER aiaas_ops TEMPLATE template0`);
        const s = await run('pg_restore', ['--exit-on-error', '--no-owner', '--no-acl', ...extra, `--dbname=${target}`, file], env);
        await pg.primary.query(`DROP DATABASE ${target}`);
        return s;
      };
      await pgDump(); // warm-up: both then read from a warm cache
      const row = { plainDump: [] as number[], plainRestore: [] as number[], backup: [] as number[], verify: [] as number[], rss: [] as number[], bytes: 0,
        jobsRestore: [] as number[], cpu: {} as Record<string, { server: number; client: number }>, phases: {} as Record<string, number> };
      for (let i = 0; i < REPS; i++) {
        row.plainDump.push(await pgDump());
        const b = await task(['backup', '--dir', dir, '--keep', '1', ...FLAGS], env);
        row.backup.push(b.seconds);
        row.bytes = b.report.data.manifest.sizeBytes;
        const plain = await withCpu(pg, () => pgRestore());
        row.plainRestore.push(plain.value);
        // pg_restore --jobs alone, of our backup, no checks: what restore-verify's own work adds to
        const backupPath = path.join(dir, b.report.data.file);
        const jobs = await withCpu(pg, () => pgRestore(backupPath, [`--jobs=${RESTORE_JOBS}`]));
        row.jobsRestore.push(jobs.value);
        const verify = await withCpu(pg, () => task(['restore-verify', '--dir', dir, '--jobs', RESTORE_JOBS, '--tables', c.tables.join(','),
          '--scratch-database', `${c.db}_verify`], env));
        const v = verify.value;
        row.verify.push(v.seconds);
        row.rss.push(b.peakRssMb, v.peakRssMb);
        row.cpu = { pgRestore: plain.cpu, pgRestoreJobs: jobs.cpu, restoreVerify: verify.cpu };
        row.phases = v.report.data.phases;
        console.error(`#   CPU s (server + client): pg_restore ${plain.cpu.server} + ${plain.cpu.client}, pg_restore --jobs ${RESTORE_JOBS}`
          + ` ${jobs.cpu.server} + ${jobs.cpu.client} (${jobs.value.toFixed(2)} s), restore-verify ${verify.cpu.server} + ${verify.cpu.client};`
          + ` restore-verify phases ${JSON.stringify(v.report.data.phases)}`);
        console.error(`#   rep ${i + 1}: pg_dump -Fc ${row.plainDump[i].toFixed(2)} s, backup ${b.seconds.toFixed(2)} s;`
          + ` pg_restore ${row.plainRestore[i].toFixed(2)} s, restore-verify ${v.seconds.toFixed(2)} s`
          + ` (pg_restore inside ${v.report.data.restoreSeconds.toFixed(2)} s); peak RSS ${b.peakRssMb.toFixed(1)} / ${v.peakRssMb.toFixed(1)} MB`);
      }
      const plainBytes = fs.statSync(plainFile).size;
      results.push({
        database: c.db,
        tables: c.tables.length,
        databaseMb: +(Number(size) / 1048576).toFixed(1),
        pgDumpFcMb: +(plainBytes / 1048576).toFixed(1),
        backupMb: +(row.bytes / 1048576).toFixed(1),
        pgDumpFcSeconds: +median(row.plainDump).toFixed(2),
        backupSeconds: +median(row.backup).toFixed(2),
        pgRestoreSeconds: +median(row.plainRestore).toFixed(2),
        restoreVerifySeconds: +median(row.verify).toFixed(2),
        backupRatio: +(median(row.backup) / median(row.plainDump)).toFixed(3),
        restoreRatio: +(median(row.verify) / median(row.plainRestore)).toFixed(3),
        sizeRatio: +(row.bytes / plainBytes).toFixed(3),
        pgRestoreJobsSeconds: +median(row.jobsRestore).toFixed(2),
        cpuSeconds: row.cpu,
        restoreVerifyPhases: row.phases,
        peakRssMb: +Math.max(...row.rss).toFixed(1),
        peakRssBackupMb: +row.rss[0].toFixed(1),
        peakRssRestoreVerifyMb: +row.rss[1].toFixed(1),
        reps: REPS,
      });
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(plainFile, { force: true });
      await pg.primary.query(`DROP DATABASE ${c.db}`);
    }
  } finally {
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const out = { bench: 'backup', cpus: os.cpus().length, loadavg: os.loadavg(), node: process.version, flags: FLAGS.join(' '), restoreJobs: RESTORE_JOBS, results };
  fs.mkdirSync('.bench', { recursive: true });
  fs.writeFileSync('.bench/backup.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
  const r = results[results.length - 1];
  const rss = Math.max(...results.map((x) => x.peakRssMb));
  console.log(`backup ${r.backupRatio.toFixed(2)}x pg_dump -Fc time, restore ${r.restoreRatio.toFixed(2)}x pg_restore time, `
    + `size ${r.sizeRatio.toFixed(2)}x, peak RSS ${Math.round(rss)} MB`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
