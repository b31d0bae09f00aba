// Bolt and its clients log through pino too, so every line is JSON on stderr and redacted.
import { type Logger as BoltLogger, LogLevel } from '@slack/bolt';
import type { Logger } from '../log.js';

export function boltLogger(log: Logger): BoltLogger {
  let level: LogLevel = LogLevel.WARN;
  const child = log.child({ component: 'bolt' });
  const text = (msgs: unknown[]) =>
    msgs.map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : JSON.stringify(m))).join(' ');
  return {
    debug: (...msgs) => child.debug(text(msgs)),
    info: (...msgs) => child.info(text(msgs)),
    warn: (...msgs) => child.warn(text(msgs)),
    error: (...msgs) => child.error(text(msgs)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}
