// The incident workflow on Slack's side: what a button, a select, a pinned message or a modal
// does. Each runs in one transaction holding the incident's row lock, records the act in the
// timeline, queues the thread posts and the PagerDuty call; repeated clicks act once.

import { randomUUID } from 'node:crypto';
import type { Severity } from '../config.js';
import { bold, channel, code, type Inline, type RichText, user } from '../domain/text.js';
import { actionItems } from '../followups/items.js';
import { followupsConfigured, queueFollowups } from '../followups/store.js';
import { findProcedure } from '../runbooks/index.js';
import { statusPageOnMitigated } from '../statuspage/store.js';
import type { Sql } from '../store/sql.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import { declarationByKey, enqueuePdCall, type PdCall } from './pd-outbox.js';
import type { SlackAct, SlackUser } from './person.js';
import { getPostmortem, isComplete, type PostmortemFields, refreshPostmortem } from './postmortem.js';
import { notCommander } from './roles.js';
import { getIncident, type Q, saveIncident } from './store.js';
import { addTimeline } from './timeline.js';
import { cancelTimers } from './timers.js';
import { type Actor, type Incident, PHASE_LABEL, phaseOf } from './types.js';
import { requestVerification } from './verification.js';
import { onResolved, scheduleSeverityTimers } from './workflow.js';

export type { SlackAct, SlackUser } from './person.js';

export interface ActionResult {
  /** False when nothing was done (already done, not allowed); `text` says why to the clicker. */
  ok: boolean;
  /** A sentence with values in it (mentions, a duration); blocks/mrkdwn.ts renders it. */
  text: RichText;
}

export interface ActionCtx extends WorkflowCtx {
  store: Sql;
}

const actorOf = (u: SlackUser): Actor => ({ source: 'slack', slackId: u.slackId, ...(u.name ? { name: u.name } : {}) });

function who(a: Actor | undefined): Inline {
  if (a?.slackId) return user(a.slackId);
  return a?.name ?? 'PagerDuty';
}

/** The incident, locked for this transaction; undefined when there is none (see noIncident). */
function locked(q: Q, id: string): Promise<Incident | undefined> {
  return getIncident(q, id, true);
}

/** The refusal for an incident the bot does not know. */
function noIncident(id: string): ActionResult {
  return { ok: false, text: ['I have no incident ', code(id), '.'] };
}

/** Repeated identical clicks (a double click, a redelivered interaction) act once: the same act within this window is a repeat. */
const REPEAT_WINDOW_MS = 10_000;

async function repeated(q: Q, incidentId: string, kind: string, text: string, now: Date): Promise<boolean> {
  const rows = await q.query(
    `SELECT 1 FROM incident_timeline WHERE incident_id = $1 AND kind = $2 AND text = $3 AND source = 'slack' AND at > $4 LIMIT 1`,
    [incidentId, kind, text, new Date(now.getTime() - REPEAT_WINDOW_MS)],
  );
  return rows.length > 0;
}

