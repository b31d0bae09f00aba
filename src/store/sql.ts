// The bot's own database: PostgreSQL when BOT_DATABASE_URL is set (several replicas share
// it), else an embedded PostgreSQL (PGlite) under DATA_DIR. One schema, one migration set.
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import { ErrorCode, toTargetError } from '../errors.js';
import type { Logger } from '../log.js';

export interface Sql {
  readonly kind: 'postgres' | 'pglite';
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs fn in one transaction on one connection. */
  tx<T>(fn: (q: Pick<Sql, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * pg's own errors that are not the server's (DatabaseError) and carry no errno code
 * ("Connection terminated unexpectedly", "timeout expired") are all about the connection.
 */
const PG_CLIENT_SIDE = { otherwise: ErrorCode.TargetUnreachable };

export function postgresSql(url: string, log: Logger): Sql {
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    connectionTimeoutMillis: 3_000,
    statement_timeout: 10_000,
    query_timeout: 11_000,
    application_name: 'dmp-bot-store',
  });
  pool.on('error', (err) => log.warn({ err }, 'bot store connection lost'));
  const run = async <R>(client: pg.Pool | pg.PoolClient, text: string, params?: unknown[]): Promise<R[]> => {
    try {
      return (await client.query(text, params)).rows as R[];
    } catch (err) {
      if (err instanceof pg.DatabaseError) throw err; // SQL errors stay themselves
      throw toTargetError('bot-store', err, PG_CLIENT_SIDE);
    }
  };
  return {
    kind: 'postgres',
    query: (text, params) => run(pool, text, params),
    exec: async (text) => {
      await run(pool, text);
    },
    async tx(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw toTargetError('bot-store', err, PG_CLIENT_SIDE);
      }
      try {
        await client.query('BEGIN');
        const out = await fn({
          query: (text, params) => run(client, text, params),
          exec: async (text) => {
            await run(client, text);
          },
        });
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

export async function pgliteSql(dataDir: string): Promise<Sql> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create(dataDir);
  return {
    kind: 'pglite',
    query: async <R>(text: string, params?: unknown[]) => (await db.query<R>(text, params)).rows,
    exec: async (text) => {
      await db.exec(text);
    },
    tx: (fn) =>
      db.transaction((t) =>
        fn({
          query: async <R>(text: string, params?: unknown[]) => (await t.query<R>(text, params)).rows,
          exec: async (text) => {
            await t.exec(text);
          },
        }),
      ),
    close: () => db.close(),
  };
}
