// The post-mortem the runbook asks for within 48 hours: a Markdown document pre-filled from the
// incident's record (summary, severity, impact, timeline, time to acknowledge and to resolve)
// with root cause, action items and learnings for people to fill in.
import { formatDuration } from '../duration.js';
import { type Followup, followupsOf } from '../followups/store.js';
import type { Q } from './store.js';
import { timelineOf } from './timeline.js';
import type { Actor, CheckChange, Incident, TimelineEntry } from './types.js';
import { type Verification, verificationsOf } from './verification.js';

export interface PostmortemFields {
  rootCause?: string;
  actionItems?: string;
  learnings?: string;
  impact?: string;
}

/** What the verifications proved: when nothing was critical any more, and each remediation's before/after. */
export interface MitigationRecord {
  /** The first verification with no critical finding. */
  firstClearAt?: Date;
  remediations: Array<{ at: Date; label: string; changes: CheckChange[]; critical: boolean }>;
}

export function mitigationOf(vs: Verification[]): MitigationRecord {
  const proper = vs.filter((v) => v.trigger !== 'diagnosis');
  return {
    firstClearAt: proper.find((v) => !v.critical)?.at,
    remediations: proper
      .filter((v) => v.trigger === 'remediation')
      .map((v) => ({ at: v.at, label: v.label ?? 'remediation', changes: v.changes, critical: v.critical })),
  };
}

export interface Postmortem extends PostmortemFields {
  mitigation?: MitigationRecord;
  /** The action items filed (or being filed) as GitHub issues. */
  followups?: Followup[];
  incidentId: string;
  resolvedAt: Date;
  dueAt: Date;
  document: string;
  updatedAt: Date;
  updatedBy?: string;
}

export interface Durations {
  toAcknowledgeMs?: number;
  /** From the trigger to the first verification with nothing critical. */
  toMitigateMs?: number;
  toResolveMs?: number;
}

export function durationsOf(
  i: Pick<Incident, 'triggeredAt' | 'acknowledgedAt' | 'resolvedAt'>,
  m?: MitigationRecord,
): Durations {
  return {
    toMitigateMs: m?.firstClearAt ? Math.max(0, m.firstClearAt.getTime() - i.triggeredAt.getTime()) : undefined,
    toAcknowledgeMs: i.acknowledgedAt ? Math.max(0, i.acknowledgedAt.getTime() - i.triggeredAt.getTime()) : undefined,
    toResolveMs: i.resolvedAt ? Math.max(0, i.resolvedAt.getTime() - i.triggeredAt.getTime()) : undefined,
  };
}

export function isComplete(p: PostmortemFields): boolean {
  return Boolean(p.rootCause?.trim() && p.actionItems?.trim() && p.learnings?.trim());
}

