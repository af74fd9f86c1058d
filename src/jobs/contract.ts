// The contract of the `aiaas-job` CLI, written once: every task, every flag with
// its type, bounds, default and environment twin. The CLI parser (jobs/config.ts),
// the dbMaintenance config schema and the CronJob builder (constructs/db-maintenance.ts)
// all derive from it, so a CronJob can only pass what the CLI accepts.
// Dependency-free on purpose: the constructs import it without pulling in pg or commander.

/** libpq sslmode values, weakest first. */
export const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** What `long-transactions` does with the transactions it finds. */
export const LONG_TX_ACTIONS = ['report', 'cancel', 'terminate'] as const;
export type LongTxAction = (typeof LONG_TX_ACTIONS)[number];

/** pg_dump formats a backup can take. */
export const BACKUP_FORMATS = ['custom', 'directory'] as const;
export type BackupFormat = (typeof BACKUP_FORMATS)[number];

/** Formats of the report on stdout. */
export const OUTPUT_FORMATS = ['json', 'text'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Levels of the JSON log lines on stderr (pino's). */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Exit codes of `aiaas-job`. The CronJobs' podFailurePolicy fails a Job at once on
 * `finding` and `usage` (retrying would repeat them) and retries `error`.
 */
export const EXIT_CODES = {
  /** Healthy: the work was done and nothing is beyond a threshold. */
  ok: 0,
  /** The work was done and something is beyond a threshold. */
  finding: 1,
  /** Could not do its work (server down, wrong password, lock or statement timeout, SIGTERM). */
  error: 2,
  /** Usage error (EX_USAGE of sysexits.h): a mistyped flag or a bad value; nothing was done. */
  usage: 64,
} as const;
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/** What each exit code means and what the CronJob does with it (README and RUNBOOK list these). */
export const EXIT_CODE_MEANINGS: Readonly<Record<ExitCode, string>> = {
  0: 'healthy: the work was done, nothing beyond a threshold',
  1: 'a finding beyond a threshold (see the report\'s findings); the Job fails at once, not retried',
  2: 'could not do its work (server down, authentication, lock or statement timeout, SIGTERM); retried up to backoffLimit',
  64: 'usage error (unknown flag, bad value, missing setting); the Job fails at once, not retried: fix the manifest or config',
};

/** Largest delay Node's timers take (2^31 - 1 ms); a larger one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const HOUR_MS = 3_600_000;
const DAY_SECONDS = 86_400;

interface FlagBase {
  /** Placeholder shown in --help (`--limit <n>`). */
  readonly arg: string;
  /** Environment variable read when the flag is not given. */
  readonly env: string;
  readonly description: string;
  /**
   * What the value is, when the run cannot do without it: a missing value fails with
   * `<required> missing: set <env> or use <flag>`.
   */
  readonly required?: string;
  /**
   * The option this one only means something with (`bucketKeep` needs `bucket`): a command line
   * built by `argsOf` leaves it out when that option is not given.
   * @default - stands alone
   */
  readonly with?: string;
}

/** A whole number within [min, max]. */
export interface IntFlag extends FlagBase {
  readonly kind: 'int';
  readonly min: number;
  readonly max: number;
  /** Unit shown in messages (`ms`, `s`, `bytes`). */
  readonly unit?: string;
  readonly default?: number;
}

/** A ratio in (0, 1], e.g. 0.05 for 5 %. */
export interface RatioFlag extends FlagBase {
  readonly kind: 'ratio';
  readonly default?: number;
}

/** One of a fixed list. */
export interface ChoiceFlag extends FlagBase {
  readonly kind: 'choice';
  readonly choices: readonly string[];
  readonly default?: string;
}

/** A PostgreSQL identifier (schema or database name). */
export interface NameFlag extends FlagBase {
  readonly kind: 'name';
  readonly default?: string;
}

/** Comma-separated table names, each `table` or `schema.table`. */
export interface TablesFlag extends FlagBase {
  readonly kind: 'tables';
  readonly default?: readonly string[];
}

/** An http(s) URL. */
export interface UrlFlag extends FlagBase {
  readonly kind: 'url';
  readonly default?: string;
}

/** Free text (host name, path). */
export interface TextFlag extends FlagBase {
  readonly kind: 'text';
  readonly default?: string;
}

/** Text that must match a pattern; `expected` says what it should look like. */
export interface PatternFlag extends FlagBase {
  readonly kind: 'pattern';
  readonly pattern: RegExp;
  readonly expected: string;
  readonly default?: string;
}

/**
 * On or off: `--force` alone turns it on; a value (`--force=false`, or the env twin)
 * must be true/false, yes/no or 1/0, so that `RESTORE_FORCE=false` never means on.
 */
export interface SwitchFlag extends FlagBase {
  readonly kind: 'switch';
  readonly default: boolean;
}

export type FlagSpec = IntFlag | RatioFlag | ChoiceFlag | NameFlag | TablesFlag | UrlFlag | TextFlag | SwitchFlag | PatternFlag;

export interface TaskSpec {
  readonly description: string;
  /** Options by camelCase name; the flag is its kebab-case form (`lockTimeoutMs` → `--lock-timeout-ms`). */
  readonly options: Readonly<Record<string, FlagSpec>>;
}

/** Options every task takes (connection, logging, metrics, shutdown). */
export const GLOBAL_OPTIONS = {
  host: { kind: 'text', arg: 'host', env: 'PGHOST', description: 'PostgreSQL host', required: 'PostgreSQL host' },
  port: { kind: 'int', arg: 'port', env: 'PGPORT', description: 'PostgreSQL port', min: 1, max: 65535, default: 5432 },
  username: { kind: 'text', arg: 'user', env: 'PGUSER', description: 'PostgreSQL user', required: 'PostgreSQL user' },
  dbname: { kind: 'name', arg: 'database', env: 'PGDATABASE', description: 'database to check or back up (default: the user name)' },
  sslmode: {
    kind: 'choice', arg: 'mode', env: 'PGSSLMODE', choices: SSL_MODES,
    description: 'TLS to the server, as libpq\'s sslmode (prefer: TLS when the server offers it, logged when not)',
  },
  sslrootcert: {
    kind: 'text', arg: 'file', env: 'PGSSLROOTCERT',
    description: 'PEM file of the CA(s) the server certificate must chain to (verify-ca, verify-full; with require it verifies '
      + 'like verify-ca)',
  },
  pushgatewayUrl: {
    kind: 'url', arg: 'url', env: 'PUSHGATEWAY_URL',
    description: 'Prometheus Pushgateway to push metrics to (none: no push)',
  },
  output: {
    kind: 'choice', arg: 'format', env: 'JOB_OUTPUT', choices: OUTPUT_FORMATS,
    description: 'report on stdout: json, or text for a person (default: text on a terminal, json otherwise)',
  },
  logLevel: {
    kind: 'choice', arg: 'level', env: 'LOG_LEVEL', choices: LOG_LEVELS, default: 'info',
    description: 'log level of the JSON lines on stderr',
  },
  shutdownGraceMs: {
    kind: 'int', arg: 'ms', env: 'JOB_SHUTDOWN_GRACE_MS', min: 0, max: HOUR_MS, unit: 'ms', default: 20000,
    description: 'after SIGTERM, force exit after this many ms',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

/** S3 bucket names (GCS and MinIO follow the same rule). */
export const BUCKET_NAME_PATTERN = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Key prefix: empty, or path segments ending in '/', without a leading one. */
export const BUCKET_PREFIX_PATTERN = /^([A-Za-z0-9!_.*'()-]+\/)*$/;
/** Names of backups as the backup task makes them (they become file names: no separators). */
export const BACKUP_NAME_PATTERN = /^aiaas-[A-Za-z0-9_-]+-\d{8}T\d{9}Z\.dump$/;

/**
 * A backup named on the command line: a bare name of this tool's backups, so it can never
 * point outside the backup directory or the bucket prefix (no `/`, no `..`).
 */
function backupNameOption<E extends string>(env: E, description: string) {
  return {
    kind: 'pattern', arg: 'name', env, pattern: BACKUP_NAME_PATTERN,
    expected: 'a backup name like aiaas-mydb-20261101T020000000Z.dump', description,
  } as const;
}

/**
 * The off-cluster copy, for the tasks that write or read backups. Credentials are not
 * options: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment (a Secret) only.
 */
/** The backup directory: backup writes it, restore-verify and restore read it (one flag, one env twin). */
const BACKUP_DIR_OPTION = {
  kind: 'text', arg: 'path', env: 'BACKUP_DIR', required: 'backup directory', description: 'backup directory (required)',
} as const satisfies TextFlag;

export const BUCKET_OPTIONS = {
  bucket: {
    kind: 'pattern', arg: 'name', env: 'BACKUP_BUCKET', pattern: BUCKET_NAME_PATTERN,
    expected: 'a bucket name of 3 to 63 lower-case letters, digits, "." or "-" (e.g. acme-db-backups)',
    description: 'S3-compatible bucket of the off-cluster copies (none: no off-cluster copy; credentials from '
      + 'AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY only)',
  },
  bucketEndpoint: {
    kind: 'url', arg: 'url', env: 'BACKUP_BUCKET_ENDPOINT',
    description: 'S3 API endpoint (none: AWS S3 of the region; https://storage.googleapis.com for GCS; the MinIO URL)',
  },
  bucketRegion: {
    kind: 'pattern', arg: 'region', env: 'BACKUP_BUCKET_REGION', pattern: /^[a-z0-9-]{1,32}$/,
    expected: 'a region name like eu-west-1 (GCS: auto; MinIO: its configured region, usually us-east-1)',
    description: 'region of the bucket, which signs the requests (default: us-east-1)',
  },
  bucketPrefix: {
    kind: 'pattern', arg: 'prefix', env: 'BACKUP_BUCKET_PREFIX', pattern: BUCKET_PREFIX_PATTERN,
    expected: "a key prefix ending in '/' without a leading '/' (e.g. aiaas/prod/)",
    description: 'key prefix of the backups in the bucket (default: none)',
  },
  bucketPathStyle: {
    kind: 'switch', arg: 'bool', env: 'BACKUP_BUCKET_PATH_STYLE', default: false,
    description: 'path-style URLs, endpoint/bucket/key, as MinIO and Ceph RGW want (default: false)',
  },
} as const satisfies Readonly<Record<string, FlagSpec>>;

/** Every task of `aiaas-job`, in the order of --help. */
export const TASK_SPECS = {
  'db-health': {
    description: 'pg_stat_database of the database and connections in use against max_connections',
    options: {
      maxConnectionRatio: {
        kind: 'ratio', arg: 'ratio', env: 'DB_HEALTH_MAX_CONNECTION_RATIO', default: 0.8,
        description: 'finding when connections in use / max_connections is above this',
      },
    },
  },
  'slow-queries': {
    description: 'top statements by mean execution time from pg_stat_statements',
    options: {
      limit: {
        kind: 'int', arg: 'n', env: 'SLOW_QUERIES_LIMIT', min: 1, max: 1000, default: 10,
        description: 'number of statements to report',
      },
      minMeanMs: {
        kind: 'int', arg: 'ms', env: 'SLOW_QUERIES_MIN_MEAN_MS', min: 1, max: 24 * HOUR_MS, unit: 'ms', default: 1000,
        description: 'finding for a reported statement whose mean execution time is above this',
      },
    },
  },
  'table-sizes': {
    description: 'largest relations by total size, with dead-tuple ratios',
    options: {
      limit: {
        kind: 'int', arg: 'n', env: 'TABLE_SIZES_LIMIT', min: 1, max: 1000, default: 20,
        description: 'number of relations to report',
      },
      schema: { kind: 'name', arg: 'name', env: 'TABLE_SIZES_SCHEMA', default: 'public', description: 'schema to look at' },
      maxDeadRatio: {
        kind: 'ratio', arg: 'ratio', env: 'TABLE_SIZES_MAX_DEAD_RATIO', default: 0.2,
        description: 'finding when dead / (live + dead) tuples is above this',
      },
      minDeadTuples: {
        kind: 'int', arg: 'n', env: 'TABLE_SIZES_MIN_DEAD_TUPLES', min: 0, max: Number.MAX_SAFE_INTEGER, default: 1000,
        description: 'ignore the dead ratio of tables with fewer dead tuples than this',
      },
      lockTimeoutMs: {
        kind: 'int', arg: 'ms', env: 'TABLE_SIZES_LOCK_TIMEOUT_MS', min: 1, max: HOUR_MS, unit: 'ms', default: 2000,
        description: 'lock_timeout per relation; a relation still locked after it is skipped and named',
      },
    },
  },
  'vacuum-analyze': {
    description: 'VACUUM (ANALYZE) table by table; a locked table is skipped, not fatal',
    options: {
      parallel: {
        kind: 'int', arg: 'n', env: 'VACUUM_PARALLEL', min: 1, max: 64, default: 2,
        description: 'tables vacuumed at the same time',
      },
      // 0 would mean "wait forever" to PostgreSQL: the very thing this timeout prevents.
      lockTimeoutMs: {
        kind: 'int', arg: 'ms', env: 'VACUUM_LOCK_TIMEOUT_MS', min: 1, max: HOUR_MS, unit: 'ms', default: 5000,
        description: 'lock_timeout per table; a table still locked after it is skipped',
      },
      statementTimeoutMs: {
        kind: 'int', arg: 'ms', env: 'VACUUM_STATEMENT_TIMEOUT_MS', min: 1, max: 24 * HOUR_MS, unit: 'ms', default: HOUR_MS,
        description: 'statement_timeout per table',
      },
      schema: { kind: 'name', arg: 'name', env: 'VACUUM_SCHEMA', default: 'public', description: 'schema whose tables are vacuumed' },
    },
  },
  'long-transactions': {
    description: 'transactions open longer than a threshold; report, or cancel/terminate them',
    options: {
      thresholdSeconds: {
        kind: 'int', arg: 's', env: 'LONG_TX_THRESHOLD_SECONDS', min: 1, max: 30 * DAY_SECONDS, unit: 's', default: 300,
        description: 'report transactions open longer than this',
      },
      action: {
        kind: 'choice', arg: 'action', env: 'LONG_TX_ACTION', choices: LONG_TX_ACTIONS, default: 'report',
        description: 'what to do with them',
      },
    },
  },
  'replication-lag': {
    description: 'standby lag from the primary (pg_stat_replication) or on a standby itself',
    options: {
      maxLagBytes: {
        kind: 'int', arg: 'bytes', env: 'REPLICATION_MAX_LAG_BYTES', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes',
        default: 16_777_216, description: 'finding when a standby lags more bytes than this',
      },
      maxLagSeconds: {
        kind: 'int', arg: 's', env: 'REPLICATION_MAX_LAG_SECONDS', min: 0, max: 30 * DAY_SECONDS, unit: 's', default: 60,
        description: 'finding when a standby lags more seconds than this',
      },
      expectedStandbys: {
        kind: 'int', arg: 'n', env: 'REPLICATION_EXPECTED_STANDBYS', min: 0, max: 100, default: 1,
        description: 'finding when fewer standbys stream from the primary',
      },
    },
  },
  'backup': {
    description: 'pg_dump -Fc to the backup directory with checksum, manifest and retention',
    options: {
      dir: BACKUP_DIR_OPTION,
      keep: {
        kind: 'int', arg: 'n', env: 'BACKUP_KEEP', min: 1, max: 10_000, default: 7,
        description: 'complete backups to keep (the newest is never deleted)',
      },
      countTables: {
        kind: 'tables', arg: 'list', env: 'BACKUP_COUNT_TABLES', default: ['users'],
        description: 'tables whose exact row counts, taken in the dump\'s snapshot, go into the manifest',
      },
      // pg_dump waits forever for a lock by default, holding its snapshot (and the xmin horizon) meanwhile.
      lockWaitTimeoutMs: {
        kind: 'int', arg: 'ms', env: 'BACKUP_LOCK_WAIT_TIMEOUT_MS', min: 1, max: 24 * HOUR_MS, unit: 'ms', default: 300_000,
        description: 'how long to wait for a table\'s lock (pg_dump --lock-wait-timeout) before failing, naming the table',
      },
      format: {
        kind: 'choice', arg: 'format', env: 'BACKUP_FORMAT', choices: BACKUP_FORMATS, default: 'custom',
        description: 'pg_dump format: custom (one file) or directory (one file per table, dumped by --jobs in parallel)',
      },
      jobs: {
        kind: 'int', arg: 'n', env: 'BACKUP_JOBS', min: 1, max: 16, default: 2,
        description: 'tables dumped at the same time (directory format; each is one more connection)',
      },
      compress: {
        kind: 'int', arg: 'level', env: 'BACKUP_COMPRESS', min: 0, max: 9, default: 1,
        description: 'gzip level of pg_dump (0 none, 1 fastest: about half the time of pg_dump\'s default 6 for a dump ~5 % larger, 9 smallest)',
      },
      ...BUCKET_OPTIONS,
      bucketKeep: {
        kind: 'int', arg: 'n', env: 'BACKUP_BUCKET_KEEP', min: 1, max: 10_000, default: 7, with: 'bucket',
        description: 'good backups to keep in the bucket (the newest good one is never deleted)',
      },
    },
  },
  'restore-verify': {
    description: 'restore the newest backup into a scratch database and compare row counts',
    options: {
      dir: BACKUP_DIR_OPTION,
      tables: {
        kind: 'tables', arg: 'list', env: 'RESTORE_VERIFY_TABLES', default: ['users'],
        description: 'tables whose row counts are compared',
      },
      scratchDatabase: {
        kind: 'name', arg: 'name', env: 'RESTORE_VERIFY_SCRATCH_DATABASE', default: 'aiaas_restore_verify',
        description: 'database created (and marked) for the restore and dropped afterwards; any other database is refused',
      },
      maxBackupAgeSeconds: {
        kind: 'int', arg: 's', env: 'RESTORE_VERIFY_MAX_BACKUP_AGE_SECONDS', min: 1, max: 365 * DAY_SECONDS, unit: 's', default: 93_600,
        description: 'finding when the newest complete backup is older than this (default: a daily backup, its deadline and slack)',
      },
      jobs: {
        kind: 'int', arg: 'n', env: 'RESTORE_VERIFY_JOBS', min: 1, max: 16, default: 2,
        description: 'pg_restore --jobs: tables and indexes restored at the same time',
      },
      ...BUCKET_OPTIONS,
      fromBucket: {
        kind: 'switch', arg: 'bool', env: 'RESTORE_VERIFY_FROM_BUCKET', default: false,
        description: 'take the backup from the bucket (downloaded under --dir and checked before use), not from --dir',
      },
      backup: backupNameOption('RESTORE_VERIFY_BACKUP', 'this backup instead of the newest good one'),
    },
  },
  'restore': {
    description: 'restore a backup (default: the newest whose checksum matches) into a database that does not exist or is empty;'
      + ' --force replaces a database with data, after a safety backup of it',
    options: {
      dir: BACKUP_DIR_OPTION,
      backup: backupNameOption('RESTORE_BACKUP', 'the backup to restore (default: the newest complete backup whose checksum matches)'),
      targetDatabase: {
        kind: 'name', arg: 'name', env: 'RESTORE_TARGET_DATABASE', default: 'aiaas_restored',
        description: 'database restored into: it must not exist or be empty, unless --force',
      },
      jobs: {
        kind: 'int', arg: 'n', env: 'RESTORE_JOBS', min: 1, max: 64, default: 2,
        description: 'parallel pg_restore jobs (pg_restore --jobs)',
      },
      force: {
        kind: 'switch', arg: 'bool', env: 'RESTORE_FORCE', default: false,
        description: 'replace a target database that has data: it is backed up into --dir first, then dropped',
      },
      ...BUCKET_OPTIONS,
      fromBucket: {
        kind: 'switch', arg: 'bool', env: 'RESTORE_FROM_BUCKET', default: false,
        description: 'take the backup (newest good, or --backup) from the bucket: downloaded under --dir and its checksum checked before use',
      },
    },
  },
} as const satisfies Readonly<Record<string, TaskSpec>>;

export type TaskName = keyof typeof TASK_SPECS;
export const TASKS = Object.keys(TASK_SPECS) as TaskName[];

// ---- option types derived from the specs ------------------------------------

type ValueOf<F> = F extends { kind: 'int' | 'ratio' } ? number
  : F extends { kind: 'switch' } ? boolean
  : F extends { kind: 'choice'; choices: readonly (infer V)[] } ? V
    : F extends { kind: 'tables' } ? readonly string[]
      : string;

/** Keys whose value is always there after parsing: a default, or required. */
type PresentKeys<O> = { [K in keyof O]: O[K] extends { default: unknown } | { required: string } ? K : never }[keyof O];

/** Parsed values of a set of flags. */
export type OptionValues<O> =
  { readonly [K in PresentKeys<O>]: ValueOf<O[K]> } & { readonly [K in Exclude<keyof O, PresentKeys<O>>]?: ValueOf<O[K]> };

/** Parsed options of a task (`TaskOptions<'vacuum-analyze'>['lockTimeoutMs']` is a number). */
export type TaskOptions<T extends TaskName> = OptionValues<(typeof TASK_SPECS)[T]['options']>;
export type GlobalOptions = OptionValues<typeof GLOBAL_OPTIONS>;

// ---- the command line from values ---------------------------------------------

/** `lockTimeoutMs` → `--lock-timeout-ms` (commander maps it back the same way). */
export function flagOf(option: string): string {
  return `--${option.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

function textOf(value: string | number | boolean | readonly string[]): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

/**
 * The options of `task` found in `values`, in the order of the contract.
 * Extra keys (a config section's `schedule`...) are ignored.
 */
export function pickOptions<T extends TaskName>(task: T, values: Partial<TaskOptions<T>>): Partial<TaskOptions<T>> {
  const all = values as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(TASK_SPECS[task].options)) {
    if (all[key] !== undefined) picked[key] = all[key];
  }
  return picked as Partial<TaskOptions<T>>;
}

/** `[task, --flag, value, ...]` for the given options, in the order of the contract; undefined ones are left out. */
export function argsOf<T extends TaskName>(task: T, options: Partial<TaskOptions<T>>): string[] {
  const args: string[] = [task];
  const values = options as Record<string, string | number | boolean | readonly string[] | undefined>;
  for (const [key, spec] of Object.entries(TASK_SPECS[task].options) as [string, FlagBase][]) {
    if (spec.with !== undefined && values[spec.with] === undefined) continue;
    const value = values[key];
    if (value === true) args.push(flagOf(key)); // a switch: on by its presence
    else if (value !== undefined && value !== false) args.push(flagOf(key), textOf(value));
  }
  return args;
}
