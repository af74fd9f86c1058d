// The CronJobs and the CLI keep one contract: every synthesized CronJob's args and
// env are parsed by the CLI's own parser, for the reference config and for a config
// with every option at its bounds; and a config value the CLI would refuse is refused
// by the config schema before anything is synthesized.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdk8s';
import { DbMaintenanceConfigInput, dbMaintenanceConfigSchema } from '../../src/config/db-maintenance-config';
import { DbMaintenance } from '../../src/constructs/db-maintenance';
import { Config, parseConfig } from '../../src/jobs/config';
import { argsOf, FlagSpec, GLOBAL_OPTIONS, IntFlag, MAX_TIMER_MS, TASK_SPECS, TASKS, TaskName } from '../../src/jobs/contract';
import { K8sObject, ofKind, synthPlatformObjects } from '../support/synth';

const quiet = { writeOut: () => undefined, writeErr: () => undefined };
let saved: NodeJS.ProcessEnv;
beforeEach(() => {
  saved = process.env;
});
afterEach(() => {
  process.env = saved;
});

/** The config key of a task under `dbMaintenance.tasks`: its camelCase name (`db-health` → `dbHealth`). */
const configKey = (task: TaskName): string => task.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** The container env as the pod would see it; Secret values are stand-ins (they are not in the manifest). */
function podEnv(container: any): Record<string, string> {
  const env: Record<string, string> = { PATH: saved.PATH ?? '' };
  for (const e of container.env ?? []) {
    env[e.name] = e.value ?? (e.valueFrom?.secretKeyRef ? `from-secret-${e.valueFrom.secretKeyRef.key}` : '');
  }
  return env;
}

/** Parses a CronJob's command line the way the CLI would in the pod; throws what the CLI would print. */
function parseCronJob(cronJob: K8sObject): Config {
  const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
  expect(container.command).toEqual(['aiaas-job']);
  process.env = podEnv(container);
  const parsed = parseConfig(container.args, quiet);
  if (parsed.kind !== 'run') throw new Error(`${cronJob.metadata.name}: the CLI would not run`);
  return parsed.config;
}

function synthCronJobs(config: DbMaintenanceConfigInput): K8sObject[] {
  const chart = Testing.chart();
  new DbMaintenance(chart, 'DbMaintenance', { config: dbMaintenanceConfigSchema.parse(config) });
  return ofKind(Testing.synth(chart) as K8sObject[], 'CronJob');
}

/** Options whose config field is optional: unset, the construct derives the value (not the contract's default). */
const DERIVED_BY_THE_CONSTRUCT = ['restore-verify.maxBackupAgeSeconds', 'replication-lag.expectedStandbys'];

/** For each task, the config section with every option that has a config field set to `pick(spec)`. */
function configWith(pick: (spec: FlagSpec) => unknown): DbMaintenanceConfigInput {
  const tasks: Record<string, Record<string, unknown>> = {};
  const defaults = dbMaintenanceConfigSchema.parse({}).tasks as Record<string, Record<string, unknown>>;
  for (const task of TASKS) {
    const key = configKey(task);
    tasks[key] = {};
    for (const [option, spec] of Object.entries(TASK_SPECS[task].options) as [string, FlagSpec][]) {
      if (option in defaults[key] || DERIVED_BY_THE_CONSTRUCT.includes(`${task}.${option}`)) tasks[key][option] = pick(spec);
    }
  }
  // with a bucket, so that the bucket's own options (bucketKeep) are on the command line too
  const backupBucket = { bucket: 'acme-db-backups', credentialsSecret: { secret: 'backup-bucket' }, egress: { cidrs: ['10.96.12.0/24'] } };
  return { tasks, backupBucket } as DbMaintenanceConfigInput;
}

const intOptions = TASKS.flatMap((task) => (Object.entries(TASK_SPECS[task].options) as [string, FlagSpec][])
  .filter((e): e is [string, IntFlag] => e[1].kind === 'int')
  .map(([option, spec]) => [task, option, spec] as const));