/** Why an act cannot be done (already done, nothing to do), or undefined when it can. */
async function refusalOf(
  q: Q,
  i: Incident,
  a: SlackAct,
  now: Date,
  asked: boolean,
  by?: SlackUser,
): Promise<ActionResult | undefined> {
  switch (a.act) {
    case 'acknowledge': {
      if (i.pdStatus === 'triggered') return undefined;
      const by = i.pdStatus === 'resolved' ? i.resolvedBy : i.acknowledgedBy;
      return {
        ok: false,
        text: [
          `This incident is already ${PHASE_LABEL[phaseOf(i)].toLowerCase()}`,
          ...(by ? [' by ', who(by)] : []),
          '.',
        ],
      };
    }
    case 'resolve':
      return i.pdStatus === 'resolved'
        ? {
            ok: false,
            text: ['This incident is already resolved', ...(i.resolvedBy ? [' by ', who(i.resolvedBy)] : []), '.'],
          }
        : undefined;
    case 'mitigate':
      if (i.pdStatus === 'resolved') return { ok: false, text: ['This incident is already resolved.'] };
      return i.mitigatedAt
        ? { ok: false, text: ['This incident was already marked mitigated by ', who(i.mitigatedBy), '.'] }
        : undefined;
    case 'escalate': {
      if (i.pdStatus === 'resolved')
        return { ok: false, text: ['This incident is resolved; there is nobody to escalate to.'] };
      if (!asked) return undefined;
      // Once someone leads, going up the escalation policy is the commander's call.
      if (by && i.commander?.slackId && i.commander.slackId !== by.slackId)
        return { ok: false, text: notCommander(i.commander.slackId, 'escalate this incident') };
      const recent = await q.query(
        `SELECT 1 FROM incident_timeline WHERE incident_id = $1 AND kind = 'escalated' AND source = 'slack' AND at > $2 LIMIT 1`,
        [i.id, new Date(now.getTime() - REPEAT_WINDOW_MS)],
      );
      return recent.length
        ? {
            ok: false,
            text: [
              `It was escalated moments ago (now level ${i.escalationLevel}); press again in a few seconds to go further.`,
            ],
          }
        : undefined;
    }
    case 'severity':
      return i.severity === a.severity ? { ok: false, text: [`It is already ${a.severity}.`] } : undefined;
    case 'reassign':
      if (i.pdStatus === 'resolved') return { ok: false, text: ['This incident is already resolved.'] };
      return (await repeated(q, i.id, 'reassigned', reassignText(a.to), now))
        ? { ok: false, text: ['Already reassigning to ', user(a.to.slackId), '.'] }
        : undefined;
    case 'pin': {
      const dup = await q.query('SELECT 1 FROM incident_timeline WHERE dedupe_key = $1', [`pin:${a.messageKey}`]);
      return dup.length ? { ok: false, text: ['Already recorded.'] } : undefined;
    }
  }
}

const reassignText = (to: SlackUser) => `Reassigned from Slack to ${to.name ?? to.slackId}`;

/** The PagerDuty call that carries an act. */
function callFor(a: SlackAct, u: SlackUser): PdCall {
  switch (a.act) {
    case 'acknowledge':
      return { kind: 'ack' };
    case 'resolve':
      return { kind: 'resolve' };
    case 'mitigate':
      return {
        kind: 'note',
        content: `Mitigated (marked in Slack by ${u.name ?? u.slackId}): fix or workaround applied; verifying before resolving.`,
      };
    case 'escalate':
      return { kind: 'escalate', level: a.level };
    case 'severity':
      return { kind: 'priority', severity: a.severity };
    case 'reassign':
      return { kind: 'reassign', email: a.to.email as string, slackId: a.to.slackId };
    case 'pin':
      return { kind: 'note', content: a.text };
  }
}

/**
 * A person's act on an incident: refused when it cannot be done; with PagerDuty, queued as a call
 * From: their own email and applied in Slack only once PagerDuty accepts (applyAccepted);
 * without PagerDuty, applied at once and recorded in Slack only.
 */
async function personAct(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  a: SlackAct,
  asking: RichText,
): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (!i) return noIncident(incidentId);
    const now = ctx.now();
    const refused = await refusalOf(q, i, a, now, true, u);
    if (refused) return refused;
    if (!ctx.config.PAGERDUTY_API_TOKEN) {
      const done = await applyAct(q, ctx, i, a, actorOf(u));
      await enqueuePost(
        q,
        i,
        {
          type: 'warning',
          text: 'PagerDuty is not configured (PAGERDUTY_API_TOKEN), so this was recorded in Slack only.',
        },
        now,
      );
      return done;
    }
    if (!u.email)
      return { ok: false, text: ['I found no PagerDuty account for you; nothing was sent and nothing changed.'] };
    // A second press while PagerDuty has not answered the first does nothing.
    const waiting = await q.query(
      `SELECT 1 FROM pd_outbox WHERE incident_id = $1 AND done_at IS NULL AND args->'onAccepted'->>'act' = $2 LIMIT 1`,
      [i.id, a.act],
    );
    if (waiting.length) return { ok: false, text: ['That is on its way to PagerDuty already.'] };
    await enqueuePdCall(
      q,
      { incidentId: i.id, call: { ...callFor(a, u), onAccepted: a }, fromEmail: u.email, requestedBy: actorOf(u) },
      now,
    );
    return { ok: true, text: asking };
  });
}

/**
 * Applies in Slack a person's act PagerDuty has just accepted, in the transaction that marks the
 * call done. Nothing happens when it is done already (PagerDuty's webhook got there first).
 */
