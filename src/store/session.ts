// A database session of the process's own, outside the pool: what is tied to a session (an
// advisory lock) lives exactly as long as the process does. The embedded store has a single
// session for the whole process, which is that already.
import pg from 'pg';
import type { Logger } from '../log.js';
import type { Sql } from './sql.js';

export interface DbSession {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Called once when the session ends without close() (terminated, network gone). */
  onLost(fn: (err: unknown) => void): void;
  close(): Promise<void>;
}

export async function openSession(store: Sql, url: string | undefined, log: Logger): Promise<DbSession> {
  if (store.kind === 'pglite' || !url) {
    return { query: (text, params) => store.query(text, params), onLost() {}, close: async () => {} };
  }
  const client = new pg.Client({
    connectionString: url,
    // Named with the pid, so an operator (or the chaos run) can tell whose claims a session holds.
    application_name: `dmp-bot-claims:${process.pid}`,
    connectionTimeoutMillis: 3_000,
    query_timeout: 11_000,
    // A dead peer is noticed within seconds, not after the kernel's two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 5_000,
  });
  let lost: ((err: unknown) => void) | undefined;
  let closing = false;
  let ended = false;
  const end = (err: unknown) => {
    if (ended || closing) return;
    ended = true;
    lost?.(err);
  };
  client.on('error', (err) => {
    log.warn({ err }, 'claims session lost');
    end(err);
  });
  client.on('end', () => end(new Error('claims session ended')));
  await client.connect();
  return {
    query: async <R>(text: string, params?: unknown[]) => (await client.query(text, params)).rows as R[],
    onLost(fn) {
      lost = fn;
    },
    async close() {
      closing = true;
      await client.end().catch(() => {});
    },
  };
}
