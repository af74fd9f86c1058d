// Structured JSON lines on stderr (fd 2), scoped with task and run id.
import pino from 'pino';
import { redact } from './redact';

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
      message: redact(e.message),
      ...(typeof pgCode === 'string' ? { code: pgCode } : {}),
      stack: e.stack ? redact(e.stack) : undefined,
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
      formatters: { level: (label) => ({ level: label }) },
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