export async function applyAccepted(
  q: Q,
  ctx: WorkflowCtx,
  row: { incidentId?: string; call: PdCall; requestedBy?: Actor },
): Promise<void> {
  const a = row.call.onAccepted;
  if (!a || !row.incidentId) return;
  const i = await getIncident(q, row.incidentId, true);
  if (!i) return;
  if (await refusalOf(q, i, a, ctx.now(), false)) return;
  await applyAct(q, ctx, i, a, row.requestedBy ?? { source: 'slack' });
}

/** Slack's side of an act: the incident row, the timeline, the thread posts, the timers. */
async function applyAct(q: Q, ctx: WorkflowCtx, i: Incident, a: SlackAct, actor: Actor): Promise<ActionResult> {
  const now = ctx.now();
  switch (a.act) {
    case 'acknowledge': {
      i.pdStatus = 'acknowledged';
      i.statusAt = now;
      i.acknowledgedAt = i.acknowledgedAt ?? now;
      i.acknowledgedBy = actor;
      i.updatedAt = now;
      await saveIncident(q, i);
      await cancelTimers(q, i.id, ['ack_reminder'], now);
      await addTimeline(q, i.id, {
        at: now,
        kind: 'acknowledged',
        actor,
        text: 'Acknowledged in Slack (Acknowledge button)',
        source: 'slack',
      });
      await enqueuePost(
        q,
        i,
        { type: 'change', change: 'acknowledged', actor, afterMs: now.getTime() - i.triggeredAt.getTime() },
        now,
      );
      await enqueuePost(q, i, { type: 'update_root' }, now);
      return { ok: true, text: ['Acknowledged after ', { duration: now.getTime() - i.triggeredAt.getTime() }, '.'] };
    }
    case 'resolve': {
      i.pdStatus = 'resolved';
      i.statusAt = now;
      i.resolvedAt = now;
      i.resolvedBy = actor;
      i.updatedAt = now;
      await saveIncident(q, i);
      await addTimeline(q, i.id, {
        at: now,
        kind: 'resolved',
        actor,
        text: 'Resolved in Slack (Resolve button)',
        source: 'slack',
      });
      await enqueuePost(
        q,
        i,
        { type: 'change', change: 'resolved', actor, afterMs: now.getTime() - i.triggeredAt.getTime() },
        now,
      );
      await enqueuePost(q, i, { type: 'update_root' }, now);
      await onResolved(q, ctx, i);
      return { ok: true, text: ['Resolved; the post-mortem template follows in the thread.'] };
    }
    case 'mitigate': {
      i.mitigatedAt = now;
      i.mitigatedBy = actor;
      i.updatedAt = now;
      await saveIncident(q, i);
      await addTimeline(q, i.id, {
        at: now,
        kind: 'mitigated',
        actor,
        text: 'Mitigated: fix or workaround applied (Mitigated button)',
        source: 'slack',
      });
      await enqueuePost(
        q,
        i,
        { type: 'change', change: 'mitigated', actor, afterMs: now.getTime() - i.triggeredAt.getTime() },
        now,
      );
      await enqueuePost(q, i, { type: 'update_root' }, now);
      // The public page goes to monitoring, and the bot checks the fix itself.
      await statusPageOnMitigated(q, ctx, i, actor);
      await requestVerification(q, ctx, i, 'mitigated', { actor });
      return { ok: true, text: ['Marked mitigated.'] };
    }
    case 'escalate': {
      i.escalationLevel = Math.max(i.escalationLevel + 1, a.level);
      i.updatedAt = now;
      await saveIncident(q, i);
      const byCommander = Boolean(actor.slackId && i.commander?.slackId === actor.slackId);
      const detail = `to escalation level ${i.escalationLevel}${byCommander ? ' (commander)' : ''}`;
      await addTimeline(q, i.id, {
        at: now,
        kind: 'escalated',
        actor,
        text: `Escalated from Slack ${detail} (Escalate button)`,
        source: 'slack',
      });
      await enqueuePost(q, i, { type: 'change', change: 'escalated', actor, detail }, now);
      await enqueuePost(q, i, { type: 'update_root' }, now);
      return { ok: true, text: [`Escalated ${detail}.`] };
    }
    case 'severity': {
      const before = i.severity;
      i.severity = a.severity;
      i.priority = a.severity;
      i.updatedAt = now;
      await saveIncident(q, i);
      const detail = `severity ${before} → ${a.severity}`;
      await addTimeline(q, i.id, {
        at: now,
        kind: 'priority',
        actor,
        text: `Priority changed from Slack: ${detail}`,
        source: 'slack',
      });
      await enqueuePost(q, i, { type: 'change', change: 'priority', actor, detail }, now);
      await enqueuePost(q, i, { type: 'update_root' }, now);
      if (i.pdStatus !== 'resolved') await scheduleSeverityTimers(q, ctx, i, true);
      return { ok: true, text: [`Severity is now ${a.severity}.`] };
    }
    case 'reassign':
      await addTimeline(q, i.id, { at: now, kind: 'reassigned', actor, text: reassignText(a.to), source: 'slack' });
      await enqueuePost(q, i, { type: 'change', change: 'reassigned', actor, detail: [user(a.to.slackId)] }, now);
      return { ok: true, text: ['Reassigned to ', user(a.to.slackId), '.'] };
    case 'pin':
      await addTimeline(q, i.id, {
        at: now,
        kind: 'pinned',
        actor,
        text: `Pinned: ${a.text}`,
        source: 'slack',
        dedupeKey: `pin:${a.messageKey}`,
      });
      return { ok: true, text: ['Pinned to the timeline.'] };
  }
}

