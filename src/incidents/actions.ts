// The incident workflow on Slack's side: what a button, a select, a pinned message or a modal
// does. Each runs in one transaction holding the incident's row lock, records the act in the
// timeline, queues the thread posts and the PagerDuty call; repeated clicks act once.
import { randomUUID } from 'node:crypto';
import type { Severity } from '../config.js';
import { bold, channel, type Inline, type RichText, user } from '../domain/text.js';
import { UserError } from '../errors.js';
import { findProcedure } from '../runbooks/index.js';
import { statusPageOnMitigated } from '../statuspage/store.js';
import type { Sql } from '../store/sql.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import { declarationByKey, enqueuePdCall, type PdCall } from './pd-outbox.js';
import { getPostmortem, isComplete, type PostmortemFields, refreshPostmortem } from './postmortem.js';
import { getIncident, type Q, saveIncident } from './store.js';
import { addTimeline } from './timeline.js';
import { cancelTimers } from './timers.js';
import { type Actor, type Incident, PHASE_LABEL, phaseOf } from './types.js';
import { requestVerification } from './verification.js';
import { onResolved, scheduleSeverityTimers } from './workflow.js';

export interface SlackUser {
  slackId: string;
  name?: string;
  /** From Slack's users.info; PAGERDUTY_FROM_EMAIL stands in when unknown. */
  email?: string;
}

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

async function locked(q: Q, id: string): Promise<Incident> {
  const i = await getIncident(q, id, true);
  if (!i) throw new UserError(`I have no incident \`${id}\`.`);
  return i;
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

/** Queues the PagerDuty side of an act, or says in the thread why there is none. */
async function toPagerDuty(q: Q, ctx: ActionCtx, i: Incident, call: PdCall, u: SlackUser): Promise<void> {
  const now = ctx.now();
  if (!ctx.config.PAGERDUTY_API_TOKEN) {
    await enqueuePost(
      q,
      i,
      {
        type: 'warning',
        text: 'PagerDuty is not configured (PAGERDUTY_API_TOKEN), so this was recorded in Slack only.',
      },
      now,
    );
    return;
  }
  await enqueuePdCall(
    q,
    { incidentId: i.id, call, fromEmail: u.email ?? ctx.config.PAGERDUTY_FROM_EMAIL, requestedBy: actorOf(u) },
    now,
  );
}

export async function acknowledge(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (i.pdStatus !== 'triggered') {
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
    const now = ctx.now();
    const actor = actorOf(u);
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
    await toPagerDuty(q, ctx, i, { kind: 'ack' }, u);
    return { ok: true, text: ['Acknowledged after ', { duration: now.getTime() - i.triggeredAt.getTime() }, '.'] };
  });
}

export async function resolve(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (i.pdStatus === 'resolved')
      return {
        ok: false,
        text: ['This incident is already resolved', ...(i.resolvedBy ? [' by ', who(i.resolvedBy)] : []), '.'],
      };
    const now = ctx.now();
    const actor = actorOf(u);
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
    await toPagerDuty(q, ctx, i, { kind: 'resolve' }, u);
    await onResolved(q, ctx, i);
    return { ok: true, text: ['Resolved; the post-mortem template follows in the thread.'] };
  });
}

export async function mitigate(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (i.pdStatus === 'resolved') return { ok: false, text: ['This incident is already resolved.'] };
    if (i.mitigatedAt)
      return { ok: false, text: ['This incident was already marked mitigated by ', who(i.mitigatedBy), '.'] };
    const now = ctx.now();
    const actor = actorOf(u);
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
    await toPagerDuty(
      q,
      ctx,
      i,
      {
        kind: 'note',
        content: `Mitigated (marked in Slack by ${u.name ?? u.slackId}): fix or workaround applied; verifying before resolving.`,
      },
      u,
    );
    // The public page goes to monitoring, and the bot checks the fix itself.
    await statusPageOnMitigated(q, ctx, i, actor);
    await requestVerification(q, ctx, i, 'mitigated', { actor });
    return { ok: true, text: ['Marked mitigated.'] };
  });
}

