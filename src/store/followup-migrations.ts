// Follow-ups (issue 13), ids 410–419: each post-mortem action item and the GitHub issue made of it.
import type { Migration } from './migration.js';

export const FOLLOWUP_MIGRATIONS: Migration[] = [
  {
    id: 410,
    name: 'follow-ups: action items as GitHub issues',
    // One row per action item of an incident, keyed by its normalised text: the same item
    // submitted again is the same row, so it becomes one issue. The row is its own queue entry
    // until the issue exists (done_at), claimed like the other outboxes.
    sql: `
      CREATE TABLE incident_followups (
        id            bigserial PRIMARY KEY,
        incident_id   text NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
        item_key      text NOT NULL,
        title         text NOT NULL,
        repo          text NOT NULL,
        attempts      integer NOT NULL DEFAULT 0,
        not_before    timestamptz NOT NULL DEFAULT now(),
        claimed_until timestamptz,
        done_at       timestamptz,
        failed        boolean NOT NULL DEFAULT false,
        error         text,
        issue_number  integer,
        issue_url     text,
        state         text,
        state_at      timestamptz,
        announced_at  timestamptz,
        created_at    timestamptz NOT NULL DEFAULT now(),
        UNIQUE (incident_id, item_key)
      );
      CREATE INDEX incident_followups_pending ON incident_followups (not_before) WHERE done_at IS NULL;
    `,
  },
];
