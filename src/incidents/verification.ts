// Verified mitigation: the bot that ran an incident's diagnosis runs it again after a remediation
// finishes in its thread and when Mitigated is pressed, and says which checks changed
// (`Dead workers: critical → ok`) and which are still wrong. Every diagnosis of the incident is
// kept (its checks and their statuses), so each verification compares against the one before.

import type { RichText } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import type { Finding, Report } from '../runbooks/types.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import { signalsOf } from './signals.js';
import type { Q } from './store.js';
import type { Actor, CheckChange, Incident } from './types.js';

export type VerificationTrigger = 'diagnosis' | 'remediation' | 'mitigated';

export interface CheckState {
  check: string;
  status: string;
  summary: string;
}

export interface Verification {
  id: number;
  at: Date;
  trigger: VerificationTrigger;
  label?: string;
  procedureId: string;
  checks: CheckState[];
  changes: CheckChange[];
  critical: boolean;
  /** The key signals it sampled (queue depth, dead workers, connections), by name. */
  signals: Record<string, number>;
  /** Who ran the remediation it follows, or pressed Mitigated. */
  actor?: Actor;
}

function plain(t: string | RichText): string {
  if (typeof t === 'string') return t;
  return t
    .map((p) =>
      typeof p === 'string'
        ? p
        : 'user' in p
          ? `@${p.user}`
          : 'group' in p
            ? `@${p.group}`
            : 'channel' in p
              ? `#${p.channel}`
              : 'link' in p
                ? (p.label ?? p.link)
                : 'bold' in p
                  ? p.bold
                  : 'code' in p
                    ? p.code
                    : formatDuration(p.duration),
    )
    .join('');
}

/** A finding's check named uniquely: the second "Rollout status" of a report is "Rollout status (2)". */
export function checkStates(findings: Finding[]): CheckState[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const n = (seen.get(f.check) ?? 0) + 1;
    seen.set(f.check, n);
    return {
      check: n === 1 ? f.check : `${f.check} (${n})`,
      status: f.status,
      summary: plain(f.summary).slice(0, 300),
    };
  });
}

/** Each check whose status moved, in the order of the newer report; a check only one of them has counts as moved from or to "absent". */
export function changesBetween(before: CheckState[] | undefined, after: CheckState[]): CheckChange[] {
  if (!before) return [];
  const was = new Map(before.map((c) => [c.check, c.status]));
  const out: CheckChange[] = [];
  for (const c of after) {
    const b = was.get(c.check);
    if (b === undefined) continue;
    if (b !== c.status) out.push({ check: c.check, before: b, after: c.status });
  }
  return out;
}

interface Row {
  id: string;
  at: Date | string;
  trigger: VerificationTrigger;
  label: string | null;
  procedure_id: string;
  checks: CheckState[];
  changes: CheckChange[];
  critical: boolean;
  signals: Record<string, number> | null;
  actor: Actor | null;
}

const toVerification = (r: Row): Verification => ({
  id: Number(r.id),
  at: new Date(r.at),
  trigger: r.trigger,
  ...(r.label ? { label: r.label } : {}),
  procedureId: r.procedure_id,
  checks: r.checks,
  changes: r.changes,
  critical: r.critical,
  signals: r.signals ?? {},
  ...(r.actor ? { actor: r.actor } : {}),
});

/** Every diagnosis and verification of an incident, oldest first. */
export async function verificationsOf(q: Q, incidentId: string): Promise<Verification[]> {
  const rows = await q.query<Row>('SELECT * FROM incident_verifications WHERE incident_id = $1 ORDER BY id', [
    incidentId,
  ]);
  return rows.map(toVerification);
}

/** The latest verification proper (not the first diagnosis), if any. */
export async function latestVerification(q: Q, incidentId: string): Promise<Verification | undefined> {
  const [r] = await q.query<Row>(
    `SELECT * FROM incident_verifications WHERE incident_id = $1 AND trigger <> 'diagnosis' ORDER BY id DESC LIMIT 1`,
    [incidentId],
  );
  return r ? toVerification(r) : undefined;
}

/** The checks of the incident's last diagnosis with this procedure (a retried verification does not compare with itself). */
export async function latestChecks(
  q: Q,
  incidentId: string,
  procedureId: string,
  exceptOutboxId?: number,
): Promise<CheckState[] | undefined> {
  const [r] = await q.query<{ checks: CheckState[] }>(
    `SELECT checks FROM incident_verifications WHERE incident_id = $1 AND procedure_id = $2
        AND ($3::bigint IS NULL OR outbox_id IS NULL OR outbox_id <> $3) ORDER BY id DESC LIMIT 1`,
    [incidentId, procedureId, exceptOutboxId ?? null],
  );
  return r?.checks;
}

/** Records what a diagnosis found, as the baseline the next verification compares with. */
export async function recordDiagnosis(
  q: Q,
  incidentId: string,
  report: Report,
  at: Date,
  e: { trigger?: VerificationTrigger; label?: string; outboxId?: number; changes?: CheckChange[]; actor?: Actor } = {},
): Promise<void> {
  const checks = checkStates(report.findings);
  await q.query(
    `INSERT INTO incident_verifications (incident_id, at, trigger, label, procedure_id, checks, changes, critical, outbox_id, signals, actor)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11 WHERE EXISTS (SELECT 1 FROM incidents WHERE id = $1)
     ON CONFLICT (outbox_id) DO UPDATE SET at = EXCLUDED.at, checks = EXCLUDED.checks, changes = EXCLUDED.changes, critical = EXCLUDED.critical, signals = EXCLUDED.signals`,
    [
      incidentId,
      at,
      e.trigger ?? 'diagnosis',
      e.label ?? null,
      report.procedure.id,
      JSON.stringify(checks),
      JSON.stringify(e.changes ?? []),
      checks.some((c) => c.status === 'critical'),
      e.outboxId ?? null,
      JSON.stringify(signalsOf(report.findings)),
      e.actor ? JSON.stringify(e.actor) : null,
    ],
  );
}

/** Queues a verification of the incident (it runs when its turn in the thread comes). */
export async function requestVerification(
  q: Q,
  ctx: WorkflowCtx,
  i: Incident,
  trigger: 'remediation' | 'mitigated',
  opts: { label?: string; actor?: Actor } = {},
): Promise<boolean> {
  return enqueuePost(q, i, { type: 'verification', trigger, ...opts }, ctx.now());
}

/** Time to mitigate: from the trigger to the first verification that found nothing critical. */
export async function timeToMitigate(q: Q, i: Pick<Incident, 'id' | 'triggeredAt'>): Promise<number | undefined> {
  const [r] = await q.query<{ at: Date | string }>(
    `SELECT at FROM incident_verifications WHERE incident_id = $1 AND trigger <> 'diagnosis' AND NOT critical ORDER BY id LIMIT 1`,
    [i.id],
  );
  return r ? Math.max(0, new Date(r.at).getTime() - i.triggeredAt.getTime()) : undefined;
}
