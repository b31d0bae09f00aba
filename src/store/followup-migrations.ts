// Follow-ups (issue 13), ids 410–419 and 430–439: each post-mortem action item and the GitHub issue
// made of it, and what the post-mortem document reads beside them.
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
  {
    id: 430,
    name: 'post-mortem: key signals and actors of diagnoses, follow-ups added from the thread, structured timeline facts',
    // signals: the numbers a diagnosis sampled that the post-mortem charts (queue depth, dead
    // workers, connections), one point per diagnosis and verification. actor: who ran the
    // remediation a verification follows. A follow-up added from the thread has its own owner,
    // due date and the person who added it. A timeline entry may carry the facts its text was
    // written from (a role hand-over: which role, from whom, to whom), so documents are built from
    // values rather than from the sentence.
    sql: `
      ALTER TABLE incident_verifications ADD COLUMN signals jsonb NOT NULL DEFAULT '{}';
      ALTER TABLE incident_verifications ADD COLUMN actor jsonb;
      ALTER TABLE incident_followups ADD COLUMN source text NOT NULL DEFAULT 'postmortem';
      ALTER TABLE incident_followups ADD COLUMN added_by jsonb;
      ALTER TABLE incident_followups ADD COLUMN owner jsonb;
      ALTER TABLE incident_followups ADD COLUMN due_on date;
      ALTER TABLE incident_timeline ADD COLUMN detail jsonb;
    `,
  },
];
