import { TASK_SPECS } from '../../src/jobs/contract';
import { parseConfig, parseNonNegativeInt, parsePositiveInt, parseRatio, parseTableList, UsageError } from '../../src/jobs/config';

const BASE = { PGHOST: 'db', PGUSER: 'ops', PGPASSWORD: 'secret' };
let saved: NodeJS.ProcessEnv;

beforeEach(() => {
  saved = process.env;
  process.env = { PATH: saved.PATH, ...BASE };
});
afterEach(() => {
  process.env = saved;
});

const quiet = { writeOut: () => undefined, writeErr: () => undefined };
function run(args: string[]): any {
  const r = parseConfig(args, quiet);
  if (r.kind !== 'run') throw new Error('expected a run');
  return r.config;
}

describe('value parsers', () => {
  test.each(['10', '0', ' 7 '])('non-negative int %j', (v) => expect(parseNonNegativeInt(v)).toBe(Number(v)));
  test.each(['-1', '1.5', '10abc', '', '0x10', '1e3'])('fails on non-integer %j', (v) => {
    expect(() => parseNonNegativeInt(v)).toThrow(/expected a non-negative integer/);
  });
  test('positive int refuses 0', () => expect(() => parsePositiveInt('0')).toThrow(/expected a positive integer/));
  test.each([['0.8', 0.8], ['1', 1], ['.5', 0.5]])('ratio %j', (v, n) => expect(parseRatio(v)).toBe(n));
  test.each(['1.01', '-0.1', 'abc', '80%', '0'])('fails on ratio %j', (v) => expect(() => parseRatio(v)).toThrow(/above 0 and at most 1/));
  test('table list', () => expect(parseTableList('users, public.orders')).toEqual(['users', 'public.orders']));
  test('fails on a table name that is not an identifier', () => {
    expect(() => parseTableList('users;drop')).toThrow(/expected table names like users or public.users, got 'users;drop'/);
  });
});

