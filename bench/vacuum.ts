// bench:vacuum — `vacuumdb --analyze --jobs=2 --table=...` (the 500 tables) against the
// vacuum-analyze task with --parallel 2, on 500 tables with dead tuples, for each
// table size in --rows. Before every run the same number of dead tuples is recreated
// in each table, and the two alternate, so neither gets an easier database. It also
// measures each tool's fixed cost (start, connect, list, exit) on one empty table and
// a bare `node -e 0`, so the ratio can be split into fixed cost and vacuuming.
// Not part of npm test.
//   npx ts-node --transpile-only bench/vacuum.ts [--tables 500] [--rows 2000,20000] [--reps 5]
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ensureBundle, PgCluster, runCli } from '../test/integration/jobs/pg-harness';

const arg = (name: string, def: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const TABLES = Number(arg('tables', '500'));
const ROW_COUNTS = arg('rows', '2000,20000').split(',').map(Number);
const REPS = Number(arg('reps', '5'));
const TARGET_RATIO = 1.1;

const now = (): number => Number(process.hrtime.bigint()) / 1e9;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const round = (x: number, digits = 3): number => +x.toFixed(digits);

async function createTables(pg: PgCluster, rows: number): Promise<void> {
  await pg.primary.query(`
    DO $$ BEGIN
      FOR i IN 1..${TABLES} LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I', 't' || i);
        EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, v int, pad text)', 't' || i);
        EXECUTE format('INSERT INTO %I SELECT g, 0, md5(g::text) FROM generate_series(1, ${rows}) g', 't' || i);
        EXECUTE format('ALTER TABLE %I OWNER TO aiaas_ops', 't' || i);
      END LOOP;
    END $$`, [], pg.database);
}

async function dirty(pg: PgCluster): Promise<void> {
  // one statement per table in a DO block: every table gets a quarter of its rows as dead tuples
  await pg.primary.query(`
    DO $$ BEGIN
      FOR i IN 1..${TABLES} LOOP
        EXECUTE format('UPDATE %I SET v = v + 1 WHERE id %% 4 = 0', 't' || i);
      END LOOP;
    END $$`, [], pg.database);
}

async function timed(cmd: string, args: string[], env: Record<string, string>): Promise<number> {
  const t0 = now();
  await new Promise<void>((resolve, reject) => {
    const c = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    c.once('error', reject);
    c.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exit ${code}`))));
  });
  return now() - t0;
}

async function vacuumdb(env: Record<string, string>, tables: string[]): Promise<number> {
  // vacuumdb 15 has no --schema: one --table each
  return timed('vacuumdb', ['--analyze', '--jobs=2', '--quiet', ...tables.map((t) => `--table=${t}`)], env);
}

async function task(env: Record<string, string>, schema: string, expected: number): Promise<number> {
  const t0 = now();
  const res = await runCli(['vacuum-analyze', '--parallel', '2', '--schema', schema], env);
  const s = now() - t0;
  if (res.code !== 0 || res.report.data.vacuumed !== expected) throw new Error(`vacuum-analyze: ${res.stdout} ${res.stderr}`);
  return s;
}

const TABLE_NAMES = Array.from({ length: TABLES }, (_, i) => `public.t${i + 1}`);

/** Start, connect, list, vacuum one empty table, exit: what each tool pays whatever the database. */
async function fixedCosts(pg: PgCluster, env: Record<string, string>): Promise<Record<string, number>> {
  await pg.primary.query('CREATE SCHEMA fixed AUTHORIZATION aiaas_ops; CREATE TABLE fixed.empty (id int); ALTER TABLE fixed.empty OWNER TO aiaas_ops', [], pg.database);
  const plain: number[] = [];
  const ours: number[] = [];
  const node: number[] = [];
  for (let i = 0; i < 7; i++) {
    plain.push(await vacuumdb(env, ['fixed.empty']));
    ours.push(await task(env, 'fixed', 1));
    node.push(await timed(process.execPath, ['-e', '0'], {}));
  }
  return { vacuumdbSeconds: round(median(plain)), vacuumAnalyzeSeconds: round(median(ours)), bareNodeSeconds: round(median(node)) };
}

async function main(): Promise<void> {
  ensureBundle();
  const pg = await PgCluster.start({ settings: { autovacuum: 'off', max_locks_per_transaction: 256 } });
  try {
    const env = pg.env();
    const fixed = await fixedCosts(pg, env);
    console.error(`# fixed cost: vacuumdb ${fixed.vacuumdbSeconds} s, vacuum-analyze ${fixed.vacuumAnalyzeSeconds} s, node -e 0 ${fixed.bareNodeSeconds} s`);
    const sizes = [];
    for (const rows of ROW_COUNTS) {
      await createTables(pg, rows);
      await vacuumdb(env, TABLE_NAMES); // warm-up, sets the visibility maps of both
      const plain: number[] = [];
      const ours: number[] = [];
      for (let i = 0; i < REPS; i++) {
        await dirty(pg);
        plain.push(await vacuumdb(env, TABLE_NAMES));
        await dirty(pg);
        ours.push(await task(env, 'public', TABLES));
        console.error(`# ${rows} rows, rep ${i + 1}: vacuumdb ${plain[i].toFixed(2)} s, vacuum-analyze ${ours[i].toFixed(2)} s`);
      }
      const [p, o] = [median(plain), median(ours)];
      sizes.push({
        rowsPerTable: rows,
        deadTuplesPerTable: Math.floor(rows / 4),
        vacuumdbSeconds: round(p, 2),
        vacuumAnalyzeSeconds: round(o, 2),
        timeRatio: round(o / p),
        withinTarget: o / p <= TARGET_RATIO,
        // the same ratio once each tool's fixed cost is taken off: the vacuuming itself
        vacuumingRatio: round((o - fixed.vacuumAnalyzeSeconds) / (p - fixed.vacuumdbSeconds)),
        all: { vacuumdb: plain.map((x) => round(x, 2)), vacuumAnalyze: ours.map((x) => round(x, 2)) },
      });
    }
    const out = { bench: 'vacuum', cpus: os.cpus().length, node: process.version, tables: TABLES, reps: REPS, targetRatio: TARGET_RATIO, fixedCost: fixed, sizes };
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
