// What each incident timer does when it fires: the response-target reminder, the engineering
// lead's escalation, the post-mortem reminders. Runs in the transaction that claimed the timer.
import { formatDuration } from '../duration.js';
import { type ContactRole, contactsFor } from './contacts.js';
import type { WorkflowCtx } from './ctx.js';
import { specialistRoles } from './match.js';
import { enqueuePost } from './outbox.js';
import { getPostmortem, isComplete, utc } from './postmortem.js';
import { fireCommanderNudge } from './roles.js';
import { fireUpdateReminder } from './stakeholder-updates.js';
import { getIncident, type Q } from './store.js';
import { addTimeline } from './timeline.js';
import type { DueTimer } from './timers.js';

/** Fires one claimed timer; true when it posted something. */
export async function fireTimer(q: Q, ctx: WorkflowCtx, t: DueTimer): Promise<boolean> {
  const i = await getIncident(q, t.incidentId, true);
  if (!i) return false;
  const now = ctx.now();
  switch (t.kind) {
    case 'ack_reminder': {
      if (i.pdStatus !== 'triggered') return false;
      const targetMs = ctx.config.responseTargets[i.severity];
      await addTimeline(q, i.id, {
        at: now,
        kind: 'reminder',
        actor: { source: 'bot' },
        text: `Not acknowledged within the ${i.severity} response target (${formatDuration(targetMs)}); on-call reminded`,
        source: 'bot',
      });
      return enqueuePost(q, i, { type: 'ack_reminder', targetMs, onCall: [] }, now);
    }
    case 'lead_escalation': {
      if (i.pdStatus === 'resolved' || (i.severity !== 'P1' && i.severity !== 'P2')) return false;
      const roles: ContactRole[] = ['engineering_lead', ...specialistRoles(i.title, i.serviceName)];
      const contacts = contactsFor(ctx.config.ESCALATION_CONTACTS, roles);
      const afterMs = ctx.config.INCIDENT_LEAD_AFTER;
      await addTimeline(q, i.id, {
        at: now,
        kind: 'escalation_contact',
        actor: { source: 'bot' },
        text: `${i.severity} unresolved after ${formatDuration(afterMs)}: ${contacts.length ? contacts.map((c) => c.role.replace('_', ' ')).join(', ') : 'no engineering lead configured'} brought in`,
        source: 'bot',
      });
      return enqueuePost(q, i, { type: 'lead_escalation', afterMs, contacts }, now);
    }
    case 'update_reminder':
      return fireUpdateReminder(q, ctx, i, t);
    case 'commander_nudge':
      return fireCommanderNudge(q, ctx, i);
    case 'postmortem_reminder_1':
    case 'postmortem_reminder_2': {
      const pm = await getPostmortem(q, i.id);
      if (!pm || isComplete(pm)) return false;
      await addTimeline(q, i.id, {
        at: now,
        kind: 'reminder',
        actor: { source: 'bot' },
        text: `Post-mortem reminder: due ${utc(pm.dueAt)}`,
        source: 'bot',
      });
      return enqueuePost(
        q,
        i,
        { type: 'postmortem_reminder', dueAt: pm.dueAt.toISOString(), overdue: now.getTime() >= pm.dueAt.getTime() },
        now,
      );
    }
  }
}