export function acknowledge(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return personAct(ctx, incidentId, u, { act: 'acknowledge' }, ['Acknowledging in PagerDuty…']);
}

export function resolve(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return personAct(ctx, incidentId, u, { act: 'resolve' }, ['Resolving in PagerDuty…']);
}

export function mitigate(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return personAct(ctx, incidentId, u, { act: 'mitigate' }, ['Marking mitigated…']);
}

export async function escalate(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  const i = await getIncident(ctx.store, incidentId);
  if (!i) return noIncident(incidentId);
  return personAct(ctx, incidentId, u, { act: 'escalate', level: i.escalationLevel + 1 }, ['Escalating in PagerDuty…']);
}

export async function reassign(ctx: ActionCtx, incidentId: string, u: SlackUser, to: SlackUser): Promise<ActionResult> {
  if (!to.email)
    return {
      ok: false,
      text: ["I can't find ", user(to.slackId), "'s email in Slack, so I can't find them in PagerDuty."],
    };
  return personAct(ctx, incidentId, u, { act: 'reassign', to }, ['Reassigning to ', user(to.slackId), '…']);
}

export function setSeverity(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  severity: Severity,
): Promise<ActionResult> {
  return personAct(ctx, incidentId, u, { act: 'severity', severity }, [`Setting the severity to ${severity}…`]);
}

export async function requestDiagnosis(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  procedureId: string,
): Promise<ActionResult> {
  const procedure = findProcedure(procedureId);
  if (!procedure) return { ok: false, text: ['There is no runbook procedure ', code(procedureId), '.'] };
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (!i) return noIncident(incidentId);
    const now = ctx.now();
    const actor = actorOf(u);
    const text = `Diagnosis requested: ${procedure.title} (Run diagnosis)`;
    if (await repeated(q, i.id, 'button', text, now))
      return { ok: false, text: [`${procedure.title} is already running for this incident.`] };
    await addTimeline(q, i.id, { at: now, kind: 'button', actor, text, source: 'slack' });
    if (!(await enqueuePost(q, i, { type: 'diagnosis', procedureId, actor }, now))) {
      return { ok: false, text: ['Incident threads are off: INCIDENTS_CHANNEL is not set.'] };
    }
    return { ok: true, text: [`Running ${procedure.title}…`] };
  });
}

/** A :pushpin: message in the thread: a PagerDuty note as its writer, then a timeline entry. */
export async function pinNote(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  content: string,
  messageKey: string,
): Promise<ActionResult> {
  const text = content.trim().slice(0, 2000);
  if (!text) return { ok: false, text: ['An empty note is not recorded.'] };
  return personAct(ctx, incidentId, u, { act: 'pin', text, messageKey }, ['Adding it as a PagerDuty note…']);
}

/** Records something done in an incident's thread by another feature (a remediation, say). */
export async function recordActivity(
  ctx: ActionCtx,
  incidentId: string,
  entry: { actor?: SlackUser; kind: 'remediation' | 'button' | 'status_update'; text: string },
): Promise<void> {
  await ctx.store.query(
    `INSERT INTO incident_timeline (incident_id, at, kind, actor, text, source) SELECT $1, $2, $3, $4, $5, 'slack' WHERE EXISTS (SELECT 1 FROM incidents WHERE id = $1)`,
    [
      incidentId,
      ctx.now(),
      entry.kind,
      entry.actor ? JSON.stringify(actorOf(entry.actor)) : null,
      entry.text.slice(0, 4000),
    ],
  );
}

