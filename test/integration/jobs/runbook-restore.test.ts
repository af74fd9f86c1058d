// Issue 12.2: the RUNBOOK's "Restore a backup in the cluster" works as written, against real
// PostgreSQL and a real S3-compatible server. Each step's Job is what `kubectl create job
// --from=cronjob/db-restore` makes of the synthesized CronJob, with the JSON patch of that step
// taken from the rendered RUNBOOK; the owner fix-up runs the RUNBOOK's own SQL. The jobs' role
// is not a superuser and is a member of the database owner, as README "Least-privilege database
// role" asks for `--force`.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { PlatformChart } from '../../../src/constructs/platform-chart';
import { ensureBundle, expectContract, PgCluster, runCli } from './pg-harness';
import { S3Server } from './s3-harness';
import { RUNBOOK_URL } from '../../support/reference';

jest.setTimeout(180000);

const DB = 'appdb';
const JOBS_ROLE = 'aiaas_maintenance';
const JOBS_PASSWORD = 'jobs-role-password';
let pg: PgCluster;
let s3: S3Server;
let dir: string;
let runbook: string;
let cronArgs: (name: string) => string[];
const names: string[] = [];

/** The JSON patch of each `kubectl patch --local` of the restore section, in order. */
function patches(): { op: string; path: string; value: string }[][] {
  const section = runbook.slice(runbook.indexOf('### Restore a backup in the cluster'), runbook.indexOf('## Secret rotation'));
  return [...section.matchAll(/kubectl patch --local -f - --type=json -o yaml -p '(\[[\s\S]*?\])'/g)].map((m) => JSON.parse(m[1]));
}

/** `kubectl patch --type=json` on the Job made from the CronJob: only the `add .../args/-` the RUNBOOK uses. */
function jobArgs(ops: { op: string; path: string; value: string }[], backup: string): string[] {
  const args = [...cronArgs('db-restore')];
  for (const op of ops) {
    expect(op).toMatchObject({ op: 'add', path: '/spec/template/spec/containers/0/args/-' });
    args.push(op.value.replace(/aiaas-[a-z_]+-YYYYMMDDTHHMMSSmmmZ\.dump/, backup));
  }
  return args;
}

/** The CronJob's volume is a directory here; the connection comes from the environment as in the pod. */
const local = (args: string[]): string[] => args.map((a) => (a === '/backups' ? dir : a));
const env = (): Record<string, string> => pg.env(undefined, { ...s3.env('backups', 'aiaas/'), PGUSER: JOBS_ROLE, PGPASSWORD: JOBS_PASSWORD, PGDATABASE: DB });
const owners = async (): Promise<string[]> => (await pg.primary.query(
  `SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = '${DB}'
   UNION ALL SELECT tableowner FROM pg_tables WHERE schemaname = 'public'`, [], DB)).map((r) => r.o);

beforeAll(async () => {
  ensureBundle();
  [pg, s3] = await Promise.all([PgCluster.start(), S3Server.start(['backups'])]);
  await pg.primary.query(`
    CREATE ROLE app_owner NOLOGIN;
    CREATE ROLE ${JOBS_ROLE} LOGIN CREATEDB PASSWORD '${JOBS_PASSWORD}';
    GRANT pg_read_all_data TO ${JOBS_ROLE};
    GRANT app_owner TO ${JOBS_ROLE};
  `);
  await pg.primary.query(`CREATE DATABASE ${DB} OWNER app_owner`);
  await pg.primary.query(`
    SET ROLE app_owner;
    CREATE TABLE users (id int PRIMARY KEY, name text);
    INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, 300) g;
  `, [], DB);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-runbook-restore-'));

  const chart = new PlatformChart(Testing.app(), 'aiaas', {
    config: {
      monitoring: { runbookBaseUrl: RUNBOOK_URL },
      dbMaintenance: {
        database: { database: DB },
        backupBucket: {
          bucket: 'backups', endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, prefix: 'aiaas/',
          credentialsSecret: { secret: 'backup-bucket' }, egress: { cidrs: ['127.0.0.1/32'] },
        },
      },
    },
  });
  runbook = chart.extraFiles()['RUNBOOK.md'];
  const objects = chart.toJson();
  cronArgs = (name) => objects.find((o: any) => o.kind === 'CronJob' && o.metadata.name === name).spec.jobTemplate.spec.template.spec.containers[0].args;

  // Two scheduled backups, each uploaded to the bucket, the second with more rows.
  for (const rows of [300, 350]) {
    await pg.primary.query(`INSERT INTO users SELECT g, 'user ' || g FROM generate_series(1, ${rows}) g ON CONFLICT DO NOTHING`, [], DB);
    const res = await runCli(local(cronArgs('db-backup')), env());
    expectContract(res, JOBS_PASSWORD, 0);
    names.push(res.report.data.file);
  }
});

