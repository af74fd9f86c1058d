// bench:vacuum — `vacuumdb --analyze --jobs=2 --table=...` (the 500 tables) against the
// vacuum-analyze task with --parallel 2, on 500 tables with dead tuples. Before
// every run the same number of dead tuples is recreated in each table, and the
// two alternate, so neither gets an easier database. Not part of npm test.
//   npx ts-node --transpile-only bench/vacuum.ts [--tables 500] [--rows 2000] [--reps 3]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ensureBundle, PgCluster, runCli } from '../test/integration/jobs/pg-harness';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const TABLES = Number(arg('tables', '500'));
const ROWS = Number(arg('rows', '2000'));
const REPS = Number(arg('reps', '3'));

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function dirty(pg: PgCluster): Promise<void> {
  // one statement per table in a DO block: every table gets ROWS/4 dead tuples
  await pg.primary.query(`
    DO $$ BEGIN
      FOR i IN 1..${TABLES} LOOP
        EXECUTE format('UPDATE %I SET v = v + 1 WHERE id %% 4 = 0', 't' || i);
      END LOOP;
    END $$`, [], pg.database);
}

async function vacuumdb(env: Record<string, string>): Promise<number> {
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    // the same 500 tables as the task (vacuumdb 15 has no --schema: one --table each)
    const tables = Array.from({ length: TABLES }, (_, i) => `--table=public.t${i + 1}`);
    const c = spawn('vacuumdb', ['--analyze', '--jobs=2', '--quiet', ...tables], { env: { ...process.env, ...env }, stdio: 'inherit' });
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`vacuumdb exit ${code}`))));
  });
  return now() - t0;
}

async function task(env: Record<string, string>): Promise<number> {
  const t0 = now();
  const res = await runCli(['vacuum-analyze', '--parallel', '2'], env);
  const s = now() - t0;
  if (res.code !== 0 || res.report.data.vacuumed !== TABLES) throw new Error(`vacuum-analyze: ${res.stdout} ${res.stderr}`);
  return s;
}

async function main(): Promise<void> {
  ensureBundle();
  const pg = await PgCluster.start({ settings: { autovacuum: 'off', max_locks_per_transaction: 256 } });
  try {
    await pg.primary.query(`
      DO $$ BEGIN
        FOR i IN 1..${TABLES} LOOP
          EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v int, pad text)', 't' || i);
          EXECUTE format('INSERT INTO %I SELECT g, 0, md5(g::text) FROM generate_series(1, ${ROWS}) g', 't' || i);
          EXECUTE format('ALTER TABLE %I OWNER TO aiaas_ops', 't' || i);
        END LOOP;
      END $$`, [], pg.database);
    const env = pg.env();
    await vacuumdb(env); // warm-up, sets the visibility maps of both
    const plain: number[] = [];
    const ours: number[] = [];
    for (let i = 0; i < REPS; i++) {
      await dirty(pg);
      plain.push(await vacuumdb(env));
      await dirty(pg);
      ours.push(await task(env));
      console.error(`# rep ${i + 1}: vacuumdb ${plain[i].toFixed(2)} s, vacuum-analyze ${ours[i].toFixed(2)} s`);
    }
    const out = {
      bench: 'vacuum',
      cpus: os.cpus().length,
      tables: TABLES,
      rowsPerTable: ROWS,
      deadTuplesPerTable: Math.floor(ROWS / 4),
      reps: REPS,
      vacuumdbSeconds: +median(plain).toFixed(2),
      vacuumAnalyzeSeconds: +median(ours).toFixed(2),
      timeRatio: +(median(ours) / median(plain)).toFixed(3),
      all: { vacuumdb: plain.map((x) => +x.toFixed(2)), vacuumAnalyze: ours.map((x) => +x.toFixed(2)) },
    };
    fs.mkdirSync('.bench', { recursive: true });
    fs.writeFileSync('.bench/vacuum.json', `${JSON.stringify(out, null, 2)}\n`);
    console.log(JSON.stringify(out, null, 2));
  } finally {
    await pg.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