export async function fillPostmortem(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  fields: PostmortemFields,
): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (!i) return noIncident(incidentId);
    const existing = await getPostmortem(q, i.id);
    if (!existing)
      return { ok: false, text: ['This incident has no post-mortem yet: it opens when the incident is resolved.'] };
    const keys = ['rootCause', 'actionItems', 'learnings', 'impact'] as const;
    if (keys.every((k) => (fields[k] ?? '').trim() === (existing[k] ?? '').trim()))
      return { ok: false, text: ['Nothing changed in the post-mortem.'] };
    const now = ctx.now();
    const actor = actorOf(u);
    const filled = Object.entries(fields)
      .filter(([, v]) => typeof v === 'string' && v.trim())
      .map(([k]) => k);
    await addTimeline(q, i.id, {
      at: now,
      kind: 'postmortem',
      actor,
      text: `Post-mortem updated (${filled.join(', ') || 'cleared'})`,
      source: 'slack',
    });
    const pm = await refreshPostmortem(q, i, now, fields, u.slackId);
    // Each action item becomes a GitHub issue once (the worker's follow-up lane files it).
    if (pm && followupsConfigured(ctx.config))
      await queueFollowups(q, i.id, ctx.config.FOLLOWUP_REPO as string, actionItems(pm.actionItems), now);
    if (pm && isComplete(pm)) await cancelTimers(q, i.id, ['postmortem_reminder_1', 'postmortem_reminder_2'], now);
    await enqueuePost(q, i, { type: 'postmortem_updated', actor }, now);
    return { ok: true, text: ['Post-mortem updated.'] };
  });
}

export interface Declaration {
  title: string;
  severity: Severity;
  serviceId: string;
  description?: string;
}

/** `/dmp incident declare`: creates the incident in PagerDuty; its thread opens when PagerDuty answers. */
export async function declare(ctx: ActionCtx, u: SlackUser, d: Declaration, onceKey?: string): Promise<ActionResult> {
  const off = threadsOff(ctx);
  if (off) return off;
  if (!ctx.config.PAGERDUTY_API_TOKEN) return { ok: false, text: [NO_PAGERDUTY_TO_DECLARE] };
  // The same modal submitted twice declares once.
  const incidentKey = `dmp-declared-${onceKey ? onceKey.replace(/[^A-Za-z0-9_-]/g, '').slice(0, 64) : randomUUID()}`;
  if (onceKey && (await declarationByKey(ctx.store, incidentKey)))
    return { ok: false, text: ['This incident was already declared.'] };
  const queued = await enqueuePdCall(
    ctx.store,
    {
      call: {
        kind: 'create',
        title: d.title,
        severity: d.severity,
        serviceId: d.serviceId,
        description: d.description,
        incidentKey,
        urgency: d.severity === 'P1' || d.severity === 'P2' ? 'high' : 'low',
      },
      // The declarer's own email, checked to be a PagerDuty user's: never the bot's.
      fromEmail: u.email,
      requestedBy: actorOf(u),
    },
    ctx.now(),
  );
  if (!queued) return { ok: false, text: ['This incident was already declared.'] };
  return {
    ok: true,
    text: [
      'Declaring ',
      bold(d.title),
      ` (${d.severity}) in PagerDuty; its thread opens in `,
      channel(ctx.config.INCIDENTS_CHANNEL as string),
      '.',
    ],
  };
}

export const NO_PAGERDUTY_TO_DECLARE =
  'PagerDuty is not configured (PAGERDUTY_API_TOKEN), so I cannot declare an incident there.';

/** The refusal when incident threads are off (no INCIDENTS_CHANNEL), else undefined. */
export function threadsOff(ctx: Pick<WorkflowCtx, 'config'>): ActionResult | undefined {
  if (ctx.config.INCIDENTS_CHANNEL) return undefined;
  return {
    ok: false,
    text: ['Incident threads are off: INCIDENTS_CHANNEL is not set. Set it to the channel ID of #incidents.'],
  };
}
