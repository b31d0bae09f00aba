// The post-mortem the runbook asks for within 48 hours: a Markdown document pre-filled from the
// incident's record (summary, severity, impact, timeline, time to acknowledge and to resolve)
// with root cause, action items and learnings for people to fill in.
import { mdLink, mdParagraphs, mdStored, mdTable, mdText } from '../domain/markdown.js';
import { formatDuration } from '../duration.js';
import { type Followup, followupsOf } from '../followups/store.js';
import { KEY_SIGNALS, keySignal, type SignalSeries } from './signals.js';
import type { Q } from './store.js';
import { timelineOf } from './timeline.js';
import type { Actor, CheckChange, Incident, Role, TimelineEntry } from './types.js';
import { type CheckState, type Verification, verificationsOf } from './verification.js';

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
  /** The key signal the diagnoses sampled over the incident, charted beside the document. */
  signal?: SignalSeries;
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

function actorName(a: Actor | undefined, fallback = 'PagerDuty'): string {
  if (!a) return fallback;
  if (a.name) return a.name;
  if (a.slackId) return `@${a.slackId}`;
  return a.source === 'bot' ? 'dmp-bot' : 'PagerDuty';
}

const TODO = '_To be filled in._';

/** What the post-mortem document is built from: the record, as values. */
export interface PostmortemRecord {
  incident: Incident;
  timeline: TimelineEntry[];
  fields: PostmortemFields & { dueAt: Date };
  verifications: Verification[];
  followups: Followup[];
  /** The chart's file name, when the key signal was sampled (it is uploaded beside the document). */
  chartFile?: string;
}

/** A role's holders in turn: who, from when, until when (undefined: still). */
export interface RoleTerm {
  role: Role;
  holder: Actor;
  from: Date;
  until?: Date;
  by: Actor;
}

/** Who held which role when, from the timeline's role entries (each take-over and hand-over). */
export function roleTerms(timeline: TimelineEntry[]): RoleTerm[] {
  const terms: RoleTerm[] = [];
  for (const e of timeline) {
    const d = e.detail;
    if (d?.kind !== 'role') continue;
    const current = terms.findLast((t) => t.role === d.role && !t.until);
    if (current) current.until = e.at;
    terms.push({ role: d.role, holder: d.to, from: e.at, by: d.by });
  }
  return terms;
}

/** One remediation run in the thread and what its verification read before and after. */
export interface RemediationRun {
  at: Date;
  label: string;
  by?: Actor;
  changes: CheckChange[];
  /** The checks that changed, with the diagnosis' words before and after. */
  readings: Array<{ check: string; before: CheckState; after: CheckState }>;
  /** Each key signal sampled both times. */
  signals: Array<{ name: string; unit: string; before: number; after: number }>;
  critical: boolean;
}

export function remediationRuns(vs: Verification[]): RemediationRun[] {
  return vs.flatMap((v, n) => {
    if (v.trigger !== 'remediation') return [];
    const prev = vs.slice(0, n).findLast((p) => p.procedureId === v.procedureId);
    const readings = v.changes.flatMap((c) => {
      const before = prev?.checks.find((x) => x.check === c.check);
      const after = v.checks.find((x) => x.check === c.check);
      return before && after ? [{ check: c.check, before, after }] : [];
    });
    const signals = KEY_SIGNALS.flatMap((s) => {
      const before = prev?.signals[s.name];
      const after = v.signals[s.name];
      return before === undefined || after === undefined ? [] : [{ name: s.name, unit: s.unit, before, after }];
    });
    return [
      {
        at: v.at,
        label: v.label ?? 'remediation',
        ...(v.actor ? { by: v.actor } : {}),
        changes: v.changes,
        readings,
        signals,
        critical: v.critical,
      },
    ];
  });
}

/** What sampled a point of the key signal, in words. */
function sampledBy(v: Verification): string {
  if (v.trigger === 'diagnosis') return 'diagnosis';
  if (v.trigger === 'mitigated') return 'verification after Mitigated';
  return `verification after ${v.label ?? 'a remediation'}`;
}

