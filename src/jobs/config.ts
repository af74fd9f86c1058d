// Options of every task in one place: flags over environment over defaults.
// Parsing is strict: a bad value names the flag (or the environment variable)
// and what is expected, and the run ends with exit code 2.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { BucketOptions } from './offsite';

export const TASKS = [
  'db-health',
  'slow-queries',
  'table-sizes',
  'vacuum-analyze',
  'long-transactions',
  'replication-lag',
  'backup',
  'restore-verify',
] as const;
export type TaskName = (typeof TASKS)[number];

export const LONG_TX_ACTIONS = ['report', 'cancel', 'terminate'] as const;
export type LongTxAction = (typeof LONG_TX_ACTIONS)[number];

/** Every default of the CLI. Help output and the code read them from here. */
export const DEFAULTS = {
  port: 5432,
  logLevel: 'info',
  shutdownGraceMs: 20000,
  maxConnectionRatio: 0.8,
  slowQueriesLimit: 10,
  tableSizesLimit: 20,
  schema: 'public',
  maxDeadRatio: 0.2,
  minDeadTuples: 1000,
  parallel: 2,
  lockTimeoutMs: 5000,
  statementTimeoutMs: 3600000,
  thresholdSeconds: 300,
  action: 'report' as LongTxAction,
  maxLagBytes: 16777216,
  maxLagSeconds: 60,
  expectedStandbys: 1,
  keep: 7,
  countTables: 'users',
  tables: 'users',
  scratchDatabase: 'aiaas_restore_verify',
  bucketRegion: 'us-east-1',
  bucketPrefix: '',
  bucketPathStyle: false,
} as const;

export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** From PGPASSWORD only, never from a flag. */
  readonly password?: string;
  readonly sslmode?: string;
}

export interface CommonConfig {
  readonly task: TaskName;
  readonly connection: ConnectionConfig;
  readonly logLevel: string;
  readonly pushgatewayUrl?: string;
  readonly shutdownGraceMs: number;
}

export interface DbHealthOptions { readonly maxConnectionRatio: number }
export interface SlowQueriesOptions { readonly limit: number }
export interface TableSizesOptions {
  readonly limit: number;
  readonly schema: string;
  readonly maxDeadRatio: number;
  readonly minDeadTuples: number;
}
export interface VacuumOptions {
  readonly parallel: number;
  readonly lockTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly schema: string;
}
export interface LongTxOptions { readonly thresholdSeconds: number; readonly action: LongTxAction }
export interface ReplicationOptions {
  readonly maxLagBytes: number;
  readonly maxLagSeconds: number;
  readonly expectedStandbys: number;
}
export interface BackupOptions extends BucketOptions {
  readonly dir: string;
  readonly keep: number;
  readonly countTables: string[];
  /** Good backups kept in the bucket (default: `keep`). */
  readonly bucketKeep?: number;
}
export interface RestoreVerifyOptions extends BucketOptions {
  readonly dir: string;
  /** Take the backup from the bucket (downloaded and checked), not from `dir`. */
  readonly fromBucket: boolean;
  /** A named backup instead of the newest good one. */
  readonly backup?: string;
  readonly tables: string[];
  readonly scratchDatabase: string;
}

export interface Config extends CommonConfig {
  /** Options of the selected task, already parsed and validated. */
  readonly options: Record<string, unknown>;
}

/** Thrown for bad input; the CLI reports it and exits with 2. */
export class UsageError extends Error {}

/** Result of parsing: either a config to run, or help/version text was shown. */
export type ParseResult = { kind: 'run'; config: Config } | { kind: 'exit'; exitCode: number };

// ---- strict value parsers ------------------------------------------------

export function parseNonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw new InvalidArgumentError('expected a non-negative integer (e.g. 10)');
  }
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a non-negative integer (e.g. 10)');
  return n;
}

export function parsePositiveInt(value: string): number {
  const n = (() => {
    try {
      return parseNonNegativeInt(value);
    } catch {
      throw new InvalidArgumentError('expected a positive integer (e.g. 10)');
    }
  })();
  if (n < 1) throw new InvalidArgumentError('expected a positive integer (e.g. 10)');
  return n;
}

export function parseRatio(value: string): number {
  const s = value.trim();
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(s)) {
    throw new InvalidArgumentError('expected a ratio between 0 and 1 (e.g. 0.8)');
  }
  return Number(s);
}

export function parsePort(value: string): number {
  const n = parsePositiveInt(value);
  if (n > 65535) throw new InvalidArgumentError('expected a TCP port between 1 and 65535');
  return n;
}

export function parseIdentifierName(value: string): string {
  const s = value.trim();
  if (s.length === 0 || s.length > 63 || s.includes('\0')) {
    throw new InvalidArgumentError('expected a PostgreSQL name of 1 to 63 characters');
  }
  return s;
}