afterAll(async () => {
  await Promise.all([pg?.stop(), s3?.stop()]);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const usersIn = async (database: string): Promise<number> => (await pg.primary.query('SELECT count(*)::int AS n FROM users', [], database))[0].n;

test('the RUNBOOK has the patched runs of a chosen backup, of the bucket, and of the replace', () => {
  expect(patches().map((ops) => ops.map((o) => o.value))).toEqual([
    ['--backup=aiaas-appdb-YYYYMMDDTHHMMSSmmmZ.dump'],
    ['--from-bucket=true'],
    ['--backup=aiaas-appdb-YYYYMMDDTHHMMSSmmmZ.dump', `--target-database=${DB}`, '--force'],
  ]);
});

test('step 1: the CronJob as it is restores the newest backup into aiaas_restored; step 2: a chosen one, once the target is free again', async () => {
  const newest = await runCli(local(cronArgs('db-restore')), env());
  expectContract(newest, JOBS_PASSWORD, 0);
  expect(newest.report.data).toMatchObject({ file: names[1], target: 'aiaas_restored' });
  expect(await usersIn('aiaas_restored')).toBe(350);

  const [chosen] = patches();
  // The same target again: refused, nothing changed (the RUNBOOK says to drop it or name another).
  expectContract(await runCli(local(jobArgs(chosen, names[0])), env()), JOBS_PASSWORD, 2);
  await pg.primary.query('DROP DATABASE aiaas_restored');
  const older = await runCli(local(jobArgs(chosen, names[0])), env());
  expectContract(older, JOBS_PASSWORD, 0);
  expect(older.report.data).toMatchObject({ file: names[0], target: 'aiaas_restored' });
  expect(await usersIn('aiaas_restored')).toBe(300);
  await pg.primary.query('DROP DATABASE aiaas_restored');
});

test('step 2b: from the bucket, with nothing left on the volume', async () => {
  const emptied = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-runbook-restore-lost-'));
  const [, fromBucket] = patches();
  const res = await runCli(jobArgs(fromBucket, '').map((a) => (a === '/backups' ? emptied : a)), env());
  fs.rmSync(emptied, { recursive: true, force: true });
  expectContract(res, JOBS_PASSWORD, 0);
  expect(res.report.data).toMatchObject({ file: names[1], target: 'aiaas_restored', bucket: expect.stringContaining('backups') });
  expect(await usersIn('aiaas_restored')).toBe(350);
  await pg.primary.query('DROP DATABASE aiaas_restored');
});

test('steps 3 and 4: the replace of the database itself, then its owner given back by the RUNBOOK\'s SQL', async () => {
  const section = runbook.slice(runbook.indexOf('### Restore a backup in the cluster'), runbook.indexOf('## Secret rotation'));
  const ownerQuery = section.match(/^OWNER=\$\(.* -Atc "([^"]+)"\)$/m)![1];
  const owner = (await pg.primary.query(ownerQuery, [], DB))[0].pg_get_userbyid;
  expect(owner).toBe('app_owner');

  const [, , replace] = patches();
  const res = await runCli(local(jobArgs(replace, names[0])), env());
  expectContract(res, JOBS_PASSWORD, 0);
  expect(res.report.data).toMatchObject({ file: names[0], target: DB, replaced: true, safetyBackup: expect.stringMatching(/^aiaas-appdb-/) });
  expect(await usersIn(DB)).toBe(300);
  // Restored by a role that is not a superuser: everything is that role's now.
  expect(new Set(await owners())).toEqual(new Set([JOBS_ROLE]));

  const restorer = (await pg.primary.query(section.match(/^RESTORER=\$\(.* -Atc "([^"]+)"\)/m)![1], [], DB))[0].pg_get_userbyid;
  const fixUp = section.split('\n').find((l) => l.includes('REASSIGN OWNED BY'))!;
  const statements = [...fixUp.matchAll(/-c "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1].replace(/\\"/g, '"').replace(/\$OWNER/g, owner).replace(/\$RESTORER/g, restorer));
  expect(statements).toEqual([`ALTER DATABASE ${DB} OWNER TO "app_owner"`, `REASSIGN OWNED BY "${JOBS_ROLE}" TO "app_owner"`]);
  for (const sql of statements) await pg.primary.query(sql, [], DB);
  expect(new Set(await owners())).toEqual(new Set(['app_owner']));
});
