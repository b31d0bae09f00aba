// The platform's PostgreSQL: a small pool with statement_timeout and application_name set,
// so the bot's own backends are recognisable (and excluded when terminating queries).
import pg from 'pg';
import { deadline } from '../async.js';
import { NotConfigured, TargetError } from '../errors.js';
import type { Logger } from '../log.js';
import { ConnectionLost, checkOut, guardPool } from '../pg-connection.js';

export const BOT_APPLICATION_NAME = 'dmp-bot';

/** The platform schema's index the Graph Queries Timeout procedure looks for (schema.sql). */
export const GRAPH_INDEX = 'idx_nodes_scan';
/** The tables the runbook's Database Maintenance vacuums. */
export const MAINTAINED_TABLES = ['nodes', 'edges', 'scans'] as const;

export interface QueryOptions {
  timeoutMs?: number;
}

export interface PlatformDb {
  readonly configured: boolean;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    text: string,
    params?: unknown[],
    opts?: QueryOptions,
  ): Promise<R[]>;
  /** A dedicated connection, for work that needs one session (locks, maintenance outside a transaction). */
  withClient<T>(fn: (client: pg.PoolClient) => Promise<T>, opts?: QueryOptions): Promise<T>;
  close(): Promise<void>;
}

const HINT = 'set DMP_DATABASE_URL to the platform database';

export function createPlatformDb(url: string | undefined, log: Logger, defaultTimeoutMs = 5_000): PlatformDb {
  if (!url) {
    const missing = async (): Promise<never> => {
      throw new NotConfigured('postgres', HINT);
    };
    return { configured: false, query: missing, withClient: missing, close: async () => {} };
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 2_000,
    statement_timeout: defaultTimeoutMs,
    query_timeout: defaultTimeoutMs + 1_000,
    application_name: BOT_APPLICATION_NAME,
  });
  // An idle client losing its server must not crash the bot.
  guardPool(pool, 'postgres', log);

  return {
    configured: true,
    async query(text, params, opts) {
      const ms = opts?.timeoutMs ?? defaultTimeoutMs;
      return deadline(
        ms + 1_000,
        async () => {
          for (let attempt = 1; ; attempt++) {
            // A client of its own, so a connection dying under the query is heard (not a crash) and named.
            const out = await checkOut(pool, 'postgres', log);
            try {
              const rows = await out.query<never>(text, params as unknown[]);
              out.release();
              return rows;
            } catch (err) {
              out.release(err);
              // A pooled socket cut with no word from the server (a proxy or the network): the query
              // most likely never ran; once more on a fresh connection says what the server does now.
              if (!(err instanceof ConnectionLost && err.silent && attempt === 1)) throw err;
            }
          }
        },
        () => {
          throw TargetError.timedOut('postgres', ms + 1_000);
        },
      ).catch((err: unknown) => {
        throw TargetError.from('postgres', err);
      });
    },
    async withClient(fn, opts) {
      const ms = opts?.timeoutMs ?? defaultTimeoutMs;
      const out = await checkOut(pool, 'postgres', log);
      try {
        const result = await deadline(
          ms + 1_000,
          async () => {
            try {
              return await fn(out.client);
            } catch (err) {
              throw await out.failure(err);
            }
          },
          () => {
            throw TargetError.timedOut('postgres', ms + 1_000);
          },
        ).catch((err: unknown) => {
          throw TargetError.from('postgres', err);
        });
        out.release();
        return result;
      } catch (err) {
        out.release(err);
        throw err;
      }
    },
    async close() {
      await pool.end();
    },
  };
}