/** Comma-separated table names, each `table` or `schema.table`. */
export function parseTableList(value: string): string[] {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (items.length === 0) throw new InvalidArgumentError('expected a comma-separated list of tables (e.g. users,orders)');
  for (const item of items) {
    if (!/^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$/.test(item)) {
      throw new InvalidArgumentError(`expected table names like users or public.users, got '${item}'`);
    }
  }
  return items;
}

export function parseLogLevel(value: string): string {
  const levels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
  if (!levels.includes(value)) throw new InvalidArgumentError(`expected one of ${levels.join(', ')}`);
  return value;
}

export function parseUrl(value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidArgumentError('expected an http(s) URL (e.g. http://pushgateway:9091)');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new InvalidArgumentError('expected an http(s) URL (e.g. http://pushgateway:9091)');
  }
  return value;
}

export function parseBoolean(value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError("expected 'true' or 'false'");
}

/** S3 bucket names: 3-63 lower-case letters, digits, '.', '-' (GCS and MinIO follow the same rule). */
export function parseBucketName(value: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value) || value.includes('..')) {
    throw new InvalidArgumentError('expected a bucket name of 3 to 63 lower-case letters, digits, "." or "-" (e.g. acme-db-backups)');
  }
  return value;
}

/** Key prefix: empty, or path segments ending in '/', not starting with one. */
export function parseBucketPrefix(value: string): string {
  if (value !== '' && !/^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*\/$/.test(value)) {
    throw new InvalidArgumentError("expected '' or a key prefix ending in '/' without a leading '/' (e.g. aiaas/prod/)");
  }
  return value;
}

/** Backup names as the backup task makes them (no path separators: they become file names). */
export function parseBackupName(value: string): string {
  if (!/^aiaas-[A-Za-z0-9_-]+-\d{8}T\d{9}Z\.dump$/.test(value)) {
    throw new InvalidArgumentError('expected a backup name like aiaas-mydb-20261101T020000000Z.dump');
  }
  return value;
}

// ---- the program ---------------------------------------------------------

function opt(flags: string, description: string, env: string, parser?: (v: string) => unknown, def?: unknown): Option {
  const o = new Option(flags, description).env(env);
  if (parser) o.argParser(parser as (v: string, prev: unknown) => unknown);
  if (def !== undefined) o.default(def, Array.isArray(def) ? def.join(',') : String(def));
  return o;
}

interface Output {
  writeOut(s: string): void;
  writeErr(s: string): void;
}