describe('parseConfig', () => {
  test('defaults from one place', () => {
    const c = run(['vacuum-analyze']);
    expect(c.task).toBe('vacuum-analyze');
    expect(c.options).toEqual({
      parallel: TASK_SPECS['vacuum-analyze'].options.parallel.default,
      lockTimeoutMs: TASK_SPECS['vacuum-analyze'].options.lockTimeoutMs.default,
      statementTimeoutMs: TASK_SPECS['vacuum-analyze'].options.statementTimeoutMs.default,
      schema: 'public',
    });
    expect(c.connection).toEqual({ host: 'db', port: 5432, user: 'ops', database: 'ops', password: 'secret', sslmode: undefined });
    expect(c.logLevel).toBe('info');
  });

  test('flags over environment over defaults', () => {
    process.env.VACUUM_PARALLEL = '4';
    process.env.VACUUM_SCHEMA = 'app';
    process.env.PGPORT = '6432';
    const c = run(['vacuum-analyze', '--parallel', '3', '--port', '7000']);
    expect(c.options.parallel).toBe(3);
    expect(c.options.schema).toBe('app');
    expect(c.connection.port).toBe(7000);
  });

  test('every task with its options', () => {
    expect(run(['long-transactions', '--action', 'cancel', '--threshold-seconds', '60']).options)
      .toEqual({ action: 'cancel', thresholdSeconds: 60 });
    expect(run(['replication-lag']).options).toEqual({ maxLagBytes: 16777216, maxLagSeconds: 60, expectedStandbys: 1 });
    expect(run(['backup', '--dir', '/backups']).options).toEqual({ dir: '/backups', keep: 7, countTables: ['users'], lockWaitTimeoutMs: 300000,
      format: 'custom', jobs: 2, compress: 1, bucketKeep: 7, bucketPathStyle: false });
    process.env.BACKUP_DIR = '/b';
    expect(run(['restore-verify']).options).toEqual({ dir: '/b', tables: ['users'], scratchDatabase: 'aiaas_restore_verify', maxBackupAgeSeconds: 93600,
      jobs: 2, bucketPathStyle: false, fromBucket: false });
    expect(run(['table-sizes']).options).toEqual({ limit: 20, schema: 'public', maxDeadRatio: 0.2, minDeadTuples: 1000, lockTimeoutMs: 2000 });
    expect(run(['slow-queries']).options).toEqual({ limit: 10, minMeanMs: 1000 });
    expect(run(['slow-queries', '--min-mean-ms', '250']).options.minMeanMs).toBe(250);
    expect(() => run(['table-sizes', '--lock-timeout-ms', '0'])).toThrow(/--lock-timeout-ms/);
    expect(run(['db-health']).options).toEqual({ maxConnectionRatio: 0.8 });
  });

  test('the off-cluster copy from flags and BACKUP_BUCKET_* environment, credentials from the environment only', () => {
    Object.assign(process.env, {
      BACKUP_BUCKET: 'acme-db-backups', BACKUP_BUCKET_ENDPOINT: 'http://minio.minio.svc:9000', BACKUP_BUCKET_PATH_STYLE: 'false',
      AWS_ACCESS_KEY_ID: 'id', AWS_SECRET_ACCESS_KEY: 'key',
    });
    expect(run(['backup', '--dir', '/b', '--bucket-prefix', 'aiaas/prod/', '--bucket-path-style', 'true', '--bucket-keep', '30']).options)
      .toEqual(expect.objectContaining({
        bucket: 'acme-db-backups', bucketEndpoint: 'http://minio.minio.svc:9000', bucketPrefix: 'aiaas/prod/',
        bucketPathStyle: true, bucketKeep: 30,
      }));
    expect(run(['restore-verify', '--dir', '/b', '--from-bucket', 'true', '--backup', 'aiaas-aiaas-20261101T020000000Z.dump']).options)
      .toEqual(expect.objectContaining({ fromBucket: true, backup: 'aiaas-aiaas-20261101T020000000Z.dump', bucketPathStyle: false }));
  });

  test('--help is not an error', () => {
    expect(parseConfig(['backup', '--help'], quiet)).toEqual({ kind: 'exit', exitCode: 0 });
  });

  test.each([
    [['slow-queries', '--limit', '0'], /option '--limit <n>' argument '0' is invalid. expected a positive integer/],
    [['db-health', 'extra'], /too many arguments/],
    [[], /missing task/],
    [['backup'], /backup directory missing: set BACKUP_DIR or use --dir/],
    [['restore-verify', '--dir', '/b', '--scratch-database', 'template1'], /throwaway database, not 'template1'/],
    [['db-health', '--pushgateway-url', 'ftp://x'], /expected an http\(s\) URL/],
    [['backup', '--dir', '/b', '--bucket', 'My_Bucket'], /'--bucket <name>' argument 'My_Bucket' is invalid. expected a bucket name/],
    [['backup', '--dir', '/b', '--bucket', 'b1b', '--bucket-prefix', '/aiaas'], /'--bucket-prefix <prefix>'.*ending in '\/' without a leading '\/'/],
    [['backup', '--dir', '/b', '--bucket', 'b1b', '--bucket-path-style', 'maybe'], /'--bucket-path-style \[bool\]'.*expected true or false/],
    [['backup', '--dir', '/b', '--bucket', 'b1b', '--bucket-endpoint', 's3.example.com'], /'--bucket-endpoint <url>'.*http\(s\) URL/],
    [['restore-verify', '--dir', '/b', '--from-bucket', 'true'], /'--from-bucket' needs a bucket: set BACKUP_BUCKET or use --bucket/],
    [['restore-verify', '--dir', '/b', '--backup', '../etc/passwd'], /'--backup <name>'.*expected a backup name/],
    [['restore', '--dir', '/b', '--backup', '../etc/passwd'], /'--backup <name>'.*expected a backup name/],
    [['backup', '--dir', '/b', '--bucket', 'b1b'], /bucket 'b1b' needs credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY not set/],
  ])('fails on %j', (args, message) => {
    expect(() => parseConfig(args as string[], quiet)).toThrow(UsageError);
    expect(() => parseConfig(args as string[], quiet)).toThrow(message);
  });

  test('fails with an actionable message when PGHOST is missing', () => {
    delete process.env.PGHOST;
    expect(() => parseConfig(['db-health'], quiet)).toThrow('PostgreSQL host missing: set PGHOST or use --host');
  });

  test('fails naming the environment variable of a bad twin', () => {
    process.env.LONG_TX_ACTION = 'kill';
    expect(() => parseConfig(['long-transactions'], quiet)).toThrow(/env 'LONG_TX_ACTION'.*Allowed choices are report, cancel, terminate/);
  });
});

describe('restore: the switch --force and flags added to a Job copied from the CronJob', () => {
  test('flags added last win (the RUNBOOK appends them to the CronJob\'s args)', () => {
    const config = run(['restore', '--dir', '/backups', '--target-database', 'aiaas_restored', '--jobs', '2',
      '--backup=aiaas-aiaas-20260101T020000000Z.dump', '--target-database=aiaas', '--force']);
    expect(config.options).toEqual({
      dir: '/backups', targetDatabase: 'aiaas', jobs: 2, force: true, fromBucket: false, bucketPathStyle: false, backup: 'aiaas-aiaas-20260101T020000000Z.dump',
    });
  });

  test.each([
    [undefined, false], ['true', true], ['yes', true], ['1', true], ['false', false], ['NO', false], ['0', false],
  ])('RESTORE_FORCE=%p is %p', (value, expected) => {
    if (value !== undefined) process.env.RESTORE_FORCE = value;
    expect(run(['restore', '--dir', '/b']).options.force).toBe(expected);
  });

  test('fails on a switch value that is not a yes or a no, naming the variable', () => {
    process.env.RESTORE_FORCE = 'perhaps';
    expect(() => parseConfig(['restore', '--dir', '/b'], quiet)).toThrow(/env 'RESTORE_FORCE' is invalid. expected true or false/);
    expect(() => parseConfig(['restore', '--dir', '/b', '--force=maybe'], quiet)).toThrow(/--force \[bool\]' argument 'maybe' is invalid/);
  });

  test('fails on a system database as target', () => {
    expect(() => parseConfig(['restore', '--dir', '/b', '--target-database', 'template1'], quiet))
      .toThrow(/'--target-database' must name an application database, not 'template1'/);
  });
});