/** The incident's key signal over its diagnoses and verifications, when one was sampled. */
export function incidentSignal(vs: Verification[]): SignalSeries | undefined {
  return keySignal(vs.map((v) => ({ at: v.at, label: sampledBy(v), signals: v.signals, checks: v.checks })));
}

export function signalChartFilename(i: Pick<Incident, 'id' | 'number'>, s: SignalSeries): string {
  return `postmortem-${i.number ?? i.id}-${s.signal.name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}.png`;
}

const time = (d: Date) => utc(d).replace(' UTC', '');

/** The Markdown document, built from the record's values (user text escaped once, here). */
export function postmortemDocument(r: PostmortemRecord): string {
  const { incident: i, timeline, fields: p, verifications, followups } = r;
  const m = mitigationOf(verifications);
  const d = durationsOf(i, m);
  // Slack ids the record knows a name for, so mentions in the timeline read as names.
  const names = new Map<string, string>();
  const know = (a: Actor | undefined) => {
    if (a?.slackId && a.name) names.set(a.slackId, a.name);
  };
  for (const e of timeline) know(e.actor);
  for (const a of [i.acknowledgedBy, i.mitigatedBy, i.resolvedBy, i.commander, i.comms]) know(a);
  for (const t of roleTerms(timeline)) for (const a of [t.holder, t.by]) know(a);
  for (const f of followups) for (const a of [f.addedBy, f.owner]) know(a);
  /** An actor as Markdown: their name, from the record when the actor itself lacks it. */
  const mdActor = (a: Actor | undefined, fallback?: string): string =>
    mdText(
      actorName(a?.slackId && !a.name && names.has(a.slackId) ? { ...a, name: names.get(a.slackId) } : a, fallback),
    );
  const lines: string[] = [];
  lines.push(`# Post-mortem: ${mdText(i.title)}`, '');
  lines.push(
    `- **Incident:** ${i.number ? `#${i.number} ` : ''}${mdText(i.id)}${i.htmlUrl ? ` (${mdLink(i.htmlUrl, i.htmlUrl)})` : ''}`,
  );
  lines.push(
    `- **Severity:** ${i.severity}${i.priority ? ` (PagerDuty priority ${mdText(i.priority)})` : i.urgency ? ` (PagerDuty urgency ${mdText(i.urgency)})` : ''}`,
  );
  if (i.serviceName) lines.push(`- **Service:** ${mdText(i.serviceName)}`);
  lines.push(`- **Triggered:** ${utc(i.triggeredAt)}`);
  lines.push(
    `- **Acknowledged:** ${i.acknowledgedAt ? `${utc(i.acknowledgedAt)} by ${mdActor(i.acknowledgedBy)}` : 'never'}`,
  );
  if (i.mitigatedAt) lines.push(`- **Mitigated:** ${utc(i.mitigatedAt)} by ${mdActor(i.mitigatedBy)}`);
  lines.push(`- **Resolved:** ${i.resolvedAt ? `${utc(i.resolvedAt)} by ${mdActor(i.resolvedBy)}` : 'not yet'}`);
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
    `${mdText(i.title)}${i.serviceName ? ` on ${mdText(i.serviceName)}` : ''}, severity ${i.severity}.${i.description && i.description !== i.title ? ` ${mdText(i.description)}` : ''}`,
    '',
  );
  lines.push(
    '## Impact',
    '',
    p.impact?.trim()
      ? mdParagraphs(p.impact.trim())
      : `${mdText(i.serviceName ?? 'The service')} was affected for ${d.toResolveMs === undefined ? 'an unknown time' : formatDuration(d.toResolveMs)} (from trigger to resolution). _Add who and what was affected._`,
    '',
  );

  // Who held which role when (issue 12): each take-over and hand-over.
  const terms = roleTerms(timeline);
  const since = (role: Role) => terms.findLast((t) => t.role === role)?.from;
  const holder = (role: Role, a: Actor | undefined, none: string) => {
    const from = since(role);
    return a ? `${mdActor(a)}${from ? ` (since ${utc(from)})` : ''}` : none;
  };
  lines.push('## Roles', '');
  lines.push(`- **Commander:** ${holder('commander', i.commander, 'nobody took command')}`);
  lines.push(`- **Comms lead:** ${holder('comms', i.comms, 'nobody')}`);
  lines.push('');
  if (terms.length) {
    lines.push(
      ...mdTable(
        ['Role', 'Held by', 'From', 'Until', 'How'],
        terms.map((t, n) => {
          const before = terms.slice(0, n).findLast((x) => x.role === t.role);
          const self = t.by.slackId !== undefined && t.by.slackId === t.holder.slackId;
          return [
            ROLE_TITLE[t.role],
            mdActor(t.holder),
            time(t.from),
            t.until ? time(t.until) : 'the end',
            before
              ? `handed over from ${mdActor(before.holder)}${self ? '' : ` by ${mdActor(t.by)}`}`
              : self
                ? 'Take command'
                : `assigned by ${mdActor(t.by)}`,
          ];
        }),
      ),
      '',
    );
    for (const t of terms) {
      const before = terms.slice(0, terms.indexOf(t)).findLast((x) => x.role === t.role);
      const self = t.by.slackId !== undefined && t.by.slackId === t.holder.slackId;
      lines.push(
        `- ${utc(t.from)}: ${
          before
            ? `${ROLE_TITLE[t.role]} handed over from ${mdActor(before.holder)} to ${mdActor(t.holder)}${self ? '' : ` by ${mdActor(t.by)}`}`
            : `${mdActor(t.holder)} is ${ROLE_NAME_MD[t.role]}${self ? ' (Take command)' : ` (assigned by ${mdActor(t.by)})`}`
        }`,
      );
    }
    lines.push('');
  } else {
    // Entries written before roles kept their facts: their sentence, as recorded.
    const old = timeline.filter((e) => e.kind === 'role');
    for (const e of old) lines.push(`- ${utc(e.at)}: ${mdStored(e.text, names)}`);
    if (old.length) lines.push('');
  }

  lines.push(
    '## Timeline (UTC)',
    '',
    ...mdTable(
      ['Time', 'Who', 'What'],
      timeline.map((e) => [time(e.at), mdActor(e.actor), mdStored(e.text, names)]),
    ),
    '',
  );

  const checked = verifications.filter((v) => v.trigger !== 'diagnosis');
  if (checked.length) {
    lines.push(
      '## Verifications',
      '',
      'The diagnosis run again by the bot after each remediation and when Mitigated was pressed.',
      '',
      ...mdTable(
        ['Time', 'After', 'Result', 'Checks that changed'],
        checked.map((v) => {
          const critical = v.checks.filter((c) => c.status === 'critical').map((c) => c.check);
          return [
            time(v.at),
            v.trigger === 'mitigated'
              ? `Mitigated${v.actor ? ` (${mdActor(v.actor)})` : ''}`
              : mdText(v.label ?? 'a remediation'),
            v.critical ? `red: still critical (${mdText(critical.join(', '))})` : 'green: nothing critical',
            mdText(v.changes.map((c) => `${c.check}: ${c.before} → ${c.after}`).join('; ') || 'none'),
          ];
        }),
      ),
      '',
    );
  }

  const runs = remediationRuns(verifications);
  if (runs.length) {
    lines.push(
      '## Remediations (verified by the bot)',
      '',
      ...mdTable(
        ['Time', 'Remediation', 'By', 'Before → after', 'Then'],
        runs.map((x) => [
          time(x.at),
          mdText(x.label),
          x.by ? mdActor(x.by) : '—',
          mdText(
            [
              ...x.changes.map((c) => {
                const r = x.readings.find((y) => y.check === c.check);
                return `${c.check}: ${c.before} → ${c.after}${r ? ` (“${r.before.summary}” → “${r.after.summary}”)` : ''}`;
              }),
              ...x.signals.map((s) => `${s.name}: ${s.before} → ${s.after} ${s.unit}`),
            ].join('; ') || 'no check changed',
          ),
          x.critical ? 'still critical' : 'nothing critical',
        ]),
      ),
      '',
    );
  }

  const signal = incidentSignal(verifications);
  if (signal) {
    const { name, unit } = signal.signal;
    lines.push(`## Key signal: ${mdText(name)}`, '');
    if (r.chartFile) lines.push(`![${mdText(name)} over the incident](${r.chartFile})`, '');
    lines.push(
      ...mdTable(
        ['Time', `${mdText(name)} (${mdText(unit)})`, 'Sampled by'],
        signal.points.map((pt) => [time(pt.at), String(pt.value), mdText(pt.label)]),
      ),
      '',
    );
  }

  lines.push('## Root cause', '', p.rootCause?.trim() ? mdParagraphs(p.rootCause.trim()) : TODO, '');
  lines.push('## Action items', '', p.actionItems?.trim() ? bullets(p.actionItems) : '- [ ] _To be filled in._', '');
  if (followups.length) {
    lines.push(
      '## Follow-ups',
      '',
      ...mdTable(
        ['Issue', 'Action item', 'State', 'Owner', 'Due', 'Added'],
        followups.map((f) => [
          followupLink(f),
          mdText(f.title),
          mdText(followupState(f)),
          f.owner ? mdActor(f.owner) : '—',
          f.dueOn ?? '—',
          f.source === 'thread' ? `from the thread by ${mdActor(f.addedBy, 'someone')}` : 'post-mortem',
        ]),
      ),
      '',
    );
  }
  lines.push('## Learnings', '', p.learnings?.trim() ? mdParagraphs(p.learnings.trim()) : TODO, '');
  return lines.join('\n');
}

