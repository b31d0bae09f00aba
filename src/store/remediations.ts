// Pending remediation actions: what was previewed, who asked, who confirmed or approved, and
// where the conversation lives. Every state change is one atomic UPDATE … WHERE state IN (…)
// RETURNING, so a double click, a redelivered interaction or two operators at once move a
// row once and only the caller that moved it runs the action.
import { randomBytes } from 'node:crypto';
import type { ActionRow, ActionState, StoredPreview } from '../remediations/action.js';
import type { Sql } from './sql.js';

export type { ActionRow, ActionState, StoredPreview };

const FINAL_STATES: ActionState[] = ['succeeded', 'failed', 'cancelled', 'expired'];

export interface DbRow {
  id: string;
  remedy: string;
  params: Record<string, unknown> | string;
  preview: StoredPreview | string;
  state: ActionState;
  high_risk: boolean;
  requested_by: string;
  confirmed_by: string | null;
  approved_by: string | null;
  cancelled_by: string | null;
  reason: string | null;
  channel_id: string;
  message_ts: string | null;
  thread_ts: string | null;
  approval_ts: string | null;
  result: ActionRow['result'] | string | null;
  created_at: Date | string;
  expires_at: Date | string;
  finished_at: Date | string | null;
  owner?: string | null;
  started_at?: Date | string | null;
}

const json = <T>(v: T | string): T => (typeof v === 'string' ? (JSON.parse(v) as T) : v);

export function fromDb(r: DbRow): ActionRow {
  return {
    id: r.id,
    remedy: r.remedy,
    params: json(r.params),
    preview: json(r.preview),
    state: r.state,
    highRisk: r.high_risk,
    requestedBy: r.requested_by,
    confirmedBy: r.confirmed_by ?? undefined,
    approvedBy: r.approved_by ?? undefined,
    cancelledBy: r.cancelled_by ?? undefined,
    reason: r.reason ?? undefined,
    channelId: r.channel_id,
    messageTs: r.message_ts ?? undefined,
    threadTs: r.thread_ts ?? undefined,
    approvalTs: r.approval_ts ?? undefined,
    result: r.result === null ? undefined : json(r.result),
    createdAt: new Date(r.created_at),
    expiresAt: new Date(r.expires_at),
    finishedAt: r.finished_at === null ? undefined : new Date(r.finished_at),
    owner: r.owner ?? undefined,
    startedAt: r.started_at ? new Date(r.started_at) : undefined,
  };
}

export interface NewAction {
  remedy: string;
  params: Record<string, unknown>;
  preview: StoredPreview;
  state: 'pending' | 'running';
  highRisk: boolean;
  requestedBy: string;
  confirmedBy?: string;
  channelId: string;
  messageTs?: string;
  threadTs?: string;
  expiresAt: Date;
  /** While a row with this key is open, no second one is created (one preview per button). */
  openKey?: string;
  /** Never two rows with this key (a modal submitted twice). */
  onceKey?: string;
  /** For a row stored running: the replica that runs it. */
  owner?: string;
}

/** A short id for button values: 12 url-safe characters. */
function newActionId(): string {
  return randomBytes(9).toString('base64url');
}

/** Inserts the action; undefined when an open row holds the same open key or the once key was used. */
export async function createAction(sql: Pick<Sql, 'query'>, a: NewAction, now: Date): Promise<ActionRow | undefined> {
  if (a.openKey) {
    // A stale pending row (never clicked, past its expiry) must not block a new preview.
    await sql.query(
      `UPDATE remediation_actions SET state = 'expired', updated_at = now(), finished_at = now()
        WHERE open_key = $1 AND state IN ('pending', 'awaiting_approval') AND expires_at <= $2`,
      [a.openKey, now],
    );
  }
  const rows = await sql.query<DbRow>(
    `INSERT INTO remediation_actions
       (id, remedy, params, preview, state, high_risk, requested_by, confirmed_by, channel_id, message_ts, thread_ts, expires_at, open_key, once_key,
        owner, heartbeat_at, started_at)
     VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
        $15, CASE WHEN $15::text IS NULL THEN NULL ELSE now() END, CASE WHEN $5 = 'running' THEN $16::timestamptz END)
     ON CONFLICT DO NOTHING
     RETURNING *`,
    [
      newActionId(),
      a.remedy,
      JSON.stringify(a.params),
      JSON.stringify(a.preview),
      a.state,
      a.highRisk,
      a.requestedBy,
      a.confirmedBy ?? null,
      a.channelId,
      a.messageTs ?? null,
      a.threadTs ?? null,
      a.expiresAt,
      a.openKey ?? null,
      a.onceKey ?? null,
      a.owner ?? null,
      now,
    ],
  );
  return rows[0] ? fromDb(rows[0]) : undefined;
}