export function buildProgram(onTask: (task: TaskName, cmd: Command) => void, output?: Output): Command {
  const program = new Command('aiaas-job');
  program
    .description('Scheduled PostgreSQL maintenance and backup jobs of the AIaaS platform.\n'
      + 'Prints one JSON report on stdout, JSON logs on stderr.\n'
      + 'Exit codes: 0 healthy, 1 a finding beyond a threshold, 2 could not do its work.\n'
      + 'The password is read from PGPASSWORD only.')
    .exitOverride()
    .allowExcessArguments(false)
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true })
    .addOption(opt('--host <host>', 'PostgreSQL host', 'PGHOST'))
    .addOption(opt('--port <port>', 'PostgreSQL port', 'PGPORT', parsePort, DEFAULTS.port))
    .addOption(opt('--username <user>', 'PostgreSQL user', 'PGUSER'))
    .addOption(opt('--dbname <database>', 'database to check or back up', 'PGDATABASE'))
    .addOption(opt('--sslmode <mode>', 'disable, allow, prefer, require, verify-ca or verify-full', 'PGSSLMODE')
      .choices(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']))
    .addOption(opt('--pushgateway-url <url>', 'Prometheus Pushgateway to push metrics to (none: no push)', 'PUSHGATEWAY_URL', parseUrl))
    .addOption(opt('--log-level <level>', 'log level of the JSON lines on stderr', 'LOG_LEVEL', parseLogLevel, DEFAULTS.logLevel))
    .addOption(opt('--shutdown-grace-ms <ms>', 'after SIGTERM, force exit after this many ms', 'JOB_SHUTDOWN_GRACE_MS',
      parseNonNegativeInt, DEFAULTS.shutdownGraceMs));
  if (output) program.configureOutput(output);

  const sub = (name: TaskName, description: string): Command => program
    .command(name)
    .description(description)
    .allowExcessArguments(false)
    .action((_opts: unknown, cmd: Command) => onTask(name, cmd));

  sub('db-health', 'pg_stat_database of the database and connections in use against max_connections')
    .addOption(opt('--max-connection-ratio <ratio>', 'finding when connections in use / max_connections is above this',
      'DB_HEALTH_MAX_CONNECTION_RATIO', parseRatio, DEFAULTS.maxConnectionRatio));

  sub('slow-queries', 'top statements by mean execution time from pg_stat_statements')
    .addOption(opt('--limit <n>', 'number of statements to report', 'SLOW_QUERIES_LIMIT', parsePositiveInt, DEFAULTS.slowQueriesLimit));

  sub('table-sizes', 'largest relations by total size, with dead-tuple ratios')
    .addOption(opt('--limit <n>', 'number of relations to report', 'TABLE_SIZES_LIMIT', parsePositiveInt, DEFAULTS.tableSizesLimit))
    .addOption(opt('--schema <name>', 'schema to look at', 'TABLE_SIZES_SCHEMA', parseIdentifierName, DEFAULTS.schema))
    .addOption(opt('--max-dead-ratio <ratio>', 'finding when dead / (live + dead) tuples is above this',
      'TABLE_SIZES_MAX_DEAD_RATIO', parseRatio, DEFAULTS.maxDeadRatio))
    .addOption(opt('--min-dead-tuples <n>', 'ignore the dead ratio of tables with fewer dead tuples than this',
      'TABLE_SIZES_MIN_DEAD_TUPLES', parseNonNegativeInt, DEFAULTS.minDeadTuples));

  sub('vacuum-analyze', 'VACUUM (ANALYZE) table by table; a locked table is skipped, not fatal')
    .addOption(opt('--parallel <n>', 'tables vacuumed at the same time', 'VACUUM_PARALLEL', parsePositiveInt, DEFAULTS.parallel))
    .addOption(opt('--lock-timeout-ms <ms>', 'lock_timeout per table; a table still locked after it is skipped',
      'VACUUM_LOCK_TIMEOUT_MS', parseNonNegativeInt, DEFAULTS.lockTimeoutMs))
    .addOption(opt('--statement-timeout-ms <ms>', 'statement_timeout per table (0: none)', 'VACUUM_STATEMENT_TIMEOUT_MS',
      parseNonNegativeInt, DEFAULTS.statementTimeoutMs))
    .addOption(opt('--schema <name>', 'schema whose tables are vacuumed', 'VACUUM_SCHEMA', parseIdentifierName, DEFAULTS.schema));

  sub('long-transactions', 'transactions open longer than a threshold; report, or cancel/terminate them')
    .addOption(opt('--threshold-seconds <s>', 'report transactions open longer than this', 'LONG_TX_THRESHOLD_SECONDS',
      parseNonNegativeInt, DEFAULTS.thresholdSeconds))
    .addOption(opt('--action <action>', 'what to do with them', 'LONG_TX_ACTION', undefined, DEFAULTS.action)
      .choices([...LONG_TX_ACTIONS]));

  sub('replication-lag', 'standby lag from the primary (pg_stat_replication) or on a standby itself')
    .addOption(opt('--max-lag-bytes <bytes>', 'finding when a standby lags more bytes than this', 'REPLICATION_MAX_LAG_BYTES',
      parseNonNegativeInt, DEFAULTS.maxLagBytes))
    .addOption(opt('--max-lag-seconds <s>', 'finding when a standby lags more seconds than this', 'REPLICATION_MAX_LAG_SECONDS',
      parseNonNegativeInt, DEFAULTS.maxLagSeconds))
    .addOption(opt('--expected-standbys <n>', 'finding when fewer standbys stream from the primary', 'REPLICATION_EXPECTED_STANDBYS',
      parseNonNegativeInt, DEFAULTS.expectedStandbys));

  addBucketOptions(sub('backup', 'pg_dump -Fc to the backup directory with checksum, manifest and retention')
    .addOption(opt('--dir <path>', 'backup directory (required)', 'BACKUP_DIR'))
    .addOption(opt('--keep <n>', 'complete backups to keep (the newest is never deleted)', 'BACKUP_KEEP',
      parsePositiveInt, DEFAULTS.keep))
    .addOption(opt('--count-tables <list>', 'tables whose exact row counts, taken in the dump\'s snapshot, go into the manifest',
      'BACKUP_COUNT_TABLES', parseTableList, DEFAULTS.countTables.split(',')))
    .addOption(opt('--bucket-keep <n>', 'good backups to keep in the bucket (the newest is never deleted; default: --keep)',
      'BACKUP_BUCKET_KEEP', parsePositiveInt)));

  addBucketOptions(sub('restore-verify', 'restore the newest backup into a scratch database and compare row counts')
    .addOption(opt('--dir <path>', 'backup directory (required)', 'BACKUP_DIR'))
    .addOption(opt('--tables <list>', 'tables whose row counts are compared', 'RESTORE_VERIFY_TABLES',
      parseTableList, DEFAULTS.tables.split(',')))
    .addOption(opt('--scratch-database <name>', 'database created for the restore and dropped afterwards',
      'RESTORE_VERIFY_SCRATCH_DATABASE', parseIdentifierName, DEFAULTS.scratchDatabase))
    .addOption(new Option('--from-bucket', 'take the backup from the bucket (downloaded into --dir and checked before use)'))
    .addOption(opt('--backup <name>', 'this backup instead of the newest good one', 'RESTORE_VERIFY_BACKUP', parseBackupName)));

  return program;
}

/** The off-cluster copy's options, shared by the tasks that read or write backups. */
function addBucketOptions(cmd: Command): Command {
  return cmd
    .addOption(opt('--bucket <name>', 'S3-compatible bucket of the off-cluster copies (credentials from AWS_ACCESS_KEY_ID and '
      + 'AWS_SECRET_ACCESS_KEY only; none: no off-cluster copy)', 'BACKUP_BUCKET', parseBucketName))
    .addOption(opt('--bucket-endpoint <url>', 'S3 API endpoint (none: AWS S3 of the region; https://storage.googleapis.com for GCS; '
      + 'the MinIO URL)', 'BACKUP_BUCKET_ENDPOINT', parseUrl))
    .addOption(opt('--bucket-region <region>', 'region of the bucket', 'BACKUP_BUCKET_REGION', undefined, DEFAULTS.bucketRegion))
    .addOption(opt('--bucket-prefix <prefix>', 'key prefix of the backups in the bucket', 'BACKUP_BUCKET_PREFIX', parseBucketPrefix,
      DEFAULTS.bucketPrefix))
    .addOption(opt('--bucket-path-style <true|false>', 'path-style URLs (MinIO, Ceph RGW)', 'BACKUP_BUCKET_PATH_STYLE', parseBoolean,
      DEFAULTS.bucketPathStyle));
}

function required(value: unknown, what: string, env: string, flag: string): string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new UsageError(`${what} missing: set ${env} or use ${flag}`);
  }
  return value;
}

