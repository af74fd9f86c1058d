// The one JSON report a run prints on stdout, and the exit code it implies.
import { EXIT_CODES, ExitCode, OutputFormat } from './contract';
import { redactDeep } from './redact';
import { renderText } from './report-text';

export type Status = 'ok' | 'finding' | 'error';

export interface Finding {
  /** Stable machine-readable code, e.g. `connections_near_limit`. */
  readonly code: string;
  readonly message: string;
  readonly [key: string]: unknown;
}

export interface TaskResult {
  /** Things beyond a threshold: exit code 1. */
  readonly findings: Finding[];
  /** Parts of the work that could not be done (the rest was): exit code 2. */
  readonly errors?: string[];
  /** Worth a look but not beyond a threshold (e.g. a table to count that does not exist): exit code unchanged. */
  readonly warnings?: string[];
  readonly data: Record<string, unknown>;
}

export interface Report {
  readonly task: string;
  readonly runId: string;
  readonly status: Status;
  readonly exitCode: ExitCode;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly database?: { host: string; port: number; database: string; user: string };
  readonly findings: Finding[];
  readonly errors: string[];
  readonly warnings: string[];
  readonly data: Record<string, unknown>;
}

export function exitCodeOf(result: Pick<TaskResult, 'findings' | 'errors'>): ExitCode {
  if (result.errors && result.errors.length > 0) return EXIT_CODES.error;
  return result.findings.length > 0 ? EXIT_CODES.finding : EXIT_CODES.ok;
}

export function statusOf(exitCode: ExitCode): Status {
  return exitCode === EXIT_CODES.ok ? 'ok' : exitCode === EXIT_CODES.finding ? 'finding' : 'error';
}

export function writeReport(report: Report, format: OutputFormat = 'json'): void {
  const safe = redactDeep(report);
  process.stdout.write(format === 'text' ? renderText(safe) : `${JSON.stringify(safe)}\n`);
}
