// The command line of `aiaas-job`, built from the contract (contract.ts): flags over
// environment over defaults. Parsing is strict: a bad value names the flag (or the
// environment variable) and what is expected, and the run ends with exit code 64.
import { accessSync, constants } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  FlagSpec, GLOBAL_OPTIONS, GlobalOptions, IntFlag, LogLevel, OutputFormat, SslMode, TASK_SPECS, TASKS, TaskName, TaskOptions, flagOf,
} from './contract';

export { LONG_TX_ACTIONS, TASKS } from './contract';
export type { LongTxAction, TaskName, TaskOptions } from './contract';

export interface ConnectionConfig {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly database: string;
  /** From PGPASSWORD only, never from a flag. */
  readonly password?: string;
  readonly sslmode?: SslMode;
  /** PEM file of the CAs the server certificate must chain to. */
  readonly sslrootcert?: string;
}

export interface CommonConfig {
  readonly connection: ConnectionConfig;
  readonly logLevel: LogLevel;
  /** Format of the report on stdout; undefined: text on a terminal, JSON otherwise. */
  readonly output?: OutputFormat;
  readonly pushgatewayUrl?: string;
  readonly shutdownGraceMs: number;
}

/** The config of a run of task T, its options parsed and validated. */
export interface ConfigOf<T extends TaskName> extends CommonConfig {
  readonly task: T;
  readonly options: TaskOptions<T>;
}

/** The config of a run of any task (`config.task` tells which options it has). */
export type Config = { [T in TaskName]: ConfigOf<T> }[TaskName];

export type DbHealthOptions = TaskOptions<'db-health'>;
export type SlowQueriesOptions = TaskOptions<'slow-queries'>;
export type TableSizesOptions = TaskOptions<'table-sizes'>;
export type VacuumOptions = TaskOptions<'vacuum-analyze'>;
export type LongTxOptions = TaskOptions<'long-transactions'>;
export type ReplicationOptions = TaskOptions<'replication-lag'>;
export type BackupOptions = TaskOptions<'backup'>;
export type RestoreVerifyOptions = TaskOptions<'restore-verify'>;
export type RestoreOptions = TaskOptions<'restore'>;

/** Thrown for bad input; the CLI reports it and exits with 64 (EX_USAGE). */
export class UsageError extends Error {}

/** Result of parsing: either a config to run, or help/version text was shown. */
export type ParseResult = { kind: 'run'; config: Config } | { kind: 'exit'; exitCode: number };

// ---- strict value parsers ------------------------------------------------

function integerIn(min: number, max: number, unit?: string): (value: string) => number {
  const kind = min === 0 ? 'a non-negative integer' : min === 1 ? 'a positive integer' : `an integer of at least ${min}`;
  const expected = `expected ${kind}`
    + `${max < Number.MAX_SAFE_INTEGER ? ` up to ${max}` : ''}${unit ? ` (${unit})` : ''}`;
  return (value: string): number => {
    const n = /^\s*\d+\s*$/.test(value) ? Number(value) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(expected);
    return n;
  };
}

/** An integer within the bounds of an int flag. */
export function parseIntFlag(spec: Pick<IntFlag, 'min' | 'max' | 'unit'>): (value: string) => number {
  return integerIn(spec.min, spec.max, spec.unit);
}

export const parseNonNegativeInt = integerIn(0, Number.MAX_SAFE_INTEGER);
export const parsePositiveInt = integerIn(1, Number.MAX_SAFE_INTEGER);

/** A ratio in (0, 1]: 0 would make every value a finding. */
export function parseRatio(value: string): number {
  const s = value.trim();
  if (!/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/.test(s) || Number(s) === 0) {
    throw new InvalidArgumentError('expected a ratio above 0 and at most 1 (e.g. 0.8)');
  }
  return Number(s);
}

export function parseIdentifierName(value: string): string {
  const s = value.trim();
  // libpq would read these as a connection string, password included; we take the password from PGPASSWORD only
  if (/^postgres(ql)?:\/\//i.test(s) || /=/.test(s)) {
    throw new InvalidArgumentError('expected a name, not a connection string: give host, port and user with their flags '
      + 'and the password in PGPASSWORD');
  }
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

function matching(pattern: RegExp, expected: string): (value: string) => string {
  return (value: string): string => {
    if (!pattern.test(value)) throw new InvalidArgumentError(`expected ${expected}`);
    return value;
  };
}

// ---- the program ---------------------------------------------------------

/** true/false, yes/no, 1/0 (a switch's value or its env twin). */
export function parseSwitch(value: string | boolean): boolean {
  if (typeof value === 'boolean') return value; // `--force` alone: commander hands over the preset
  const v = value.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(v)) return true;
  if (['false', 'no', '0'].includes(v)) return false;
  throw new InvalidArgumentError('expected true or false (or yes/no, 1/0)');
}

