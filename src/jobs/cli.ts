#!/usr/bin/env node
// aiaas-job <task> [flags]: the runbook's PostgreSQL maintenance and backups as
// scheduled jobs. One JSON report on stdout, JSON logs on stderr; exit 0
// healthy, 1 a finding beyond a threshold, 2 could not do its work, 64 usage error.
import { randomUUID } from 'node:crypto';
import { Config, ConfigOf, parseConfig, TaskName, TASKS, UsageError } from './config';
import { EXIT_CODES, GLOBAL_OPTIONS, LOG_LEVELS } from './contract';
import type { Task } from './context';
import { ConnectionLostError, createPool, resolvePrefer } from './db';
import { describeError } from './errors';
import { cancelUntil } from './sessions';
import { createLogger, Logger } from './logger';
import { Metrics } from './metrics';
import { addSecret, addSecretsOf, redact } from './redact';
import { exitCodeOf, Report, statusOf, TaskResult, writeReport } from './report';
import { outputFormat } from './report-text';
import { backup } from './tasks/backup';
import { dbHealth } from './tasks/db-health';
import { longTransactions } from './tasks/long-transactions';
import { replicationLag } from './tasks/replication-lag';
import { restore } from './tasks/restore';
import { restoreVerify } from './tasks/restore-verify';
import { slowQueries } from './tasks/slow-queries';
import { tableSizes } from './tasks/table-sizes';
import { vacuumAnalyze } from './tasks/vacuum-analyze';

const TASK_FUNCTIONS: { [T in TaskName]: Task<T> } = {
  'db-health': dbHealth,
  'slow-queries': slowQueries,
  'table-sizes': tableSizes,
  'vacuum-analyze': vacuumAnalyze,
  'long-transactions': longTransactions,
  'replication-lag': replicationLag,
  'backup': backup,
  'restore-verify': restoreVerify,
  'restore': restore,
};

function poolSize(config: Config): number {
  // vacuum-analyze: one session per worker; backup: advisory-lock + snapshot session, one spare
  return config.task === 'vacuum-analyze' ? config.options.parallel : 3;
}

/** `--output` as given (the parser refused the command line, so it is read by hand). */
function askedOutput(): string | undefined {
  const args = process.argv.slice(2);
  const i = args.findIndex((a) => a === '--output' || a.startsWith('--output='));
  if (i < 0) return process.env[GLOBAL_OPTIONS.output.env];
  return args[i].includes('=') ? args[i].split('=')[1] : args[i + 1];
}

function usageFailure(message: string, runId: string, started: Date): void {
  const level = (LOG_LEVELS as readonly string[]).includes(process.env.LOG_LEVEL ?? '') ? process.env.LOG_LEVEL! : 'info';
  const task = process.argv.slice(2).find((a) => (TASKS as readonly string[]).includes(a)) ?? 'unknown';
  const log = createLogger(level, { task, runId });
  log.error({ usage: true }, redact(message));
  const finished = new Date();
  writeReport({
    task, runId, status: 'error', exitCode: EXIT_CODES.usage,
    startedAt: started.toISOString(), finishedAt: finished.toISOString(),
    durationSeconds: (finished.getTime() - started.getTime()) / 1000,
    findings: [], errors: [redact(message)], warnings: [], data: {},
  }, outputFormat(askedOutput(), process.stdout.isTTY));
  process.exitCode = EXIT_CODES.usage;
}

async function runTask<T extends TaskName>(config: ConfigOf<T>, connections: number, log: Logger, metrics: Metrics,
  stop: AbortSignal): Promise<TaskResult> {
  // A session lost mid-run (failover, shutdown, pg_terminate_backend) stops the task
  // like a signal does: children are killed and leftovers removed, then exit 2.
  const lost = new AbortController();
  const onLost = (err: ConnectionLostError): void => {
    if (lost.signal.aborted) return;
    log.error({ err }, 'lost the connection to the database server');
    lost.abort(err);
  };
  const pool = createPool(config.connection, `aiaas-job/${config.task}`, connections, log, undefined, onLost);
  const signal = AbortSignal.any([stop, lost.signal]);
  let result: TaskResult;
  try {
    const task: Task<T> = TASK_FUNCTIONS[config.task];
    result = await task({ config, pool, log, metrics, signal, onLost });
  } catch (err) {
    const e = lost.signal.aborted ? lost.signal.reason : err;
    log.error({ err: e }, 'task could not do its work');
    result = { findings: [], errors: [redact(describeError(e))], data: {} };
  } finally {
    await pool.end().catch((err) => log.warn({ err }, 'closing the pool failed'));
  }
  if (lost.signal.aborted && !(result.errors ?? []).includes((lost.signal.reason as Error).message)) {
    return { ...result, errors: [(lost.signal.reason as Error).message, ...(result.errors ?? [])] };
  }
  return result;
}

