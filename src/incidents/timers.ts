// Incident timers live in the bot store, so they survive restarts, and fire exactly once across
// replicas: a timer is claimed by setting fired_at under FOR UPDATE SKIP LOCKED, in the same
// transaction that queues what it posts.
import type { Sql } from '../store/sql.js';
import type { Q } from './store.js';

export type TimerKind =
  | 'ack_reminder'
  | 'lead_escalation'
  | 'postmortem_reminder_1'
  | 'postmortem_reminder_2'
  | 'update_reminder'
  | 'commander_nudge';

export interface DueTimer {
  id: number;
  incidentId: string;
  kind: TimerKind;
  dueAt: Date;
}

/** Schedules a timer once; an existing one of the same kind keeps its time unless `reschedule`. */
export async function scheduleTimer(
  q: Q,
  incidentId: string,
  kind: TimerKind,
  dueAt: Date,
  reschedule = false,
): Promise<void> {
  await q.query(
    `INSERT INTO incident_timers (incident_id, kind, due_at) VALUES ($1, $2, $3)
     ON CONFLICT (incident_id, kind) DO ${reschedule ? 'UPDATE SET due_at = EXCLUDED.due_at, cancelled_at = NULL WHERE incident_timers.fired_at IS NULL' : 'NOTHING'}`,
    [incidentId, kind, dueAt],
  );
}

export async function cancelTimers(q: Q, incidentId: string, kinds: TimerKind[], now: Date): Promise<void> {
  await q.query(
    `UPDATE incident_timers SET cancelled_at = $3 WHERE incident_id = $1 AND kind = ANY($2::text[]) AND fired_at IS NULL AND cancelled_at IS NULL`,
    [incidentId, kinds, now],
  );
}

/** Claims due timers in the caller's transaction: each row is returned to exactly one caller, ever. */
export async function claimDueTimers(q: Q, now: Date, limit: number): Promise<DueTimer[]> {
  const rows = await q.query<{ id: string; incident_id: string; kind: TimerKind; due_at: Date | string }>(
    `UPDATE incident_timers t SET fired_at = $1
       FROM (SELECT id FROM incident_timers
              WHERE fired_at IS NULL AND cancelled_at IS NULL AND due_at <= $1
              ORDER BY due_at LIMIT $2
              FOR UPDATE SKIP LOCKED) due
      WHERE t.id = due.id AND t.fired_at IS NULL
      RETURNING t.id, t.incident_id, t.kind, t.due_at`,
    [now, limit],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    incidentId: r.incident_id,
    kind: r.kind,
    dueAt: r.due_at instanceof Date ? r.due_at : new Date(r.due_at),
  }));
}

export async function pendingTimers(q: Pick<Sql, 'query'>): Promise<number> {
  const rows = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM incident_timers WHERE fired_at IS NULL AND cancelled_at IS NULL',
  );
  return rows[0]?.n ?? 0;
}
