// The durable outbox of Slack posts: the workflow writes intents in the same transaction as the
// state change that calls for them; a worker in any replica claims each row once (SKIP LOCKED),
// sends it and records the result. Rows of one incident go out in order, one at a time, so a
// thread reply never overtakes the root post whose ts it needs.
// Room for storms (issue 5): every row carries its channel, so a per-channel pace or a digest
// can be put between claimPosts() and the IncidentSlack port (worker.ts) without touching the
// workflow; a root row held back for a digest just stays pending.
import type { Sql } from '../store/sql.js';
import type { Q } from './store.js';
import type { Incident, PostIntent } from './types.js';

export type PostKind = 'root' | 'update_root' | 'reply';

export interface OutboxRow {
  id: number;
  incidentId: string;
  channel: string;
  kind: PostKind;
  intent: PostIntent;
  attempts: number;
}

/** Attempts before a post is given up (its error stays in the row). */
export const MAX_POST_ATTEMPTS = 8;

/** Queues a post; false when the incident has no channel (INCIDENTS_CHANNEL was unset). */
export async function enqueuePost(q: Q, incident: Pick<Incident, 'id' | 'channel'>, intent: PostIntent, now: Date): Promise<boolean> {
  if (!incident.channel) return false;
  const kind: PostKind = intent.type === 'root' ? 'root' : intent.type === 'update_root' ? 'update_root' : 'reply';
  await q.query(
    `INSERT INTO incident_outbox (incident_id, channel, kind, payload, created_at, not_before)
     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT DO NOTHING`,
    [incident.id, incident.channel, kind, JSON.stringify(intent), now],
  );
  return true;
}

interface Row {
  id: string;
  incident_id: string;
  channel: string;
  kind: PostKind;
  payload: PostIntent;
  attempts: number;
}

/** Claims up to `limit` posts that are due, at most one per incident, for `leaseMs`. */
export async function claimPosts(sql: Pick<Sql, 'query'>, now: Date, limit: number, leaseMs: number): Promise<OutboxRow[]> {
  const rows = await sql.query<Row>(
    `WITH next AS (
       SELECT o.id FROM incident_outbox o
        WHERE o.done_at IS NULL AND o.not_before <= $1 AND (o.claimed_until IS NULL OR o.claimed_until < $1)
          AND NOT EXISTS (SELECT 1 FROM incident_outbox p WHERE p.incident_id = o.incident_id AND p.done_at IS NULL AND p.id < o.id)
        ORDER BY o.id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
     )
     UPDATE incident_outbox o SET claimed_until = $3, attempts = o.attempts + 1
       FROM next WHERE o.id = next.id
     RETURNING o.id, o.incident_id, o.channel, o.kind, o.payload, o.attempts`,
    [now, limit, new Date(now.getTime() + leaseMs)],
  );
  return rows.map((r) => ({ id: Number(r.id), incidentId: r.incident_id, channel: r.channel, kind: r.kind, intent: r.payload, attempts: r.attempts }));
}

export async function completePost(q: Q, id: number, now: Date, result: Record<string, unknown> = {}): Promise<void> {
  await q.query('UPDATE incident_outbox SET done_at = $2, result = $3, claimed_until = NULL, error = NULL WHERE id = $1', [id, now, JSON.stringify(result)]);
}

/** A failed send: retried after `retryAt`, or given up when `retryAt` is undefined. */
export async function failPost(q: Q, id: number, now: Date, error: string, retryAt: Date | undefined): Promise<void> {
  if (retryAt) {
    await q.query('UPDATE incident_outbox SET claimed_until = NULL, not_before = $2, error = $3 WHERE id = $1', [id, retryAt, error.slice(0, 1000)]);
  } else {
    await q.query('UPDATE incident_outbox SET claimed_until = NULL, done_at = $2, failed = true, error = $3 WHERE id = $1', [id, now, error.slice(0, 1000)]);
  }
}

/** Whether a later root update is queued, which makes this one redundant (each renders the incident as it stands). */
export async function laterRootUpdate(q: Q, row: Pick<OutboxRow, 'id' | 'incidentId'>): Promise<boolean> {
  const rows = await q.query(`SELECT 1 FROM incident_outbox WHERE incident_id = $1 AND kind = 'update_root' AND done_at IS NULL AND id > $2 LIMIT 1`, [row.incidentId, row.id]);
  return rows.length > 0;
}

export async function pendingPosts(q: Q): Promise<number> {
  const rows = await q.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_outbox WHERE done_at IS NULL');
  return rows[0]?.n ?? 0;
}

/** Exponential backoff with a cap: 1s, 2s, 4s … 60s. */
export function backoffMs(attempts: number, retryAfterMs?: number): number {
  const exp = Math.min(60_000, 1000 * 2 ** Math.max(0, attempts - 1));
  return Math.max(exp, retryAfterMs ?? 0);
}