/** Cancels the run's running statements until the task has returned, through a session of its own. */
async function cancelRunning(config: Config, log: Logger, taskDone: Promise<unknown>): Promise<void> {
  const pool = createPool(config.connection, `aiaas-job/${config.task}/cancel`, 1, log);
  try {
    await cancelUntil(taskDone, pool, log);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const started = new Date();
  const runId = randomUUID().slice(0, 8);
  addSecret(process.env.PGPASSWORD);
  // a connection string given as a database name must not be echoed by any message
  for (const value of [...process.argv.slice(2), process.env.PGDATABASE]) addSecretsOf(value);

  let config: Config;
  try {
    const parsed = parseConfig(process.argv.slice(2), {
      writeOut: (s) => process.stdout.write(s),
      writeErr: () => undefined, // usage errors are logged as JSON below
    });
    if (parsed.kind === 'exit') {
      process.exitCode = parsed.exitCode;
      return;
    }
    config = parsed.config;
  } catch (e) {
    if (e instanceof UsageError) {
      usageFailure(e.message, runId, started);
      return;
    }
    throw e;
  }

  const log = createLogger(config.logLevel, { task: config.task, runId });
  const metrics = new Metrics();
  const abort = new AbortController();
  let taskDone: Promise<TaskResult> | undefined;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (abort.signal.aborted) return;
    log.warn({ signal: sig, graceMs: config.shutdownGraceMs }, 'stopping on signal');
    abort.abort();
    // pod termination: finish cleanup within the grace period, then force
    setTimeout(() => {
      log.error({ signal: sig }, 'grace period over, forcing exit');
      process.exit(EXIT_CODES.error);
    }, config.shutdownGraceMs).unref();
    // a statement waiting for a lock does not look at the signal: cancel it in the server
    if (taskDone) void cancelRunning(config, log, taskDone);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  const { host, port, database, user, sslmode } = config.connection;
  log.info({ host, port, database, user, sslmode }, 'task starting');
  config = { ...config, connection: await resolvePrefer(config.connection, log) };
  taskDone = runTask(config, poolSize(config), log, metrics, abort.signal);
  if (abort.signal.aborted) void cancelRunning(config, log, taskDone); // signalled before the task started
  const result = await taskDone;
  const errors = [...(result.errors ?? [])];
  if (abort.signal.aborted) errors.unshift('stopped by signal before the work was done');
  const exitCode = exitCodeOf({ findings: result.findings, errors });
  const finished = new Date();
  const durationSeconds = (finished.getTime() - started.getTime()) / 1000;

  metrics.recordRun(exitCode, durationSeconds, result.findings.length, finished);
  if (config.pushgatewayUrl) {
    try {
      await metrics.push(config.pushgatewayUrl, config.task, log);
    } catch (err) {
      log.warn({ err }, 'pushing metrics to the pushgateway failed');
    }
  }

  const report: Report = {
    task: config.task,
    runId,
    status: statusOf(exitCode),
    exitCode,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds,
    database: { host, port, database, user },
    findings: result.findings,
    errors,
    warnings: result.warnings ?? [],
    data: result.data,
  };
  for (const f of result.findings) log.warn({ finding: f.code }, f.message);
  for (const w of report.warnings) log.warn({ warning: true }, w);
  log.info({ status: report.status, exitCode, durationSeconds, findings: result.findings.length }, 'task finished');
  writeReport(report, outputFormat(config.output, process.stdout.isTTY));
  process.exitCode = exitCode;
  // The report is out; a socket node-postgres left half-open (a failed authentication
  // waits for the server's authentication_timeout, 60 s) must not hold the pod.
  setTimeout(() => process.exit(exitCode), 1000).unref();
}

main().catch((e) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', msg: redact(e instanceof Error ? e.stack ?? e.message : String(e)) })}\n`);
  process.exitCode = 2;
});
