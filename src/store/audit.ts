// The audit log: every command, preview, confirmation, approval, refusal and outcome, with who
// and where. Text is made one plain line before it is stored (and again when shown): a NUL
// would make PostgreSQL refuse the insert, so the command would run unaudited, and a newline
// would let someone forge lines in `/dmp audit`.
import type { Sql } from './sql.js';

export type AuditKind = 'command' | 'action' | 'view' | 'incident' | 'remediation';
export type AuditOutcome =
  | 'ok'
  | 'error'
  | 'refused'
  | 'previewed'
  | 'confirmed'
  | 'approved'
  | 'expired'
  | 'cancelled'
  // A remediation moved to running, and one whose process died before its outcome was known.
  | 'started'
  | 'interrupted';

export interface AuditEntry {
  userId: string;
  channelId?: string;
  kind: AuditKind;
  action: string;
  text?: string;
  outcome: AuditOutcome;
  reason?: string;
  detail?: Record<string, unknown>;
  durationMs?: number;
}

export interface AuditRow extends AuditEntry {
  id: number;
  at: Date;
}

// C0 and C1 controls (newlines and tabs among them), DEL, and the Unicode line and paragraph separators.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** One plain line: NUL dropped, every run of control characters (newlines too) one space. */
export function auditLine(text: string, max = 2000): string {
  return text
    .replace(/\u0000/g, '')
    .replace(CONTROL, ' ')
    .slice(0, max);
}

/** Strings inside the JSON detail cleaned the same way (jsonb refuses \u0000 as well). */
function cleanDetail(value: unknown): unknown {
  if (typeof value === 'string') return auditLine(value, 4000);
  if (Array.isArray(value)) return value.map(cleanDetail);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [auditLine(k, 200), cleanDetail(v)]));
  return value;
}

const INSERT = `INSERT INTO audit_log (user_id, channel_id, kind, action, text, outcome, reason, detail, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

/**
 * The one way to write an audit row. Should the full row still be refused, a minimal row (who,
 * what, outcome) is written in its place, so no odd field can leave an act unaudited.
 */
export async function recordAudit(sql: Pick<Sql, 'query'>, e: AuditEntry): Promise<void> {
  const who = auditLine(e.userId, 64);
  const where = e.channelId ? auditLine(e.channelId, 64) : null;
  const action = auditLine(e.action, 200);
  try {
    await sql.query(INSERT, [
      who,
      where,
      e.kind,
      action,
      e.text === undefined ? null : auditLine(e.text),
      e.outcome,
      e.reason === undefined ? null : auditLine(e.reason, 1000),
      e.detail ? JSON.stringify(cleanDetail(e.detail)) : null,
      e.durationMs ?? null,
    ]);
  } catch (err) {
    await sql.query(INSERT, [
      who,
      where,
      e.kind,
      action,
      null,
      e.outcome,
      'the full audit entry could not be stored',
      null,
      e.durationMs ?? null,
    ]);
    throw err;
  }
}

export async function latestAudit(sql: Pick<Sql, 'query'>, limit: number): Promise<AuditRow[]> {
  const rows = await sql.query<{
    id: string;
    at: Date | string;
    user_id: string;
    channel_id: string | null;
    kind: AuditKind;
    action: string;
    text: string | null;
    outcome: AuditOutcome;
    reason: string | null;
    detail: Record<string, unknown> | null;
    duration_ms: number | null;
  }>('SELECT * FROM audit_log ORDER BY id DESC LIMIT $1', [limit]);
  // Rows written before the cleaning existed are cleaned on the way out too.
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at),
    userId: auditLine(r.user_id, 64),
    channelId: r.channel_id ? auditLine(r.channel_id, 64) : undefined,
    kind: r.kind,
    action: auditLine(r.action, 200),
    text: r.text === null ? undefined : auditLine(r.text),
    outcome: r.outcome,
    reason: r.reason === null ? undefined : auditLine(r.reason, 1000),
    detail: r.detail ?? undefined,
    durationMs: r.duration_ms ?? undefined,
  }));
}