describe('every synthesized CronJob is a command line the CLI accepts', () => {
  test('the reference platform (dist/)', () => {
    const cronJobs = ofKind(synthPlatformObjects(), 'CronJob').filter((c) => c.metadata.labels?.['app.kubernetes.io/name'] === 'aiaas-job');
    expect(cronJobs.map((c) => parseCronJob(c).task).sort()).toEqual([...TASKS].sort());
    for (const cronJob of cronJobs) {
      const config = parseCronJob(cronJob);
      // what the CLI parsed is what the CronJob meant: its args are the contract's args of those options
      expect(cronJob.spec.jobTemplate.spec.template.spec.containers[0].args).toEqual(argsOf(config.task, config.options));
      expect(config.connection).toEqual(expect.objectContaining({ host: 'postgres', port: 5432, database: 'aiaas', user: 'from-secret-username' }));
      expect(config.pushgatewayUrl).toMatch(/^http:\/\/prometheus-pushgateway/);
      expect(config.output).toBe('json');
    }
  });

  test.each([
    ['lowest', (spec: FlagSpec) => (spec.kind === 'int' ? spec.min : undefined)],
    ['highest', (spec: FlagSpec) => (spec.kind === 'int' ? spec.max : spec.kind === 'ratio' ? 1 : undefined)],
  ])('every option at its %s bound', (_name, pick) => {
    const cronJobs = synthCronJobs(configWith(pick));
    const parsed = new Map(cronJobs.map((c) => [parseCronJob(c).task, parseCronJob(c).options as Record<string, unknown>]));
    for (const [task, option, spec] of intOptions) {
      expect(`${task} ${option} ${parsed.get(task)![option]}`).toBe(`${task} ${option} ${pick(spec)}`);
    }
  });

  test('verify-full with the CA Secret: the CLI finds the CA where the Secret is mounted', () => {
    const cronJobs = synthCronJobs({ database: { sslmode: 'verify-full', caSecret: { secret: 'postgres-ca' } } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aiaas-ca-'));
    try {
      for (const cronJob of cronJobs) {
        const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
        const env = podEnv(container);
        const mount = container.volumeMounts.find((m: { mountPath: string }) => env.PGSSLROOTCERT?.startsWith(`${m.mountPath}/`));
        expect(mount).toEqual(expect.objectContaining({ readOnly: true }));
        // the Secret's file, where this test can put it
        const file = path.join(dir, path.relative(mount.mountPath, env.PGSSLROOTCERT));
        fs.writeFileSync(file, '-----BEGIN CERTIFICATE-----\n');
        const rewritten = { ...container, env: container.env.map((e: { name: string }) => (e.name === 'PGSSLROOTCERT' ? { ...e, value: file } : e)) };
        const config = parseCronJob({ ...cronJob, spec: { jobTemplate: { spec: { template: { spec: { containers: [rewritten] } } } } } } as K8sObject);
        expect(config.connection).toEqual(expect.objectContaining({ sslmode: 'verify-full', sslrootcert: file }));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the config section of each task has a field for every option the CronJob does not fix itself', () => {
    const defaults = dbMaintenanceConfigSchema.parse({}).tasks as Record<string, Record<string, unknown>>;
    // the bucket's flags come from dbMaintenance.backupBucket; a scheduled restore-verify takes the newest backup;
    // restore: the CronJob never names a backup or forces; a person adds them to one run (RUNBOOK)
    const fromBackupBucket = ['bucket', 'bucketEndpoint', 'bucketRegion', 'bucketPrefix', 'bucketPathStyle'];
    const fixedByTheConstruct = ['backup.dir', 'backup.countTables', 'restore-verify.dir', 'restore-verify.backup',
      'restore.dir', 'restore.backup', 'restore.force',
      ...['backup', 'restore-verify', 'restore'].flatMap((t) => fromBackupBucket.map((o) => `${t}.${o}`))];
    for (const task of TASKS) {
      for (const option of Object.keys(TASK_SPECS[task].options)) {
        if (fixedByTheConstruct.includes(`${task}.${option}`)) continue;
        if (DERIVED_BY_THE_CONSTRUCT.includes(`${task}.${option}`)) {
          expect(defaults[configKey(task)][option]).toBeUndefined();
          continue;
        }
        expect(`${task}.${option}: ${option in defaults[configKey(task)]}`).toBe(`${task}.${option}: true`);
        // one default, the contract's
        expect(defaults[configKey(task)][option]).toEqual((TASK_SPECS[task].options as Record<string, FlagSpec>)[option].default);
      }
    }
  });
});

describe('a value the CLI refuses cannot be synthesized', () => {
  test.each(intOptions.map(([task, option, spec]) => [`${task} ${option}`, task, option, spec] as const))(
    '%s out of bounds',
    (_name, task, option, spec) => {
      for (const value of [spec.min - 1, spec.max + 1]) {
        if (!Number.isSafeInteger(value)) continue;
        const input = { tasks: { [configKey(task)]: { [option]: value } } };
        const schema = dbMaintenanceConfigSchema.safeParse(input);
        expect(schema.success).toBe(false);
        process.env = { PGHOST: 'db', PGUSER: 'ops', BACKUP_DIR: '/b' };
        expect(() => parseConfig([task, `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`, String(value)], quiet))
          .toThrow(/argument .* is invalid/);
      }
    },
  );

  test('every millisecond duration (a timer or a timeout setting) fits a Node timer and PostgreSQL\'s int settings', () => {
    const specs = [...Object.values(GLOBAL_OPTIONS), ...TASKS.flatMap((t) => Object.values(TASK_SPECS[t].options))] as FlagSpec[];
    const durations = specs.filter((s): s is IntFlag => s.kind === 'int' && s.unit === 'ms');
    expect(durations.length).toBeGreaterThanOrEqual(4);
    for (const d of durations) expect(`${d.env} ${d.max <= MAX_TIMER_MS}`).toBe(`${d.env} true`);
  });

  test('lockTimeoutMs 0 (wait forever in PostgreSQL) is refused by both', () => {
    expect(dbMaintenanceConfigSchema.safeParse({ tasks: { vacuumAnalyze: { lockTimeoutMs: 0 } } }).success).toBe(false);
    process.env = { PGHOST: 'db', PGUSER: 'ops' };
    expect(() => parseConfig(['vacuum-analyze', '--lock-timeout-ms', '0'], quiet))
      .toThrow("option '--lock-timeout-ms <ms>' argument '0' is invalid. expected a positive integer up to 3600000 (ms)");
  });
});
