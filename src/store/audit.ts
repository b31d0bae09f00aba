// The audit log: every command, preview, approval, refusal and outcome, with who and where.
import type { Sql } from './sql.js';

export type AuditKind = 'command' | 'action' | 'view' | 'incident' | 'remediation';
export type AuditOutcome =
  | 'ok'
  | 'error'
  | 'refused'
  | 'previewed'
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

export async function recordAudit(sql: Pick<Sql, 'query'>, e: AuditEntry): Promise<void> {
  await sql.query(
    `INSERT INTO audit_log (user_id, channel_id, kind, action, text, outcome, reason, detail, duration_ms)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      e.userId,
      e.channelId ?? null,
      e.kind,
      e.action,
      e.text?.slice(0, 2000) ?? null,
      e.outcome,
      e.reason ?? null,
      e.detail ? JSON.stringify(e.detail) : null,
      e.durationMs ?? null,
    ],
  );
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
  return rows.map((r) => ({
    id: Number(r.id),
    at: new Date(r.at),
    userId: r.user_id,
    channelId: r.channel_id ?? undefined,
    kind: r.kind,
    action: r.action,
    text: r.text ?? undefined,
    outcome: r.outcome,
    reason: r.reason ?? undefined,
    detail: r.detail ?? undefined,
    durationMs: r.duration_ms ?? undefined,
  }));
}
