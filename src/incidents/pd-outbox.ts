// Outbound PagerDuty calls, stored before they are made so a restart does not lose a pending
// acknowledgement, claimed once across replicas, retried on 429/5xx/no answer with backoff for
// PAGERDUTY_RETRY_FOR (then the thread says so); the client paces them (pace.ts). Each call also
// tells the workflow which webhook PagerDuty will echo back, so that echo is not posted twice.
import type { Severity } from '../config.js';
import type { Sql } from '../store/sql.js';
import { claimFree, LIVE_CLAIMERS } from './claim-session.js';
import type { SlackAct } from './person.js';
import type { Q } from './store.js';
import type { Actor } from './types.js';

export type PdCall = (
  | { kind: 'ack' }
  | { kind: 'resolve' }
  | { kind: 'escalate'; level: number }
  | { kind: 'priority'; severity: Severity }
  | { kind: 'reassign'; email: string; slackId?: string }
  | { kind: 'note'; content: string }
  | { kind: 'status_update'; message: string }
  | {
      // Page (paging.ts): a responder request as the person who asked (requester_id, From:).
      kind: 'responder_request';
      requesterId: string;
      message: string;
      targets: Array<{ kind: 'user' | 'ep'; id: string; name: string }>;
    }
  | {
      kind: 'create';
      title: string;
      severity: Severity;
      serviceId: string;
      description?: string;
      incidentKey: string;
      urgency: 'high' | 'low';
    }
) & {
  /** A person's act from Slack, applied in Slack only once PagerDuty accepts the call (actions.ts). */
  onAccepted?: SlackAct;
};

export type PdCallKind = PdCall['kind'];

/** The webhook PagerDuty sends back after each call. */
const ECHO_OF: Record<PdCallKind, string> = {
  ack: 'incident.acknowledged',
  resolve: 'incident.resolved',
  escalate: 'incident.escalated',
  priority: 'incident.priority_updated',
  reassign: 'incident.reassigned',
  note: 'incident.annotated',
  status_update: 'incident.status_update_published',
  // One per paged user: the thread posts each (who was paged), the call's own post says who asked.
  responder_request: 'incident.responder.added',
  create: 'incident.triggered',
};

export interface PdCallRow {
  id: number;
  incidentId?: string;
  call: PdCall;
  fromEmail?: string;
  requestedBy?: Actor;
  attempts: number;
  /** When it was queued: a call is retried until PAGERDUTY_RETRY_FOR has passed since. */
  createdAt: Date;
  /** An earlier try was made (its answer lost, or its process died during it): it may have been applied. */
  tried: boolean;
  claimedBy: number | null;
}

/** Queues a call; false when it was queued already (the same declaration twice). */
export async function enqueuePdCall(
  q: Q,
  e: { incidentId?: string; call: PdCall; fromEmail?: string; requestedBy?: Actor },
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `INSERT INTO pd_outbox (incident_id, kind, args, from_email, requested_by, created_at, not_before) VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT DO NOTHING RETURNING id`,
    [
      e.incidentId ?? null,
      e.call.kind,
      JSON.stringify(e.call),
      e.fromEmail ?? null,
      e.requestedBy ? JSON.stringify(e.requestedBy) : null,
      now,
    ],
  );
  return rows.length > 0;
}

interface Row {
  id: string;
  incident_id: string | null;
  args: PdCall;
  from_email: string | null;
  requested_by: Actor | null;
  attempts: number;
  created_at: Date | string;
  tried: boolean;
  claimed_by: number | null;
}

/**
 * Claims due calls under `claimer` (the claim ends with its session, or its lease), one per
 * incident at a time so an acknowledgement goes before a resolve.
 */
export async function claimPdCalls(
  sql: Pick<Sql, 'query'>,
  now: Date,
  limit: number,
  leaseMs: number,
  claimer: number | null = null,
): Promise<PdCallRow[]> {
  const rows = await sql.query<Row>(
    `WITH live AS MATERIALIZED (${LIVE_CLAIMERS}),
     next AS (
       SELECT o.id FROM pd_outbox o
        WHERE o.done_at IS NULL AND o.not_before <= $1 AND ${claimFree('o', '$1')}
          AND NOT EXISTS (SELECT 1 FROM pd_outbox p WHERE p.incident_id = o.incident_id AND p.done_at IS NULL AND p.id < o.id)
        ORDER BY o.id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     )
     UPDATE pd_outbox o SET claimed_until = $3, claimed_by = $4, attempts = o.attempts + 1, claims = o.claims + 1
       FROM next WHERE o.id = next.id
     RETURNING o.id, o.incident_id, o.args, o.from_email, o.requested_by, o.attempts, o.created_at, o.claimed_by,
               (o.claims > 1) AS tried`,
    [now, limit, new Date(now.getTime() + leaseMs), claimer],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    incidentId: r.incident_id ?? undefined,
    call: r.args,
    fromEmail: r.from_email ?? undefined,
    requestedBy: r.requested_by ?? undefined,
    attempts: r.attempts,
    createdAt: new Date(r.created_at),
    tried: r.tried,
    claimedBy: r.claimed_by,
  }));
}