/** Misconfigurations of the off-cluster copy fail before any work, not after a dump of an hour. */
function checkBucketOptions(options: Record<string, unknown>, env: NodeJS.ProcessEnv): void {
  if (options.fromBucket && !options.bucket) {
    throw new UsageError("option '--from-bucket' needs a bucket: set BACKUP_BUCKET or use --bucket");
  }
  const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((k) => !env[k]);
  if (missing.length > 0) {
    throw new UsageError(`bucket '${String(options.bucket)}' needs credentials: ${missing.join(' and ')} not set `
      + '(in the cluster they come from the Secret named in dbMaintenance.backupBucket.credentialsSecret)');
  }
}

/**
 * Parse argv (without node and script) against process.env. Throws UsageError on bad
 * input; returns `exit` when help or version text was printed.
 */
export function parseConfig(argv: string[], output?: Output): ParseResult {
  // commander reads the environment twins from process.env itself
  const env = process.env;
  let selected: { task: TaskName; cmd: Command } | undefined;
  const program = buildProgram((task, cmd) => { selected = { task, cmd }; }, output);
  try {
    program.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return { kind: 'exit', exitCode: 0 };
      if (e.code === 'commander.help') throw new UsageError(`missing task: use one of ${TASKS.join(', ')} (see --help)`);
      throw new UsageError(e.message.replace(/^error: /, ''));
    }
    throw e;
  }
  if (!selected) {
    throw new UsageError(`missing task: use one of ${TASKS.join(', ')} (see --help)`);
  }
  const all = selected.cmd.optsWithGlobals();
  const user = required(all.username, 'PostgreSQL user', 'PGUSER', '--username');
  const connection: ConnectionConfig = {
    host: required(all.host, 'PostgreSQL host', 'PGHOST', '--host'),
    port: all.port,
    user,
    database: typeof all.dbname === 'string' && all.dbname.length > 0 ? all.dbname : user,
    password: env.PGPASSWORD,
    sslmode: all.sslmode,
  };
  const options: Record<string, unknown> = { ...selected.cmd.opts() };
  if (selected.task === 'backup' || selected.task === 'restore-verify') {
    options.dir = required(options.dir, 'backup directory', 'BACKUP_DIR', '--dir');
  }
  if (options.bucket || options.fromBucket) checkBucketOptions(options, env);
  if (selected.task === 'restore-verify') {
    const scratch = String(options.scratchDatabase);
    if (scratch === connection.database || ['postgres', 'template0', 'template1'].includes(scratch)) {
      throw new UsageError(`option '--scratch-database' must name a throwaway database, not '${scratch}'`);
    }
  }
  return {
    kind: 'run',
    config: {
      task: selected.task,
      connection,
      logLevel: all.logLevel,
      pushgatewayUrl: all.pushgatewayUrl,
      shutdownGraceMs: all.shutdownGraceMs,
      options,
    },
  };
}