/** `2025-04-07 03:47:13 UTC` */
export function utc(d: Date): string {
  return `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

function plainActor(a: Actor | undefined): string {
  if (!a) return 'PagerDuty';
  if (a.name) return a.name;
  if (a.slackId) return `@${a.slackId}`;
  return a.source === 'bot' ? 'dmp-bot' : 'PagerDuty';
}

/** Slack mrkdwn (`<@U…>`, `<url|label>`) read as plain text for the Markdown file. */
function plainText(text: string): string {
  return text
    .replace(/<@([UW][A-Z0-9]+)>/g, '@$1')
    .replace(/<!subteam\^([A-Z0-9]+)(\|[^>]*)?>/g, '@$1')
    .replace(/<(https?:[^|>]+)\|([^>]+)>/g, '[$2]($1)')
    .replace(/<(https?:[^>]+)>/g, '$1')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ');
}

const TODO = '_To be filled in._';

function renderPostmortem(
  i: Incident,
  timeline: TimelineEntry[],
  p: PostmortemFields & { dueAt: Date },
  m?: MitigationRecord,
  followups: Followup[] = [],
): string {
  const d = durationsOf(i, m);
  const lines: string[] = [];
  lines.push(`# Post-mortem: ${i.title}`, '');
  lines.push(`- **Incident:** ${i.number ? `#${i.number} ` : ''}${i.id}${i.htmlUrl ? ` (${i.htmlUrl})` : ''}`);
  lines.push(
    `- **Severity:** ${i.severity}${i.priority ? ` (PagerDuty priority ${i.priority})` : i.urgency ? ` (PagerDuty urgency ${i.urgency})` : ''}`,
  );
  if (i.serviceName) lines.push(`- **Service:** ${i.serviceName}`);
  lines.push(`- **Triggered:** ${utc(i.triggeredAt)}`);
  lines.push(
    `- **Acknowledged:** ${i.acknowledgedAt ? `${utc(i.acknowledgedAt)} by ${plainActor(i.acknowledgedBy)}` : 'never'}`,
  );
  if (i.mitigatedAt) lines.push(`- **Mitigated:** ${utc(i.mitigatedAt)} by ${plainActor(i.mitigatedBy)}`);
  lines.push(`- **Resolved:** ${i.resolvedAt ? `${utc(i.resolvedAt)} by ${plainActor(i.resolvedBy)}` : 'not yet'}`);
  lines.push(
    `- **Time to acknowledge:** ${d.toAcknowledgeMs === undefined ? 'not acknowledged' : formatDuration(d.toAcknowledgeMs)}`,
  );
  lines.push(
    `- **Time to mitigate:** ${d.toMitigateMs === undefined ? 'not verified (no verification found nothing critical)' : `${formatDuration(d.toMitigateMs)} (first verification with nothing critical)`}`,
  );
  lines.push(`- **Time to resolve:** ${d.toResolveMs === undefined ? 'not resolved' : formatDuration(d.toResolveMs)}`);
  lines.push(`- **Post-mortem due:** ${utc(p.dueAt)}`, '');
  lines.push(
    '## Summary',
    '',
    `${i.title}${i.serviceName ? ` on ${i.serviceName}` : ''}, severity ${i.severity}.${i.description && i.description !== i.title ? ` ${i.description}` : ''}`,
    '',
  );
  lines.push(
    '## Impact',
    '',
    p.impact?.trim() ||
      `${i.serviceName ?? 'The service'} was affected for ${d.toResolveMs === undefined ? 'an unknown time' : formatDuration(d.toResolveMs)} (from trigger to resolution). _Add who and what was affected._`,
    '',
  );
  // Who held which role when (issue 12): each take-over and hand-over, from the timeline.
  const roles = timeline.filter((e) => e.kind === 'role');
  lines.push('## Roles', '');
  lines.push(`- **Commander:** ${i.commander ? plainActor(i.commander) : 'nobody took command'}`);
  lines.push(`- **Comms lead:** ${i.comms ? plainActor(i.comms) : 'nobody'}`);
  for (const e of roles) lines.push(`- ${utc(e.at)}: ${plainText(e.text)}`);
  lines.push('');
  lines.push('## Timeline (UTC)', '', '| Time | Who | What |', '| --- | --- | --- |');
  for (const e of timeline)
    lines.push(`| ${utc(e.at).replace(' UTC', '')} | ${plainText(plainActor(e.actor))} | ${plainText(e.text)} |`);
  lines.push('');
  if (m?.remediations.length) {
    lines.push(
      '## Remediations (verified by the bot)',
      '',
      '| Time | Remediation | Before → after | Then |',
      '| --- | --- | --- | --- |',
    );
    for (const r of m.remediations)
      lines.push(
        `| ${utc(r.at).replace(' UTC', '')} | ${plainText(r.label)} | ${plainText(r.changes.map((c) => `${c.check}: ${c.before} → ${c.after}`).join('; ') || 'no check changed')} | ${r.critical ? 'still critical' : 'nothing critical'} |`,
      );
    lines.push('');
  }
  lines.push('## Root cause', '', p.rootCause?.trim() || TODO, '');
  lines.push('## Action items', '', p.actionItems?.trim() ? bullets(p.actionItems) : '- [ ] _To be filled in._', '');
  if (followups.length) {
    lines.push('## Follow-ups', '', '| Issue | Action item | State |', '| --- | --- | --- |');
    for (const f of followups) lines.push(`| ${followupLink(f)} | ${plainText(f.title)} | ${followupState(f)} |`);
    lines.push('');
  }
  lines.push('## Learnings', '', p.learnings?.trim() || TODO, '');
  return lines.join('\n');
}

function followupLink(f: Followup): string {
  return f.issueUrl ? `[${f.repo}#${f.issueNumber}](${f.issueUrl})` : '—';
}

/** A follow-up's state in words, for the document and the Slack post alike. */
export function followupState(f: Followup): string {
  if (f.issueUrl) return f.state === 'closed' ? 'closed' : 'open';
  if (f.failed) return `not filed: ${plainText(f.error ?? 'GitHub refused it')}`;
  return f.error ? `being filed (retrying: ${plainText(f.error)})` : 'being filed';
}

function bullets(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => (/^([-*]|\d+\.)\s/.test(l) ? l : `- [ ] ${l}`))
    .join('\n');
}