export async function escalate(ctx: ActionCtx, incidentId: string, u: SlackUser): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (i.pdStatus === 'resolved')
      return { ok: false, text: ['This incident is resolved; there is nobody to escalate to.'] };
    const now = ctx.now();
    const actor = actorOf(u);
    const recent = await q.query(
      `SELECT 1 FROM incident_timeline WHERE incident_id = $1 AND kind = 'escalated' AND source = 'slack' AND at > $2 LIMIT 1`,
      [i.id, new Date(now.getTime() - REPEAT_WINDOW_MS)],
    );
    if (recent.length)
      return {
        ok: false,
        text: [
          `It was escalated moments ago (now level ${i.escalationLevel}); press again in a few seconds to go further.`,
        ],
      };
    i.escalationLevel += 1;
    i.updatedAt = now;
    await saveIncident(q, i);
    const detail = `to escalation level ${i.escalationLevel}`;
    await addTimeline(q, i.id, {
      at: now,
      kind: 'escalated',
      actor,
      text: `Escalated from Slack ${detail} (Escalate button)`,
      source: 'slack',
    });
    await enqueuePost(q, i, { type: 'change', change: 'escalated', actor, detail }, now);
    await enqueuePost(q, i, { type: 'update_root' }, now);
    await toPagerDuty(q, ctx, i, { kind: 'escalate', level: i.escalationLevel }, u);
    return { ok: true, text: [`Escalated ${detail}.`] };
  });
}

export async function reassign(ctx: ActionCtx, incidentId: string, u: SlackUser, to: SlackUser): Promise<ActionResult> {
  if (!to.email)
    return {
      ok: false,
      text: ["I can't find ", user(to.slackId), "'s email in Slack, so I can't find them in PagerDuty."],
    };
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (i.pdStatus === 'resolved') return { ok: false, text: ['This incident is already resolved.'] };
    const now = ctx.now();
    const actor = actorOf(u);
    const text = `Reassigned from Slack to ${to.name ?? to.slackId}`;
    if (await repeated(q, i.id, 'reassigned', text, now))
      return { ok: false, text: ['Already reassigning to ', user(to.slackId), '.'] };
    await addTimeline(q, i.id, { at: now, kind: 'reassigned', actor, text, source: 'slack' });
    await enqueuePost(q, i, { type: 'change', change: 'reassigned', actor, detail: [user(to.slackId)] }, now);
    await toPagerDuty(q, ctx, i, { kind: 'reassign', email: to.email as string, slackId: to.slackId }, u);
    return { ok: true, text: ['Reassigning to ', user(to.slackId), '.'] };
  });
}

export async function setSeverity(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  severity: Severity,
): Promise<ActionResult> {
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    if (i.severity === severity) return { ok: false, text: [`It is already ${severity}.`] };
    const now = ctx.now();
    const actor = actorOf(u);
    const before = i.severity;
    i.severity = severity;
    i.priority = severity;
    i.updatedAt = now;
    await saveIncident(q, i);
    const detail = `severity ${before} → ${severity}`;
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
    await toPagerDuty(q, ctx, i, { kind: 'priority', severity }, u);
    return { ok: true, text: [`Severity is now ${severity}.`] };
  });
}

export async function requestDiagnosis(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  procedureId: string,
): Promise<ActionResult> {
  const procedure = findProcedure(procedureId);
  if (!procedure) return { ok: false, text: [`There is no runbook procedure \`${procedureId}\`.`] };
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
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

/** A :pushpin: message in the thread: a timeline entry and a PagerDuty note. */
export async function pinNote(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  content: string,
  messageKey: string,
): Promise<ActionResult> {
  const text = content.trim().slice(0, 2000);
  if (!text) return { ok: false, text: ['An empty note is not recorded.'] };
  return ctx.store.tx(async (q) => {
    const i = await locked(q, incidentId);
    const now = ctx.now();
    const dup = await q.query('SELECT 1 FROM incident_timeline WHERE dedupe_key = $1', [`pin:${messageKey}`]);
    if (dup.length) return { ok: false, text: ['Already recorded.'] };
    await addTimeline(q, i.id, {
      at: now,
      kind: 'pinned',
      actor: actorOf(u),
      text: `Pinned: ${text}`,
      source: 'slack',
      dedupeKey: `pin:${messageKey}`,
    });
    if (ctx.config.PAGERDUTY_API_TOKEN) {
      await enqueuePdCall(
        q,
        {
          incidentId: i.id,
          call: { kind: 'note', content: text },
          fromEmail: u.email ?? ctx.config.PAGERDUTY_FROM_EMAIL,
          requestedBy: actorOf(u),
        },
        now,
      );
    }
    return { ok: true, text: ['Pinned to the timeline and added as a PagerDuty note.'] };
  });
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
  assertThreadsOn(ctx);
  if (!ctx.config.PAGERDUTY_API_TOKEN)
    throw new UserError('PagerDuty is not configured (PAGERDUTY_API_TOKEN), so I cannot declare an incident there.');
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
      fromEmail: u.email ?? ctx.config.PAGERDUTY_FROM_EMAIL,
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

export function assertThreadsOn(ctx: Pick<WorkflowCtx, 'config'>): void {
  if (!ctx.config.INCIDENTS_CHANNEL) {
    throw new UserError(
      'Incident threads are off: INCIDENTS_CHANNEL is not set. Set it to the channel ID of #incidents.',
    );
  }
}
