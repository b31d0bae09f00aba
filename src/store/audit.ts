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

const COLUMNS = '(user_id, channel_id, kind, action, text, outcome, reason, detail, duration_ms)';
const INSERT = `INSERT INTO audit_log ${COLUMNS}
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;

/** An entry as the nine column values of its row, cleaned. */
function rowValues(e: AuditEntry): unknown[] {
  return [
    auditLine(e.userId, 64),
    e.channelId ? auditLine(e.channelId, 64) : null,
    e.kind,
    auditLine(e.action, 200),
    e.text === undefined ? null : auditLine(e.text),
    e.outcome,
    e.reason === undefined ? null : auditLine(e.reason, 1000),
    e.detail ? JSON.stringify(cleanDetail(e.detail)) : null,
    e.durationMs ?? null,
  ];
}

/**
 * The one way to write an audit row. Should the full row still be refused, a minimal row (who,
 * what, outcome) is written in its place, so no odd field can leave an act unaudited.
 */
export async function recordAudit(sql: Pick<Sql, 'query'>, e: AuditEntry): Promise<void> {
  const values = rowValues(e);
  try {
    await sql.query(INSERT, values);
  } catch (err) {
    const [who, where, kind, action, , outcome, , , durationMs] = values;
    await sql.query(INSERT, [
      who,
      where,
      kind,
      action,
      null,
      outcome,
      'the full audit entry could not be stored',
      null,
      durationMs,
    ]);
    throw err;
  }
}

export interface AuditLogOptions {
  /** How long a row waits for others to share its INSERT. */
  flushMs?: number;
  /** Most rows in one INSERT (9 parameters each; PostgreSQL allows 65535 in all). */
  maxBatch?: number;
}

interface Pending {
  entry: AuditEntry;
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * The command path's audit writer: rows recorded within a few milliseconds of each other go in
 * one multi-row INSERT, in the order they were recorded (one statement, so their ids keep that
 * order), instead of a round trip and a pool checkout each. `record` resolves once its row is
 * stored, and is awaited after the ack, never before it. Should a batch be refused, its rows
 * are written one by one with recordAudit's fallback, so one odd row cannot cost the others.
 * `close` (bot.stop, on SIGTERM) writes what is waiting before the store closes.
 */
export class AuditLog {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private readonly maxBatch: number;

  constructor(
    private readonly sql: Pick<Sql, 'query'>,
    opts: AuditLogOptions = {},
  ) {
    this.flushMs = opts.flushMs ?? 5;
    this.maxBatch = Math.min(opts.maxBatch ?? 500, 7000);
  }

  /** Rows recorded and not yet written. */
  get pending(): number {
    return this.queue.length;
  }

  record(entry: AuditEntry): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ entry, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.kick();
      else this.timer ??= setTimeout(() => this.kick(), this.flushMs);
    });
  }

  /** Writes everything recorded so far; resolves when it is stored (or has failed). */
  async flush(): Promise<void> {
    this.kick();
    await this.writing;
  }

  /** Same as flush: the bot calls it on stop, before closing the store. */
  close(): Promise<void> {
    return this.flush();
  }

  private kick(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.queue.length) return;
    const batch = this.queue.splice(0, this.maxBatch);
    // One batch at a time, so the rows reach the table in the order they were recorded.
    this.writing = this.writing.then(() => this.write(batch));
    if (this.queue.length) this.kick();
  }

  private async write(batch: Pending[]): Promise<void> {
    const params: unknown[] = [];
    const rows = batch.map((p) => {
      const at = params.length;
      const values = rowValues(p.entry);
      params.push(...values);
      return `(${values.map((_, i) => `$${at + i + 1}`).join(', ')})`;
    });
    try {
      await this.sql.query(`INSERT INTO audit_log ${COLUMNS} VALUES ${rows.join(', ')}`, params);
      for (const p of batch) p.resolve();
      return;
    } catch {
      // One by one, so a refused row takes its fallback and the others go in as they are.
    }
    for (const p of batch) {
      try {
        await recordAudit(this.sql, p.entry);
        p.resolve();
      } catch (err) {
        p.reject(err);
      }
    }
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
