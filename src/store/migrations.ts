// The bot's schema, in order. Applied under an advisory lock so replicas starting together
// migrate once. Hand-written rather than node-pg-migrate/postgrator: the same runner has to
// drive both node-postgres and embedded PGlite, and the whole set is a list of SQL strings.
import type { Sql } from './sql.js';

export interface Migration {
  id: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: Migration[] = [
  {
    id: 1,
    name: 'audit log',
    sql: `
      CREATE TABLE audit_log (
        id          bigserial PRIMARY KEY,
        at          timestamptz NOT NULL DEFAULT now(),
        user_id     text NOT NULL,
        channel_id  text,
        kind        text NOT NULL,
        action      text NOT NULL,
        text        text,
        outcome     text NOT NULL,
        reason      text,
        detail      jsonb,
        duration_ms integer
      );
      CREATE INDEX audit_log_at ON audit_log (at DESC);
    `,
  },
];

const LOCK_KEY = 728_361_094; // any constant shared by every replica

/** Registers more migrations (features add their own tables); ids must be unique. */
export function addMigrations(more: Migration[]): void {
  for (const m of more) {
    if (MIGRATIONS.some((x) => x.id === m.id)) throw new Error(`duplicate migration id ${m.id}`);
    MIGRATIONS.push(m);
  }
  MIGRATIONS.sort((a, b) => a.id - b.id);
}

export async function migrate(sql: Sql, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  return sql.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await q.query(`CREATE TABLE IF NOT EXISTS bot_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await q.query<{ id: number }>('SELECT id FROM bot_migrations')).map((r) => r.id));
    const applied: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.id - b.id)) {
      if (done.has(m.id)) continue;
      await q.exec(m.sql);
      await q.query('INSERT INTO bot_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
      applied.push(m.id);
    }
    return applied;
  });
}
