// Incident roles (issue 12): who leads (commander) and who talks to stakeholders (comms). Taking
// or assigning a role is recorded in the timeline, announced in the thread, shown on the root;
// a hand-over tells the previous holder, and the new commander gets a DM with the incident's state.
// A P1/P2 without a commander after COMMANDER_NUDGE gets one reminder in its thread.
import { bold, channel, code, type RichText, user } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { UserError } from '../errors.js';
import type { Sql } from '../store/sql.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import type { SlackUser } from './person.js';
import { getIncident, type Q, setRole } from './store.js';
import { addTimeline } from './timeline.js';
import { scheduleTimer } from './timers.js';
import { type Actor, type Incident, PHASE_LABEL, phaseOf, type Role } from './types.js';

export const ROLE_NAME: Record<Role, string> = { commander: 'commander', comms: 'comms lead' };

/** The refusal of a commander's act to anyone else: who leads, and that nothing changed. */
export function notCommander(commanderSlackId: string, what: string): RichText {
  return [
    `Sorry, you are not allowed to ${what}: that is for the incident commander (`,
    user(commanderSlackId),
    ') only, and you do not have permission. Ask them, or press *Take command* to take over. Nothing was changed.',
  ];
}

interface RoleCtx extends WorkflowCtx {
  store: Sql;
}

interface RoleResult {
  ok: boolean;
  text: RichText;
}

const actorOf = (u: SlackUser): Actor => ({ source: 'slack', slackId: u.slackId, ...(u.name ? { name: u.name } : {}) });

const nameOf = (a: Actor): string => a.name ?? a.slackId ?? 'someone';

/** `by` makes `to` the incident's `role` holder (themselves for Take command). */
export async function assignRole(
  ctx: RoleCtx,
  incidentId: string,
  by: SlackUser,
  role: Role,
  to: SlackUser,
): Promise<RoleResult> {
  return ctx.store.tx(async (q) => {
    const i = await getIncident(q, incidentId, true);
    if (!i) throw new UserError(['I have no incident ', code(incidentId.slice(0, 64)), '.']);
    if (i.pdStatus === 'resolved' && role === 'commander' && !i.commander)
      return { ok: false, text: ['This incident is resolved; there is nothing left to command.'] };
    const previous = i[role];
    if (previous?.slackId === to.slackId)
      return {
        ok: false,
        text:
          to.slackId === by.slackId
            ? [`You are already the ${ROLE_NAME[role]}.`]
            : [user(to.slackId), ` is already the ${ROLE_NAME[role]}.`],
      };
    const now = ctx.now();
    const actor = actorOf(by);
    const holder = actorOf(to);
    await setRole(q, i.id, role, holder, now);
    const self = by.slackId === to.slackId;
    await addTimeline(q, i.id, {
      at: now,
      kind: 'role',
      actor,
      text: previous
        ? `${ROLE_NAME[role][0]?.toUpperCase()}${ROLE_NAME[role].slice(1)} handed over from ${nameOf(previous)} to ${nameOf(holder)}${self ? '' : ` by ${nameOf(actor)}`}`
        : `${nameOf(holder)} is ${ROLE_NAME[role]}${self ? ' (Take command)' : ` (assigned by ${nameOf(actor)})`}`,
      source: 'slack',
      detail: { kind: 'role', role, to: holder, by: actor, ...(previous ? { from: previous } : {}) },
    });
    await enqueuePost(q, i, { type: 'role', role, to: holder, by: actor, ...(previous ? { previous } : {}) }, now);
    await enqueuePost(q, i, { type: 'update_root' }, now);
    if (previous?.slackId)
      await enqueuePost(
        q,
        i,
        {
          type: 'role_dm',
          to: previous.slackId,
          text: [
            'You are no longer the ',
            ROLE_NAME[role],
            ' of ',
            bold(`${i.severity} · ${i.title}`),
            ': ',
            user(to.slackId),
            ' took over.',
          ],
        },
        now,
      );
    if (role === 'commander') await enqueuePost(q, i, commanderBrief(i, to.slackId), now);
    return {
      ok: true,
      text: self ? [`You are the ${ROLE_NAME[role]} now.`] : [user(to.slackId), ` is the ${ROLE_NAME[role]} now.`],
    };
  });
}

/** The new commander's DM: the incident's state and where its controls are. */
function commanderBrief(i: Incident, to: string) {
  const phase = PHASE_LABEL[phaseOf(i)];
  const text: RichText = [
    'You are the commander of ',
    bold(`${i.severity} · ${i.title}`),
    ` (${i.serviceName ?? 'unknown service'}): ${phase}`,
    ...(i.acknowledgedBy?.slackId ? [', acknowledged by ', user(i.acknowledgedBy.slackId)] : []),
    ...(i.comms?.slackId ? ['; comms lead ', user(i.comms.slackId)] : ['; no comms lead yet']),
    '. Its controls (Acknowledge, Post update, Page, Mitigated, Resolve) are on its post in ',
    ...(i.channel ? [channel(i.channel)] : ['the incidents channel']),
    '.',
  ];
  return { type: 'role_dm' as const, to, text };
}

/** For P1/P2: one reminder after COMMANDER_NUDGE if nobody has taken command. */
export async function scheduleCommanderNudge(q: Q, ctx: WorkflowCtx, i: Incident, reschedule: boolean): Promise<void> {
  if ((i.severity !== 'P1' && i.severity !== 'P2') || i.pdStatus === 'resolved') return;
  await scheduleTimer(
    q,
    i.id,
    'commander_nudge',
    new Date(i.receivedAt.getTime() + ctx.config.COMMANDER_NUDGE),
    reschedule,
  );
}

/** The nudge fired: nothing when someone leads (or it is over, or no longer P1/P2). */
export async function fireCommanderNudge(q: Q, ctx: WorkflowCtx, i: Incident): Promise<boolean> {
  if (i.commander || i.pdStatus === 'resolved' || (i.severity !== 'P1' && i.severity !== 'P2')) return false;
  const now = ctx.now();
  const afterMs = ctx.config.COMMANDER_NUDGE;
  await addTimeline(q, i.id, {
    at: now,
    kind: 'reminder',
    actor: { source: 'bot' },
    text: `No commander after ${formatDuration(afterMs)}; on-call reminded to take command`,
    source: 'bot',
  });
  return enqueuePost(q, i, { type: 'commander_nudge', afterMs, onCall: [] }, now);
}