const ROLE_TITLE: Record<Role, string> = { commander: 'Commander', comms: 'Comms lead' };
const ROLE_NAME_MD: Record<Role, string> = { commander: 'commander', comms: 'comms lead' };

function followupLink(f: Followup): string {
  return f.issueUrl ? mdLink(`${f.repo}#${f.issueNumber}`, f.issueUrl) : '—';
}

/** A follow-up's state in plain words, for the document and the Slack post alike (each escapes it). */
export function followupState(f: Followup): string {
  if (f.issueUrl) return f.state === 'closed' ? 'closed' : 'open';
  if (f.failed) return `not filed: ${f.error ?? 'GitHub refused it'}`;
  return f.error ? `being filed (retrying: ${f.error})` : 'being filed';
}

/** Action items as a checklist: each line one item, its own list marker kept. */
function bullets(text: string): string {
  return mdParagraphs(
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .map((l) => (/^([-*]|\d+\.)\s/.test(l) ? l : `- [ ] ${l}`))
      .join('\n'),
  );
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
  if (!rows[0]) return undefined;
  const vs = await verificationsOf(q, incidentId);
  const signal = incidentSignal(vs);
  return {
    ...fromRow(rows[0]),
    mitigation: mitigationOf(vs),
    followups: await followupsOf(q, incidentId),
    ...(signal ? { signal } : {}),
  };
}

async function documentOf(q: Q, i: Incident, fields: PostmortemFields & { dueAt: Date }): Promise<string> {
  const verifications = await verificationsOf(q, i.id);
  const signal = incidentSignal(verifications);
  return postmortemDocument({
    incident: i,
    timeline: await timelineOf(q, i.id),
    fields,
    verifications,
    followups: await followupsOf(q, i.id),
    ...(signal ? { chartFile: signalChartFilename(i, signal) } : {}),
  });
}

/** Creates (or, after a reopen and a new resolution, refreshes) the post-mortem of a resolved incident. */
export async function openPostmortem(q: Q, i: Incident, dueMs: number, now: Date): Promise<Postmortem> {
  const resolvedAt = i.resolvedAt ?? now;
  const dueAt = new Date(resolvedAt.getTime() + dueMs);
  const existing = await getPostmortem(q, i.id);
  const fields: PostmortemFields = existing ?? {};
  const document = await documentOf(q, i, { ...fields, dueAt });
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
  const document = await documentOf(q, i, { ...merged, dueAt: existing.dueAt });
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
