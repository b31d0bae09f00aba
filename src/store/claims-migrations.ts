// Outbox claims tied to the claimer's database session (incidents/claim-session.ts): each worker
// holds a session advisory lock under an id of its own, and a claim names that id, so a claim
// whose process is gone (its session, and so its lock, ended) is free at once. `claims` counts
// the times a row was handed to a sender: more than one means an earlier try may have got through.
import type { Migration } from './migration.js';

export const CLAIMS_MIGRATIONS: Migration[] = [
  {
    id: 310,
    name: 'claims_session_claims (h-claims): claimer ids, claimed_by and claim counts on the outboxes',
    sql: `
      CREATE SEQUENCE claimer_ids;
      ALTER TABLE incident_outbox ADD COLUMN claimed_by integer, ADD COLUMN claims integer NOT NULL DEFAULT 0;
      ALTER TABLE pd_outbox ADD COLUMN claimed_by integer, ADD COLUMN claims integer NOT NULL DEFAULT 0;
      ALTER TABLE incident_digests ADD COLUMN posting_by integer;
    `,
  },
];
