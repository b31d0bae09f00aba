// The platform's PostgreSQL: a small pool with statement_timeout and application_name set,
// so the bot's own backends are recognisable (and excluded when terminating queries).
import pg from 'pg';
import { ErrorCode, NotConfigured, toTargetError, withDeadline } from '../errors.js';
import type { Logger } from '../log.js';

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

/**
 * pg's client-side errors without an errno code ("Connection terminated unexpectedly",
 * "timeout expired") are about the connection; the server's own carry a SQLSTATE.
 */
const CLIENT_SIDE = { otherwise: ErrorCode.TargetUnreachable };

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
  pool.on('error', (err) => log.warn({ err }, 'platform database connection lost'));

  return {
    configured: true,
    async query(text, params, opts) {
      const ms = opts?.timeoutMs ?? defaultTimeoutMs;
      return withDeadline('postgres', ms + 1_000, async () => {
        try {
          return (await pool.query(text, params as unknown[])).rows;
        } catch (err) {
          throw err instanceof pg.DatabaseError ? err : toTargetError('postgres', err, CLIENT_SIDE);
        }
      });
    },
    async withClient(fn, opts) {
      const ms = opts?.timeoutMs ?? defaultTimeoutMs;
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw toTargetError('postgres', err, CLIENT_SIDE);
      }
      try {
        return await withDeadline('postgres', ms + 1_000, () => fn(client));
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end();
    },
  };
}
