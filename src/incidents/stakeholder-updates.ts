// Stakeholder updates (runbook: "communicate status to affected users"): the Post update modal's
// message goes to the thread, to PagerDuty as a status update and to the open status page, all
// from one transaction; and a P1/P2 without an update for its UPDATE_CADENCE (from the trigger,
// then from the last update) gets one reminder in the thread per period.

import { code, type RichText } from '../domain/text.js';
import { statusPageOnUpdate } from '../statuspage/store.js';
import { updateTemplate } from '../statuspage/templates.js';
import type { Sql } from '../store/sql.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import { enqueuePdCall } from './pd-outbox.js';
import { getIncident, type Q } from './store.js';
import { addTimeline } from './timeline.js';
import { type DueTimer, scheduleTimer } from './timers.js';
import { type Actor, type Incident, type Mention, phaseOf } from './types.js';

/** The clicking user and the action context, as actions.ts has them (not imported: actions.ts reaches this module through workflow.ts). */
interface SlackUser {
  slackId: string;
  name?: string;
  email?: string;
}
interface ActionCtx extends WorkflowCtx {
  store: Sql;
}
interface ActionResult {
  ok: boolean;
  text: RichText;
}

const actorOf = (u: SlackUser): Actor => ({ source: 'slack', slackId: u.slackId, ...(u.name ? { name: u.name } : {}) });

/** The modal's pre-filled message: the procedure's template for the incident's phase. */
export function updateDraft(i: Incident): string {
  const phase = phaseOf(i);
  return updateTemplate(
    i.procedureId,
    phase === 'resolved' ? 'resolved' : phase === 'mitigated' ? 'mitigated' : 'investigating',
  );
}

async function lastUpdateAt(q: Q, i: Incident): Promise<Date> {
  const [r] = await q.query<{ at: Date | string | null }>(
    `SELECT max(at) AS at FROM incident_timeline WHERE incident_id = $1 AND kind = 'status_update'`,
    [i.id],
  );
  return r?.at ? new Date(r.at) : i.receivedAt;
}

/** (Re)schedules the next update reminder: one cadence after the last update, or after the page. */
export async function scheduleUpdateReminder(q: Q, ctx: WorkflowCtx, i: Incident): Promise<void> {
  const cadence = ctx.config.updateCadence[i.severity];
  if (!cadence || i.pdStatus === 'resolved') return;
  const from = await lastUpdateAt(q, i);
  await scheduleTimer(q, i.id, 'update_reminder', new Date(from.getTime() + cadence), true);
}

/** The reminder fired: one reply naming the acknowledger (or the on-call), and the next period's timer. */
export async function fireUpdateReminder(q: Q, ctx: WorkflowCtx, i: Incident, t: DueTimer): Promise<boolean> {
  const cadence = ctx.config.updateCadence[i.severity];
  if (!cadence || i.pdStatus === 'resolved') return false;
  const now = ctx.now();
  const last = await lastUpdateAt(q, i);
  // An update came after this timer was set: count the period from it instead.
  if (last.getTime() + cadence > t.dueAt.getTime()) {
    await q.query('UPDATE incident_timers SET fired_at = NULL, due_at = $2 WHERE id = $1', [
      t.id,
      new Date(last.getTime() + cadence),
    ]);
    return false;
  }
  const who: Mention | undefined = i.acknowledgedBy?.slackId
    ? { slackId: i.acknowledgedBy.slackId, name: i.acknowledgedBy.name ?? i.acknowledgedBy.slackId }
    : i.assignees[0]
      ? { name: i.assignees[0].summary }
      : undefined;
  await addTimeline(q, i.id, {
    at: now,
    kind: 'reminder',
    actor: { source: 'bot' },
    text: `Stakeholder update due: none for ${Math.round((now.getTime() - last.getTime()) / 60_000)} min (${i.severity} cadence)`,
    source: 'bot',
  });
  await enqueuePost(
    q,
    i,
    { type: 'update_reminder', cadenceMs: cadence, sinceMs: now.getTime() - last.getTime(), ...(who ? { who } : {}) },
    now,
  );
  // One reminder a period: the same timer waits for the next one.
  await q.query('UPDATE incident_timers SET fired_at = NULL, due_at = $2 WHERE id = $1', [
    t.id,
    new Date(t.dueAt.getTime() + cadence),
  ]);
  return true;
}

/** Post update: the thread, PagerDuty's status update and the open status page, at once. */
export async function postStakeholderUpdate(
  ctx: ActionCtx,
  incidentId: string,
  u: SlackUser,
  message: string,
): Promise<ActionResult> {
  const text = message.trim().slice(0, 2000);
  if (!text) return { ok: false, text: ['An empty update is not sent.'] };
  return ctx.store.tx(async (q) => {
    const i = await getIncident(q, incidentId, true);
    if (!i) return { ok: false, text: ['I have no incident ', code(incidentId), '.'] };
    const now = ctx.now();
    const actor = actorOf(u);
    const entry = `Stakeholder update: ${text}`;
    const dup = await q.query(
      `SELECT 1 FROM incident_timeline WHERE incident_id = $1 AND kind = 'status_update' AND text LIKE $2 AND at > $3 LIMIT 1`,
      [i.id, `${entry.replace(/[\\%_]/g, '\\$&')}%`, new Date(now.getTime() - 10_000)],
    );
    if (dup.length) return { ok: false, text: ['This update was just posted.'] };
    const reached = ['this thread'];
    if (ctx.config.PAGERDUTY_API_TOKEN) {
      await enqueuePdCall(
        q,
        {
          incidentId: i.id,
          call: { kind: 'status_update', message: text },
          fromEmail: u.email ?? ctx.config.PAGERDUTY_FROM_EMAIL,
          requestedBy: actor,
        },
        now,
      );
      reached.push('PagerDuty');
    }
    if (await statusPageOnUpdate(q, ctx, i, text, actor)) reached.push('the status page');
    await addTimeline(q, i.id, {
      at: now,
      kind: 'status_update',
      actor,
      text: `${entry} (to ${reached.join(', ')})`,
      source: 'slack',
    });
    await enqueuePost(q, i, { type: 'stakeholder_update', actor, message: text, reached }, now);
    await scheduleUpdateReminder(q, ctx, i);
    return { ok: true, text: [`Update posted to ${reached.join(', ')}.`] };
  });
}
