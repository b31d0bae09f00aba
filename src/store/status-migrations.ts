// The status page, stakeholder updates and verification tables (migration ids 300–309, branch
// h-status): the Statuspage call outbox, each incident's status page incident, and the checks
// each diagnosis and verification found.
import type { Migration } from './migration.js';

export const STATUS_MIGRATIONS: Migration[] = [
  {
    id: 300,
    name: 'status (h-status): statuspage outbox, incident status pages, verifications',
    sql: `
      CREATE TABLE statuspage_outbox (
        id            bigserial PRIMARY KEY,
        incident_id   text NOT NULL REFERENCES incidents (id),
        kind          text NOT NULL,
        args          jsonb NOT NULL,
        requested_by  jsonb,
        created_at    timestamptz NOT NULL,
        not_before    timestamptz NOT NULL,
        claimed_until timestamptz,
        attempts      integer NOT NULL DEFAULT 0,
        done_at       timestamptz,
        failed        boolean NOT NULL DEFAULT false,
        status        integer,
        error         text,
        result        jsonb
      );
      CREATE INDEX statuspage_outbox_due ON statuspage_outbox (not_before) WHERE done_at IS NULL;
      CREATE TABLE incident_status_pages (
        incident_id    text PRIMARY KEY REFERENCES incidents (id),
        sp_incident_id text,
        shortlink      text,
        name           text NOT NULL,
        status         text NOT NULL,
        components     jsonb NOT NULL,
        opened_at      timestamptz NOT NULL,
        opened_by      jsonb
      );
      CREATE TABLE incident_verifications (
        id           bigserial PRIMARY KEY,
        incident_id  text NOT NULL REFERENCES incidents (id),
        at           timestamptz NOT NULL,
        trigger      text NOT NULL,
        label        text,
        procedure_id text NOT NULL,
        checks       jsonb NOT NULL,
        critical     boolean NOT NULL,
        changes      jsonb NOT NULL DEFAULT '[]',
        outbox_id    bigint UNIQUE
      );
      CREATE INDEX incident_verifications_incident ON incident_verifications (incident_id, id);
    `,
  },
];
