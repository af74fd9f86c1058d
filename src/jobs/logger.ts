// Structured JSON lines on stderr (fd 2), scoped with task and run id.
import pino from 'pino';
import { describeError, isExpectedError } from './errors';
import { redact, redactDeep } from './redact';

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

function serializeError(e: unknown): object {
  if (e instanceof Error) {
    const pgCode = (e as { code?: unknown }).code;
    return {
      type: e.name,
      message: redact(describeError(e)),
      ...(typeof pgCode === 'string' ? { code: pgCode } : {}),
      // a stack trace only for what may be a bug, not for a server that is down
      ...(e.stack && !isExpectedError(e) ? { stack: redact(e.stack) } : {}),
    };
  }
  return { message: redact(String(e)) };
}

export function createLogger(level: string, bindings: Record<string, string>): Logger {
  return pino(
    {
      level,
      base: { ...bindings, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      // every string of every line, wherever a secret hides in it
      formatters: { level: (label) => ({ level: label }), log: (obj) => redactDeep(obj) },
      serializers: { err: serializeError },
      redact: {
        paths: ['password', '*.password', 'connectionString', '*.connectionString', 'env.PGPASSWORD'],
        censor: '[redacted]',
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? redact(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}
