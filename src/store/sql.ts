// The bot's own database: PostgreSQL when BOT_DATABASE_URL is set (several replicas share
// it), else an embedded PostgreSQL (PGlite) under DATA_DIR. One schema, one migration set.
import { mkdirSync } from 'node:fs';
import pg from 'pg';
import type { Logger } from '../log.js';
import { checkOut, guardPool } from '../pg-connection.js';
import { storeStartParams } from './template.js';

export interface Sql {
  readonly kind: 'postgres' | 'pglite';
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<R[]>;
  /** Runs several statements without parameters (migrations). */
  exec(text: string): Promise<void>;
  /** Runs fn in one transaction on one connection. */
  tx<T>(fn: (q: Pick<Sql, 'query' | 'exec'>) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function postgresSql(url: string, log: Logger): Sql {
  const pool = new pg.Pool({
    connectionString: url,
    max: 8,
    connectionTimeoutMillis: 3_000,
    statement_timeout: 10_000,
    query_timeout: 11_000,
    application_name: 'dmp-bot-store',
  });
  guardPool(pool, 'bot-store', log);
  // Every query on a client of its own, so a connection dying under it is heard and told apart.
  const once = async <R>(text: string, params?: unknown[]): Promise<R[]> => {
    const out = await checkOut(pool, 'bot-store', log);
    try {
      const rows = await out.query<R>(text, params);
      out.release();
      return rows;
    } catch (err) {
      out.release(err);
      throw err;
    }
  };
  return {
    kind: 'postgres',
    query: (text, params) => once(text, params),
    exec: async (text) => {
      await once(text);
    },
    async tx(fn) {
      const out = await checkOut(pool, 'bot-store', log);
      try {
        await out.query('BEGIN');
        const result = await fn({
          query: (text, params) => out.query(text, params),
          exec: async (text) => {
            await out.query(text);
          },
        });
        await out.query('COMMIT');
        out.release();
        return result;
      } catch (err) {
        await out.query('ROLLBACK').catch(() => {});
        out.release(err);
        throw err;
      }
    },
    close: () => pool.end(),
  };
}

export async function pgliteSql(dataDir: string): Promise<Sql> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dataDir !== 'memory://') mkdirSync(dataDir, { recursive: true });
  // shared_buffers and the rest sized for a bot (template.ts), on the command line so they hold
  // for a data directory made by any version.
  const db = await PGlite.create(dataDir, { startParams: storeStartParams(PGlite.defaultStartParams) });
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
