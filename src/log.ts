// JSON logs (pino) on stderr, so console mode keeps stdout for replies. Every string that
// reaches a log line passes through redact().
import pino, { type Logger } from 'pino';
import { redact, redactDeep } from './redact.js';

export type { Logger };

export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info', destination: pino.DestinationStream = pino.destination(2)): Logger {
  return pino(
    {
      level,
      base: { service: 'dmp-bot' },
      serializers: {
        err: (err: unknown) => {
          const e = err as { name?: string; message?: string; code?: string; stack?: string };
          return { type: e?.name, message: redact(String(e?.message ?? err)), code: e?.code, stack: e?.stack ? redact(e.stack) : undefined };
        },
      },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) => (typeof a === 'string' ? redact(a) : a instanceof Error ? a : redactDeep(a)));
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
      redact: { paths: ['*.token', '*.password', '*.authorization', 'headers.authorization', '*.headers.authorization'], censor: '[redacted]' },
    },
    destination,
  );
}
