// What every task receives.
import type { Pool } from 'pg';
import type { ConfigOf, TaskName } from './config';
import type { ConnectionLostError } from './db';
import type { Logger } from './logger';
import type { Metrics } from './metrics';
import type { TaskResult } from './report';

export interface TaskContext<T extends TaskName = TaskName> {
  /** The run's config, with the options of task T. */
  readonly config: ConfigOf<T>;
  readonly pool: Pool;
  readonly log: Logger;
  readonly metrics: Metrics;
  /**
   * Aborted on SIGTERM/SIGINT or when a session in use loses the server (the
   * reason is then a ConnectionLostError): stop starting new work, clean up, fail.
   */
  readonly signal: AbortSignal;
  /** For the pools a task opens itself (createPool's onLost): their losses stop the task too. */
  readonly onLost: (err: ConnectionLostError) => void;
}

export type Task<T extends TaskName> = (ctx: TaskContext<T>) => Promise<TaskResult>;

/** Number or null from a pg numeric/bigint column (returned as string). */
export function num(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : null;
}

export function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  throw signal.reason instanceof Error && signal.reason.name === 'ConnectionLostError'
    ? signal.reason : new Error('stopped by signal before the work was done');
}
