// The incident workflow's tables (migration ids 200–299): received PagerDuty events, incidents
// and their timeline, the durable outboxes to Slack and PagerDuty, timers and post-mortems,
// and (201) the shared rate buckets and storm digests.
import type { Migration } from './migration.js';

export const INCIDENT_MIGRATIONS: Migration[] = [
  {
    id: 200,
    name: 'incidents: webhook events, incidents, timeline, outboxes, timers, post-mortems',
    sql: `
      CREATE TABLE pd_webhook_events (
        id           bigserial PRIMARY KEY,
        event_id     text NOT NULL,
        webhook_id   text,
        event_type   text NOT NULL,
        incident_id  text,
        occurred_at  timestamptz,
        received_at  timestamptz NOT NULL,
        body         jsonb NOT NULL,
        not_before   timestamptz NOT NULL,
        attempts     integer NOT NULL DEFAULT 0,
        processed_at timestamptz,
        outcome      text,
        error        text
      );
      -- PagerDuty redelivers: the same event id, or the same delivery id, is stored once.
      CREATE UNIQUE INDEX pd_webhook_events_event_id ON pd_webhook_events (event_id);
      CREATE UNIQUE INDEX pd_webhook_events_webhook_id ON pd_webhook_events (webhook_id) WHERE webhook_id IS NOT NULL;
      CREATE INDEX pd_webhook_events_pending ON pd_webhook_events (id) WHERE processed_at IS NULL;

      CREATE TABLE incidents (
        id               text PRIMARY KEY,
        number           integer,
        title            text NOT NULL,
        description      text,
        service_id       text,
        service_name     text,
        priority         text,
        urgency          text,
        severity         text NOT NULL,
        pd_status        text NOT NULL,
        status_at        timestamptz NOT NULL,
        snapshot_at      timestamptz NOT NULL,
        html_url         text,
        assignees        jsonb NOT NULL DEFAULT '[]',
        escalation_level integer NOT NULL DEFAULT 1,
        procedure_id     text,
        triggered_at     timestamptz NOT NULL,
        received_at      timestamptz NOT NULL,
        acknowledged_at  timestamptz,
        acknowledged_by  jsonb,
        mitigated_at     timestamptz,
        mitigated_by     jsonb,
        resolved_at      timestamptz,
        resolved_by      jsonb,
        declared_by      text,
        channel          text,
        root_ts          text,
        updated_at       timestamptz NOT NULL
      );
      CREATE UNIQUE INDEX incidents_thread ON incidents (channel, root_ts) WHERE root_ts IS NOT NULL;
      CREATE INDEX incidents_open ON incidents (triggered_at) WHERE pd_status <> 'resolved';

      CREATE TABLE incident_timeline (
        id          bigserial PRIMARY KEY,
        incident_id text NOT NULL REFERENCES incidents (id),
        at          timestamptz NOT NULL,
        kind        text NOT NULL,
        actor       jsonb,
        text        text NOT NULL,
        source      text NOT NULL,
        dedupe_key  text UNIQUE
      );
      CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at, id);

      CREATE TABLE incident_outbox (
        id            bigserial PRIMARY KEY,
        incident_id   text NOT NULL REFERENCES incidents (id),
        channel       text NOT NULL,
        kind          text NOT NULL,
        payload       jsonb NOT NULL,
        created_at    timestamptz NOT NULL,
        not_before    timestamptz NOT NULL,
        attempts      integer NOT NULL DEFAULT 0,
        claimed_until timestamptz,
        done_at       timestamptz,
        failed        boolean NOT NULL DEFAULT false,
        result        jsonb,
        error         text
      );
      -- Exactly one top-level post per incident, whatever the replicas do.
      CREATE UNIQUE INDEX incident_outbox_one_root ON incident_outbox (incident_id) WHERE kind = 'root';
      CREATE INDEX incident_outbox_pending ON incident_outbox (incident_id, id) WHERE done_at IS NULL;

      CREATE TABLE pd_outbox (
        id               bigserial PRIMARY KEY,
        incident_id      text,
        kind             text NOT NULL,
        args             jsonb NOT NULL,
        from_email       text,
        requested_by     jsonb,
        echo_consumed_at timestamptz,
        created_at       timestamptz NOT NULL,
        not_before       timestamptz NOT NULL,
        attempts         integer NOT NULL DEFAULT 0,
        claimed_until    timestamptz,
        done_at          timestamptz,
        failed           boolean NOT NULL DEFAULT false,
        status           integer,
        result           jsonb,
        error            text
      );
      CREATE INDEX pd_outbox_pending ON pd_outbox (id) WHERE done_at IS NULL;
      CREATE INDEX pd_outbox_incident ON pd_outbox (incident_id, kind);
      -- A declaration (one modal submission) creates one PagerDuty incident, however often it arrives.
      CREATE UNIQUE INDEX pd_outbox_one_declaration ON pd_outbox ((args->>'incidentKey')) WHERE kind = 'create';

      CREATE TABLE incident_timers (
        id           bigserial PRIMARY KEY,
        incident_id  text NOT NULL REFERENCES incidents (id),
        kind         text NOT NULL,
        due_at       timestamptz NOT NULL,
        fired_at     timestamptz,
        cancelled_at timestamptz,
        UNIQUE (incident_id, kind)
      );
      CREATE INDEX incident_timers_due ON incident_timers (due_at) WHERE fired_at IS NULL AND cancelled_at IS NULL;

      CREATE TABLE incident_postmortems (
        incident_id  text PRIMARY KEY REFERENCES incidents (id),
        resolved_at  timestamptz NOT NULL,
        due_at       timestamptz NOT NULL,
        root_cause   text,
        action_items text,
        learnings    text,
        impact       text,
        document     text NOT NULL,
        updated_at   timestamptz NOT NULL,
        updated_by   text
      );
    `,
  },
  {
    id: 201,
    name: 'storms and rate limits: shared token buckets, storm digests',
    sql: `
      -- One token bucket per paced thing (a Slack channel, a PagerDuty token), shared by every
      -- replica: a claim takes tokens under the row lock, a 429 pauses the bucket for all.
      CREATE TABLE rate_buckets (
        key          text PRIMARY KEY,
        tokens       double precision NOT NULL,
        refilled_at  timestamptz NOT NULL,
        paused_until timestamptz,
        failures     integer NOT NULL DEFAULT 0
      );

      -- During a storm, incidents share one top-level post (a digest) and its thread.
      CREATE TABLE incident_digests (
        id            bigserial PRIMARY KEY,
        channel       text NOT NULL,
        opened_at     timestamptz NOT NULL,
        closes_at     timestamptz NOT NULL,
        members       integer NOT NULL DEFAULT 0,
        root_ts       text,
        posting_until timestamptz,
        listed        text[] NOT NULL DEFAULT '{}'
      );
      CREATE INDEX incident_digests_open ON incident_digests (channel, closes_at);

      ALTER TABLE incidents ADD COLUMN digest_id bigint REFERENCES incident_digests (id);
      CREATE INDEX incidents_digest ON incidents (digest_id) WHERE digest_id IS NOT NULL;
      CREATE INDEX incidents_received ON incidents (channel, received_at);
      -- A digest's members share its thread; an incident of its own still owns its thread alone.
      DROP INDEX incidents_thread;
      CREATE INDEX incidents_thread ON incidents (channel, root_ts) WHERE root_ts IS NOT NULL;
      CREATE UNIQUE INDEX incidents_own_thread ON incidents (channel, root_ts) WHERE root_ts IS NOT NULL AND digest_id IS NULL;

      CREATE INDEX incident_outbox_channel_pending ON incident_outbox (channel, id) WHERE done_at IS NULL;
    `,
  },
];
