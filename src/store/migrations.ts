// The bot's schema, in order. Applied under an advisory lock so replicas starting together
// migrate once. Hand-written rather than node-pg-migrate/postgrator: the same runner has to
// drive both node-postgres and embedded PGlite, and the whole set is a list of SQL strings.
import { CLAIMS_MIGRATIONS } from './claims-migrations.js';
import { FOLLOWUP_MIGRATIONS } from './followup-migrations.js';
import { INCIDENT_MIGRATIONS } from './incident-migrations.js';
import type { Migration } from './migration.js';
import { ROLES_MIGRATIONS } from './roles-migrations.js';
import type { Sql } from './sql.js';
import { STATUS_MIGRATIONS } from './status-migrations.js';

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
  {
    id: 100,
    name: 'remediation actions',
    // One row per previewed action; its state only moves through atomic UPDATE … WHERE state = …
    // RETURNING, so a double click or two operators at once run it once.
    sql: `
      CREATE TABLE remediation_actions (
        id              text PRIMARY KEY,
        remedy          text NOT NULL,
        params          jsonb NOT NULL,
        preview         jsonb NOT NULL,
        state           text NOT NULL,
        high_risk       boolean NOT NULL DEFAULT false,
        requested_by    text NOT NULL,
        confirmed_by    text,
        approved_by     text,
        cancelled_by    text,
        reason          text,
        channel_id      text NOT NULL,
        message_ts      text,
        thread_ts       text,
        approval_ts     text,
        open_key        text,
        once_key        text UNIQUE,
        result          jsonb,
        created_at      timestamptz NOT NULL DEFAULT now(),
        expires_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now(),
        finished_at     timestamptz
      );
      CREATE UNIQUE INDEX remediation_actions_open_key ON remediation_actions (open_key)
        WHERE state IN ('pending', 'awaiting_approval', 'running');
      CREATE INDEX remediation_actions_created ON remediation_actions (created_at DESC);
    `,
  },
  ...INCIDENT_MIGRATIONS,
  ...STATUS_MIGRATIONS,
  ...CLAIMS_MIGRATIONS,
  ...ROLES_MIGRATIONS,
  {
    id: 320,
    name: 'conn: remediation owner and heartbeat',
    // Which replica runs an action and when it last said so: a running row whose heartbeat stops
    // belongs to a process that is gone, and another replica reports or follows it.
    sql: `
      ALTER TABLE remediation_actions ADD COLUMN owner text;
      ALTER TABLE remediation_actions ADD COLUMN heartbeat_at timestamptz;
      ALTER TABLE remediation_actions ADD COLUMN started_at timestamptz;
      CREATE INDEX remediation_actions_running ON remediation_actions (heartbeat_at) WHERE state = 'running';
    `,
  },
  {
    id: 340,
    name: 'edges: Slack request signatures seen (replay guard)',
    // One row per signed Slack request received, kept until its timestamp could no longer pass.
    sql: `
      CREATE TABLE slack_requests_seen (
        signature   text PRIMARY KEY,
        expires_at  timestamptz NOT NULL
      );
      CREATE INDEX slack_requests_seen_expires ON slack_requests_seen (expires_at);
    `,
  },
  ...FOLLOWUP_MIGRATIONS,
];

const LOCK_KEY = 728_361_094; // any constant shared by every replica

/** Which migrations a store has had (the embedded store's template is made with it too). */
export const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS bot_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`;

export async function migrate(sql: Sql, migrations: Migration[] = MIGRATIONS): Promise<number[]> {
  return sql.tx(async (q) => {
    await q.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await q.query(MIGRATIONS_TABLE);
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
