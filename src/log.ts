// JSON logs (pino) on stderr, so console mode keeps stdout for replies. Every string that
// reaches a log line passes through the Redactor handed in.
import pino, { type Logger } from 'pino';
import { Redactor } from './redact.js';

export type { Logger };

export function createLogger(
  level: string = process.env.LOG_LEVEL ?? 'info',
  destination: pino.DestinationStream = pino.destination(2),
  // Without one handed in, only the secret-shaped patterns are scrubbed: pass the bot's.
  redactor: Redactor = new Redactor(),
): Logger {
  const redact = (text: string) => redactor.redact(text);
  return pino(
    {
      level,
      base: { service: 'dmp-bot' },
      serializers: {
        err: (err: unknown) => {
          const e = err as { name?: string; message?: string; code?: string; stack?: string };
          return {
            type: e?.name,
            message: redact(String(e?.message ?? err)),
            code: e?.code,
            stack: e?.stack ? redact(e.stack) : undefined,
          };
        },
      },
      hooks: {
        logMethod(args, method) {
          const clean = args.map((a) =>
            typeof a === 'string' ? redact(a) : a instanceof Error ? a : redactor.redactDeep(a),
          );
          method.apply(this, clean as Parameters<typeof method>);
        },
      },
      redact: {
        paths: ['*.token', '*.password', '*.authorization', 'headers.authorization', '*.headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
