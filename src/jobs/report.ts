// The one JSON report a run prints on stdout, and the exit code it implies.

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
  readonly exitCode: 0 | 1 | 2;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly database?: { host: string; port: number; database: string; user: string };
  readonly findings: Finding[];
  readonly errors: string[];
  readonly warnings: string[];
  readonly data: Record<string, unknown>;
}

export function exitCodeOf(result: Pick<TaskResult, 'findings' | 'errors'>): 0 | 1 | 2 {
  if (result.errors && result.errors.length > 0) return 2;
  return result.findings.length > 0 ? 1 : 0;
}

export function statusOf(exitCode: 0 | 1 | 2): Status {
  return exitCode === 0 ? 'ok' : exitCode === 1 ? 'finding' : 'error';
}

export function writeReport(report: Report): void {
  process.stdout.write(`${JSON.stringify(report)}\n`);
}