export async function completePdCall(q: Q, id: number, now: Date, status: number, result: unknown): Promise<void> {
  await q.query(
    'UPDATE pd_outbox SET done_at = $2, status = $3, result = $4, claimed_until = NULL, claimed_by = NULL, error = NULL WHERE id = $1',
    [id, now, status, JSON.stringify(result ?? null)],
  );
}

export async function failPdCall(
  q: Q,
  id: number,
  now: Date,
  error: string,
  retryAt: Date | undefined,
  status?: number,
  // False when this try certainly did not reach PagerDuty (held back by the shared budget, or a
  // 429): it is not counted as tried, so the next one is sent without looking first; a look-up
  // would spend the same budget again and could keep the call from ever going out.
  reached = true,
): Promise<void> {
  const untried = reached ? '' : ', claims = GREATEST(claims - 1, 0)';
  if (retryAt) {
    await q.query(
      `UPDATE pd_outbox SET claimed_until = NULL, claimed_by = NULL, not_before = $2, error = $3, status = $4${untried} WHERE id = $1 AND done_at IS NULL`,
      [id, retryAt, error.slice(0, 1000), status ?? null],
    );
  } else {
    await q.query(
      'UPDATE pd_outbox SET claimed_until = NULL, claimed_by = NULL, done_at = $2, failed = true, error = $3, status = $4 WHERE id = $1 AND done_at IS NULL',
      [id, now, error.slice(0, 1000), status ?? null],
    );
  }
}

/**
 * Marks the bot's own call as echoed when PagerDuty's webhook for it arrives; true when the
 * event was such an echo (and so must not be posted again). Notes match on their content,
 * status updates on their message (on its start when PagerDuty `trimmed` it).
 */
export async function consumeEcho(
  q: Q,
  incidentId: string,
  eventType: string,
  now: Date,
  content?: string,
  trimmed = false,
): Promise<boolean> {
  const kind = (Object.keys(ECHO_OF) as PdCallKind[]).find((k) => ECHO_OF[k] === eventType);
  if (!kind) return false;
  const rows = await q.query(
    `UPDATE pd_outbox SET echo_consumed_at = $3
      WHERE id = (SELECT id FROM pd_outbox
                   WHERE incident_id = $1 AND kind = $2 AND echo_consumed_at IS NULL AND NOT failed
                     AND created_at > $4
                     AND ($5::text IS NULL OR COALESCE(args->>'content', args->>'message') = $5
                          OR ($6 AND starts_with(COALESCE(args->>'content', args->>'message'), $5)))
                   ORDER BY id LIMIT 1 FOR UPDATE)
      RETURNING id`,
    [incidentId, kind, now, new Date(now.getTime() - 6 * 3_600_000), content ?? null, trimmed],
  );
  return rows.length > 0;
}

/**
 * Whether PagerDuty's `incident.responder.added` for `userId` answers the bot's own page of that
 * user (a responder request from Slack naming them, with this message): its post already says so.
 */
export async function pagedByBot(
  q: Q,
  incidentId: string,
  userId: string,
  message: string,
  now: Date,
): Promise<boolean> {
  const rows = await q.query(
    `SELECT 1 FROM pd_outbox
      WHERE incident_id = $1 AND kind = 'responder_request' AND NOT failed AND created_at > $4
        AND args->>'message' = $2 AND args->'targets' @> jsonb_build_array(jsonb_build_object('kind', 'user', 'id', $3::text))
      LIMIT 1`,
    [incidentId, message, userId, new Date(now.getTime() - 6 * 3_600_000)],
  );
  return rows.length > 0;
}

/** The declaration behind an incident the bot created (matched by the incident key it chose). */
export async function declarationByKey(
  q: Q,
  incidentKey: string,
): Promise<{ call: Extract<PdCall, { kind: 'create' }>; requestedBy?: Actor } | undefined> {
  const rows = await q.query<{ args: PdCall; requested_by: Actor | null }>(
    `SELECT args, requested_by FROM pd_outbox WHERE kind = 'create' AND args->>'incidentKey' = $1 ORDER BY id LIMIT 1`,
    [incidentKey],
  );
  const row = rows[0];
  if (row?.args.kind !== 'create') return undefined;
  return { call: row.args, requestedBy: row.requested_by ?? undefined };
}

export async function pendingPdCalls(q: Q): Promise<number> {
  const rows = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM pd_outbox WHERE done_at IS NULL');
  return rows[0]?.n ?? 0;
}