export async function getAction(sql: Pick<Sql, 'query'>, id: string): Promise<ActionRow | undefined> {
  const rows = await sql.query<DbRow>('SELECT * FROM remediation_actions WHERE id = $1', [id]);
  return rows[0] ? fromDb(rows[0]) : undefined;
}

/** The open row holding a key, if any (to point a second click at the first preview). */
export async function findOpenByKey(sql: Pick<Sql, 'query'>, openKey: string): Promise<ActionRow | undefined> {
  const rows = await sql.query<DbRow>(
    `SELECT * FROM remediation_actions WHERE open_key = $1 AND state IN ('pending', 'awaiting_approval', 'running') LIMIT 1`,
    [openKey],
  );
  return rows[0] ? fromDb(rows[0]) : undefined;
}

export interface TransitionSet {
  confirmedBy?: string;
  approvedBy?: string;
  cancelledBy?: string;
  reason?: string;
  params?: Record<string, unknown>;
  highRisk?: boolean;
  expiresAt?: Date;
  result?: ActionRow['result'];
  /** Moving to running: the replica that runs it from now on (its heartbeat starts), and when. */
  owner?: string;
  startedAt?: Date;
}

export interface TransitionGuard {
  /** Only while the row has not expired at this instant. */
  unexpiredAt?: Date;
  /** Only when this user is neither the requester nor the one who confirmed (two-person rule). */
  notSameAs?: string;
}

/**
 * Moves a row from one of `from` to `to`, atomically: the row comes back only to the one
 * caller whose UPDATE matched; everyone else gets undefined and must not act.
 */
export async function transition(
  sql: Pick<Sql, 'query'>,
  id: string,
  from: ActionState[],
  to: ActionState,
  set: TransitionSet = {},
  guard: TransitionGuard = {},
): Promise<ActionRow | undefined> {
  const rows = await sql.query<DbRow>(
    `UPDATE remediation_actions SET
        state        = $2,
        updated_at   = now(),
        confirmed_by = COALESCE($3, confirmed_by),
        approved_by  = COALESCE($4, approved_by),
        cancelled_by = COALESCE($5, cancelled_by),
        reason       = COALESCE($6, reason),
        params       = COALESCE($7::jsonb, params),
        high_risk    = COALESCE($8, high_risk),
        expires_at   = COALESCE($9, expires_at),
        result       = COALESCE($10::jsonb, result),
        finished_at  = CASE WHEN $2 = ANY($11::text[]) THEN now() ELSE finished_at END,
        owner        = COALESCE($15, owner),
        heartbeat_at = CASE WHEN $15::text IS NULL THEN heartbeat_at ELSE now() END,
        started_at   = COALESCE($16, started_at)
      WHERE id = $1
        AND state = ANY($12::text[])
        AND ($13::timestamptz IS NULL OR expires_at > $13)
        AND ($14::text IS NULL OR (requested_by <> $14 AND COALESCE(confirmed_by, '') <> $14))
      RETURNING *`,
    [
      id,
      to,
      set.confirmedBy ?? null,
      set.approvedBy ?? null,
      set.cancelledBy ?? null,
      set.reason ?? null,
      set.params ? JSON.stringify(set.params) : null,
      set.highRisk ?? null,
      set.expiresAt ?? null,
      set.result ? JSON.stringify(set.result) : null,
      FINAL_STATES,
      from,
      guard.unexpiredAt ?? null,
      guard.notSameAs ?? null,
      set.owner ?? null,
      set.startedAt ?? null,
    ],
  );
  return rows[0] ? fromDb(rows[0]) : undefined;
}

/** Remembers where the confirmation message and the approval request live (first writer wins for the message). */
export async function setMessages(
  sql: Pick<Sql, 'query'>,
  id: string,
  refs: { messageTs?: string; threadTs?: string; approvalTs?: string },
): Promise<void> {
  await sql.query(
    `UPDATE remediation_actions SET
        message_ts  = COALESCE(message_ts, $2),
        thread_ts   = COALESCE(thread_ts, $3),
        approval_ts = COALESCE($4, approval_ts),
        updated_at  = now()
      WHERE id = $1`,
    [id, refs.messageTs ?? null, refs.threadTs ?? null, refs.approvalTs ?? null],
  );
}