interface Row {
  incident_id: string;
  resolved_at: Date | string;
  due_at: Date | string;
  root_cause: string | null;
  action_items: string | null;
  learnings: string | null;
  impact: string | null;
  document: string;
  updated_at: Date | string;
  updated_by: string | null;
}

const d = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));

function fromRow(r: Row): Postmortem {
  return {
    incidentId: r.incident_id,
    resolvedAt: d(r.resolved_at),
    dueAt: d(r.due_at),
    rootCause: r.root_cause ?? undefined,
    actionItems: r.action_items ?? undefined,
    learnings: r.learnings ?? undefined,
    impact: r.impact ?? undefined,
    document: r.document,
    updatedAt: d(r.updated_at),
    updatedBy: r.updated_by ?? undefined,
  };
}

export async function getPostmortem(q: Q, incidentId: string): Promise<Postmortem | undefined> {
  const rows = await q.query<Row>('SELECT * FROM incident_postmortems WHERE incident_id = $1', [incidentId]);
  return rows[0]
    ? {
        ...fromRow(rows[0]),
        mitigation: mitigationOf(await verificationsOf(q, incidentId)),
        followups: await followupsOf(q, incidentId),
      }
    : undefined;
}

/** Creates (or, after a reopen and a new resolution, refreshes) the post-mortem of a resolved incident. */
export async function openPostmortem(q: Q, i: Incident, dueMs: number, now: Date): Promise<Postmortem> {
  const resolvedAt = i.resolvedAt ?? now;
  const dueAt = new Date(resolvedAt.getTime() + dueMs);
  const existing = await getPostmortem(q, i.id);
  const fields: PostmortemFields = existing ?? {};
  const document = renderPostmortem(
    i,
    await timelineOf(q, i.id),
    { ...fields, dueAt },
    mitigationOf(await verificationsOf(q, i.id)),
    await followupsOf(q, i.id),
  );
  await q.query(
    `INSERT INTO incident_postmortems (incident_id, resolved_at, due_at, document, updated_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (incident_id) DO UPDATE SET resolved_at = EXCLUDED.resolved_at, due_at = EXCLUDED.due_at, document = EXCLUDED.document, updated_at = EXCLUDED.updated_at`,
    [i.id, resolvedAt, dueAt, document, now],
  );
  return (await getPostmortem(q, i.id)) as Postmortem;
}

/** Re-renders the stored document from the record and the fields people filled in. */
export async function refreshPostmortem(
  q: Q,
  i: Incident,
  now: Date,
  fields?: PostmortemFields,
  by?: string,
): Promise<Postmortem | undefined> {
  const existing = await getPostmortem(q, i.id);
  if (!existing) return undefined;
  const merged: PostmortemFields = { ...existing, ...(fields ?? {}) };
  const document = renderPostmortem(
    i,
    await timelineOf(q, i.id),
    { ...merged, dueAt: existing.dueAt },
    existing.mitigation,
    existing.followups,
  );
  await q.query(
    `UPDATE incident_postmortems SET root_cause = $2, action_items = $3, learnings = $4, impact = $5, document = $6, updated_at = $7, updated_by = COALESCE($8, updated_by)
      WHERE incident_id = $1`,
    [
      i.id,
      merged.rootCause ?? null,
      merged.actionItems ?? null,
      merged.learnings ?? null,
      merged.impact ?? null,
      document,
      now,
      by ?? null,
    ],
  );
  return getPostmortem(q, i.id);
}

export function postmortemFilename(i: Pick<Incident, 'id' | 'number'>): string {
  return `postmortem-${i.number ?? i.id}.md`;
}
