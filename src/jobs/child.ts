// PostgreSQL client programs as children: the password reaches them through
// PGPASSWORD in their environment only, never on the command line.
import { ChildProcess, spawn } from 'node:child_process';
import { redact } from './redact';

export interface Running {
  readonly child: ChildProcess;
  /** Resolves when the child has exited; rejects with its (redacted) stderr tail on failure. */
  readonly done: Promise<void>;
  kill(): void;
}

const TAIL = 8192;

export function runPg(cmd: string, args: string[], env: NodeJS.ProcessEnv, signal: AbortSignal,
  stdout: 'pipe' | 'ignore' = 'ignore'): Running {
  const child = spawn(cmd, args, { env, stdio: ['ignore', stdout, 'pipe'] });
  let tail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (d: string) => { tail = (tail + d).slice(-TAIL); });
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  signal.addEventListener('abort', kill, { once: true });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (e) => {
      signal.removeEventListener('abort', kill);
      reject(new Error(`${cmd} could not be started: ${e.message}`));
    });
    child.once('close', (code, sig) => {
      signal.removeEventListener('abort', kill);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} failed (${sig ? `signal ${sig}` : `exit ${code}`}): ${redact(tail.trim()) || 'no output'}`));
    });
  });
  done.catch(() => undefined); // handled by whoever awaits it
  return { child, done, kill };
}

export async function versionOf(cmd: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(cmd, ['--version'], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => { out += d; });
    child.once('error', () => resolve('unknown'));
    child.once('close', () => resolve(out.trim() || 'unknown'));
  });
}
