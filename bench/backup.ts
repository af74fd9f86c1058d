// bench:backup — the backup task against plain `pg_dump -Fc > file`, in one run,
// on the same databases (at least 100 MB and 1 GB by pg_database_size): throughput ratio and
// the Node process's peak RSS (VmHWM sampled from /proc). Not part of npm test.
//   npx ts-node --transpile-only bench/backup.ts [--sizes 100,1024] [--reps 2]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureBundle, PgCluster, startCli } from '../test/integration/jobs/pg-harness';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const SIZES_MB = arg('sizes', '100,1024').split(',').map(Number);
const REPS = Number(arg('reps', '2'));

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function pgDumpToFile(env: Record<string, string>, file: string): Promise<number> {
  const out = fs.openSync(file, 'w');
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    const c = spawn('pg_dump', ['-Fc'], { env: { ...process.env, ...env }, stdio: ['ignore', out, 'inherit'] });
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exit ${code}`))));
  });
  fs.closeSync(out);
  return now() - t0;
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

async function backupTask(env: Record<string, string>, dir: string): Promise<{ seconds: number; peakRssMb: number; bytes: number }> {
  const t0 = now();
  const run = startCli(['backup', '--dir', dir, '--keep', '1'], env);
  const stop = sampleHwm(run.pid);
  const res = await run.done;
  const seconds = now() - t0;
  const peakKb = stop();
  if (res.code !== 0) throw new Error(`backup task exit ${res.code}: ${res.stdout} ${res.stderr}`);
  return { seconds, peakRssMb: peakKb / 1024, bytes: res.report.data.manifest.sizeBytes };
}

async function main(): Promise<void> {
  ensureBundle();
  const pg = await PgCluster.start({ settings: { shared_buffers: `'256MB'`, max_wal_size: `'4GB'`, checkpoint_timeout: `'30min'` } });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-bench-backup-'));
  const results = [];
  try {
    for (const mb of SIZES_MB) {
      const db = `bench_${mb}mb`;
      await pg.primary.query(`CREATE DATABASE ${db} OWNER aiaas_ops`);
      // chunks of rows until pg_database_size reaches the size asked for
      const tLoad = now();
      const chunk = 500_000;
      let rows = 0;
      for (;;) {
        await pg.primary.query(
          `${rows === 0 ? 'CREATE TABLE events AS' : 'INSERT INTO events'}
           SELECT g::bigint AS id, md5(g::text) AS a, (g % 1000)::int AS b,
                  timestamptz '2026-01-01' + g * interval '1 second' AS at, repeat(chr((65 + g % 26)::int), 20) AS note
             FROM generate_series($1::bigint, $2::bigint) g`, [rows + 1, rows + chunk], db);
        rows += chunk;
        const [{ size: loaded }] = await pg.primary.query('SELECT pg_database_size(current_database())::bigint AS size', [], db);
        if (Number(loaded) >= mb * 1048576) break;
      }
      await pg.primary.query('VACUUM ANALYZE events', [], db);
      const [{ size }] = await pg.primary.query('SELECT pg_database_size(current_database())::bigint AS size', [], db);
      console.error(`# ${db}: ${rows} rows, database ${(Number(size) / 1048576).toFixed(0)} MB, loaded in ${(now() - tLoad).toFixed(1)} s`);

      const env = pg.env(undefined, { PGDATABASE: db });
      const dir = path.join(work, db);
      fs.mkdirSync(dir);
      const plainFile = path.join(work, `${db}.plain.dump`);
      await pgDumpToFile(env, plainFile); // warm-up: both then read from a warm cache
      const plain: number[] = [];
      const task: { seconds: number; peakRssMb: number; bytes: number }[] = [];
      for (let i = 0; i < REPS; i++) {
        plain.push(await pgDumpToFile(env, plainFile));
        task.push(await backupTask(env, dir));
        console.error(`#   rep ${i + 1}: pg_dump ${plain[i].toFixed(2)} s, backup task ${task[i].seconds.toFixed(2)} s, peak RSS ${task[i].peakRssMb.toFixed(1)} MB`);
      }
      const dbBytes = Number(size);
      const plainS = median(plain);
      const taskS = median(task.map((t) => t.seconds));
      results.push({
        database: db,
        databaseMb: +(dbBytes / 1048576).toFixed(1),
        dumpMb: +(fs.statSync(plainFile).size / 1048576).toFixed(1),
        pgDumpSeconds: +plainS.toFixed(2),
        backupTaskSeconds: +taskS.toFixed(2),
        pgDumpMbPerSecond: +(dbBytes / 1048576 / plainS).toFixed(1),
        backupTaskMbPerSecond: +(dbBytes / 1048576 / taskS).toFixed(1),
        throughputRatio: +(plainS / taskS).toFixed(3),
        peakRssMb: +Math.max(...task.map((t) => t.peakRssMb)).toFixed(1),
        reps: REPS,
      });
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(plainFile, { force: true });
      await pg.primary.query(`DROP DATABASE ${db}`);
    }
  } finally {
    await pg.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
  const out = { bench: 'backup', cpus: os.cpus().length, node: process.version, results };
  fs.mkdirSync('.bench', { recursive: true });
  fs.writeFileSync('.bench/backup.json', `${JSON.stringify(out, null, 2)}\n`);
  console.log(JSON.stringify(out, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
