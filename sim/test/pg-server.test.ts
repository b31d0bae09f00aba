import { type PgliteServer, startPgliteServer } from '@dmp-bot/sim/pg-server';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('PGlite over the PostgreSQL wire protocol, for node-postgres pools', () => {
  let db: PGlite;
  let server: PgliteServer;
  let pool: pg.Pool;

  beforeAll(async () => {
    // Clients may connect while the database still starts: they wait for it.
    const starting = PGlite.create().then(async (d) => {
      await d.exec('CREATE TABLE t (id int PRIMARY KEY, v int)');
      return d;
    });
    server = await startPgliteServer(starting);
    pool = new pg.Pool({ connectionString: server.url, max: 4, application_name: 'dmp-bot', statement_timeout: 5_000 });
    db = await starting;
  }, 60_000);

  afterAll(async () => {
    await pool?.end();
    await server?.close();
    await db?.close();
  });

  it('keeps each of four connections’ transactions apart: commits stay, rollbacks leave nothing', async () => {
    await Promise.all(
      Array.from({ length: 12 }, async (_, i) => {
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          await c.query('INSERT INTO t VALUES ($1, $2)', [i, i * 10]);
          await new Promise((r) => setTimeout(r, 5));
          const mine = await c.query<{ v: number }>('SELECT v FROM t WHERE id = $1', [i]);
          expect(mine.rows[0]?.v).toBe(i * 10);
          await c.query(i % 3 === 0 ? 'ROLLBACK' : 'COMMIT');
        } finally {
          c.release();
        }
      }),
    );
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM t');
    expect(rows[0]?.n).toBe(8);
  });

  it('answers parameterised queries from many clients at once without crossing them', async () => {
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => pool.query<{ x: number }>('SELECT $1::int * 2 AS x', [i])),
    );
    expect(answers.map((a) => a.rows[0]?.x)).toEqual(Array.from({ length: 40 }, (_, i) => i * 2));
    await expect(pool.query('SELECT * FROM missing_table')).rejects.toThrow(/does not exist/);
  });

  it('rolls back the transaction of a client that goes away, and the others carry on', async () => {
    const c = new pg.Client(server.url);
    c.on('error', () => {});
    await c.connect();
    await c.query('BEGIN');
    await c.query('INSERT INTO t VALUES (999, 1)');
    (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    const { rows } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM t WHERE id = 999');
    expect(rows[0]?.n).toBe(0);
  });
});