/** The commander option of a flag of the contract: parser, choices, default and env twin. */
function optionOf(key: string, spec: FlagSpec): Option {
  const o = spec.kind === 'switch'
    ? new Option(`${flagOf(key)} [${spec.arg}]`, spec.description).env(spec.env).preset(true)
    : new Option(`${flagOf(key)} <${spec.arg}>`, spec.description).env(spec.env);
  switch (spec.kind) {
    case 'int': o.argParser(parseIntFlag(spec)); break;
    case 'ratio': o.argParser(parseRatio); break;
    case 'choice': o.choices([...spec.choices]); break;
    case 'name': o.argParser(parseIdentifierName); break;
    case 'tables': o.argParser(parseTableList); break;
    case 'url': o.argParser(parseUrl); break;
    case 'switch': o.argParser(parseSwitch); break;
    case 'text': break;
    case 'pattern': o.argParser(matching(spec.pattern, spec.expected)); break;
  }
  if (spec.default !== undefined) {
    const def = spec.default;
    if (typeof def === 'object') o.default([...def], def.join(','));
    else if (def === '') o.default(def, "''");
    else o.default(def, String(def));
  }
  return o;
}

function addOptions(cmd: Command, specs: Readonly<Record<string, FlagSpec>>): Command {
  for (const [key, spec] of Object.entries(specs)) cmd.addOption(optionOf(key, spec));
  return cmd;
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
      + 'Exit codes: 0 healthy, 1 a finding beyond a threshold, 2 could not do its work, 64 usage error.\n'
      + 'The password is read from PGPASSWORD only.')
    .exitOverride()
    .allowExcessArguments(false)
    .showHelpAfterError(false)
    .configureHelp({ showGlobalOptions: true });
  addOptions(program, GLOBAL_OPTIONS);
  if (output) program.configureOutput(output);

  for (const task of TASKS) {
    const spec = TASK_SPECS[task];
    const cmd = program
      .command(task)
      .description(spec.description)
      .allowExcessArguments(false)
      .action((_opts: unknown, c: Command) => onTask(task, c));
    addOptions(cmd, spec.options);
  }
  return program;
}

/** Fails on a missing required value, naming the environment variable and the flag. */
function checkRequired(values: Record<string, unknown>, specs: Readonly<Record<string, FlagSpec>>): void {
  for (const [key, spec] of Object.entries(specs)) {
    const value = values[key];
    if (spec.required && (typeof value !== 'string' || value.length === 0)) {
      throw new UsageError(`${spec.required} missing: set ${spec.env} or use ${flagOf(key)}`);
    }
  }
}

/** Misconfigurations of the off-cluster copy fail before any work, not after an hour of pg_dump. */
function checkBucket(options: { bucket?: string; fromBucket?: boolean }): void {
  if (options.fromBucket && !options.bucket) {
    throw new UsageError("option '--from-bucket' needs a bucket: set BACKUP_BUCKET or use --bucket");
  }
  if (!options.bucket) return;
  const missing = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((k) => !process.env[k]);
  if (missing.length > 0) {
    throw new UsageError(`bucket '${options.bucket}' needs credentials: ${missing.join(' and ')} not set `
      + '(in the cluster they come from the Secret named in dbMaintenance.backupBucket.credentialsSecret)');
  }
}

/** The checks no single flag can make. */
function checkTogether(config: Config): void {
  if (config.task === 'backup' || config.task === 'restore-verify' || config.task === 'restore') checkBucket(config.options);
  const { sslmode, sslrootcert } = config.connection;
  if ((sslmode === 'verify-ca' || sslmode === 'verify-full') && !sslrootcert) {
    throw new UsageError(`option '--sslmode ${sslmode}' needs the CA that signed the server certificate: `
      + 'set PGSSLROOTCERT or use --sslrootcert (a PEM file)');
  }
  if (sslrootcert) {
    try {
      accessSync(sslrootcert, constants.R_OK);
    } catch (e) {
      throw new UsageError(`option '--sslrootcert <file>' argument '${sslrootcert}' cannot be read (${(e as NodeJS.ErrnoException).code}); `
        + 'expected a readable PEM file of CA certificates');
    }
  }
  if (config.task === 'restore-verify') {
    const scratch = config.options.scratchDatabase;
    if (scratch === config.connection.database || ['postgres', 'template0', 'template1'].includes(scratch)) {
      throw new UsageError(`option '--scratch-database' must name a throwaway database, not '${scratch}'`);
    }
  }
  if (config.task === 'restore' && ['postgres', 'template0', 'template1'].includes(config.options.targetDatabase)) {
    throw new UsageError(`option '--target-database' must name an application database, not '${config.options.targetDatabase}'`);
  }
}

/**
 * Parse argv (without node and script) against process.env. Throws UsageError on bad
 * input; returns `exit` when help or version text was printed.
 */
export function parseConfig(argv: string[], output?: Output): ParseResult {
  // commander reads the environment twins from process.env itself
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
  const global = program.opts<GlobalOptions>();
  checkRequired(global, GLOBAL_OPTIONS);
  const options = selected.cmd.opts();
  checkRequired(options, TASK_SPECS[selected.task].options);
  const config = {
    task: selected.task,
    connection: {
      host: global.host,
      port: global.port,
      user: global.username,
      database: global.dbname !== undefined && global.dbname.length > 0 ? global.dbname : global.username,
      password: process.env.PGPASSWORD,
      sslmode: global.sslmode,
      sslrootcert: global.sslrootcert,
    },
    logLevel: global.logLevel,
    output: global.output,
    pushgatewayUrl: global.pushgatewayUrl,
    shutdownGraceMs: global.shutdownGraceMs,
    // commander built these from the task's specs: the types of TaskOptions hold
    options: options as TaskOptions<typeof selected.task>,
  } as Config;
  checkTogether(config);
  return { kind: 'run', config };
}
