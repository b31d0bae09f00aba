// The incident thread in Block Kit: the root message (rendered afresh at every change, so it
// always shows the incident as it stands) and the replies the workflow posts under it.
import type { ActionsBlock, Button, KnownBlock, PlainTextOption } from '@slack/types';
import type { Severity } from '../config.js';
import type { RichText } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { ROLE_LABEL } from '../incidents/contacts.js';
import { diagnosisProcedures } from '../incidents/match.js';
import type { RootOnCall } from '../incidents/oncall.js';
import { utc } from '../incidents/postmortem.js';
import { type Actor, type Incident, type Mention, PHASE_LABEL, type PostIntent, phaseOf } from '../incidents/types.js';
import {
  INCIDENT_ACK,
  INCIDENT_ADD_FOLLOWUP,
  INCIDENT_BLOCK_PREFIX,
  INCIDENT_DIAGNOSE,
  INCIDENT_ESCALATE,
  INCIDENT_MITIGATE,
  INCIDENT_MORE,
  INCIDENT_PAGE,
  INCIDENT_REASSIGN,
  INCIDENT_RESOLVE,
  INCIDENT_SEVERITY,
  INCIDENT_TAKE_COMMAND,
  optionValue,
  POSTMORTEM_FILL,
} from './incident-ids.js';
import { statusReply } from './incident-status-page.js';
import { fitBlocks } from './limits.js';
import { context, esc, header, type Message, section } from './message.js';
import { renderLinked, renderRich } from './mrkdwn.js';
import { INCIDENT_POST_UPDATE, INCIDENT_STATUS_PAGE } from './status-ids.js';

export const SEVERITY_EMOJI: Record<Severity, string> = {
  P1: ':red_circle:',
  P2: ':large_orange_circle:',
  P3: ':large_yellow_circle:',
  P4: ':white_circle:',
};

export const PHASE_EMOJI = {
  triggered: ':rotating_light:',
  acknowledged: ':eyes:',
  mitigated: ':adhesive_bandage:',
  resolved: ':white_check_mark:',
} as const;

/** RichText rendered; a string escaped, keeping the links and mentions it carries (posts queued before RichText). */
function legacyOrRich(t: string | RichText): string {
  return typeof t === 'string' ? renderLinked(t) : renderRich(t);
}

export function who(a: Actor | undefined): string {
  if (a?.slackId) return `<@${a.slackId}>`;
  if (a?.name) return esc(a.name);
  return a?.source === 'bot' ? 'dmp-bot' : 'PagerDuty';
}

export function mention(m: Mention): string {
  if (m.slackId?.startsWith('S')) return `<!subteam^${m.slackId}>`;
  if (m.slackId) return `<@${m.slackId}>`;
  return esc(m.name);
}

function slackDate(d: Date, format = '{date_short_pretty} {time}'): string {
  return `<!date^${Math.floor(d.getTime() / 1000)}^${format}|${utc(d)}>`;
}

export function owner(i: Incident): string {
  if (i.pdStatus === 'resolved') return i.resolvedBy ? who(i.resolvedBy) : '—';
  if (i.pdStatus === 'acknowledged' && i.acknowledgedBy) return who(i.acknowledgedBy);
  return i.assignees.length ? i.assignees.map((a) => esc(a.summary)).join(', ') : 'unassigned';
}

function severitySource(i: Incident): string {
  if (i.priority) return `PagerDuty priority ${esc(i.priority)}`;
  if (i.declaredBy) return 'declared';
  return i.urgency ? `${esc(i.urgency)} urgency` : 'default';
}

function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Button {
  return {
    type: 'button',
    text: { type: 'plain_text', text, emoji: true },
    action_id: actionId,
    value,
    ...(style ? { style } : {}),
  };
}

function option(text: string, value: string): PlainTextOption {
  return { text: { type: 'plain_text', text: text.slice(0, 75), emoji: true }, value };
}

function diagnosisSelect(i: Incident) {
  const procs = diagnosisProcedures().slice(0, 100);
  const options = procs.map((p) => option(p.title, optionValue(i.id, p.id)));
  const initial = options.find((o) => o.value === optionValue(i.id, i.procedureId ?? ''));
  return {
    type: 'static_select' as const,
    action_id: INCIDENT_DIAGNOSE,
    placeholder: { type: 'plain_text' as const, text: 'Run diagnosis', emoji: true },
    options,
    ...(initial ? { initial_option: initial } : {}),
  };
}

/**
 * The root message's controls, in one list so other features add theirs here: `button` ones are
 * shown as buttons (the few that matter: Acknowledge, Resolve), `more` ones behind the "More…"
 * overflow, whose option values are `<incident>|<action_id>` so each keeps its handler.
 */
/** What the root's controls depend on beside the incident: whether a status page is configured. */
export interface RootOptions {
  statusPage?: boolean;
  /** Follow-ups go to GitHub (GITHUB_TOKEN and FOLLOWUP_REPO). */
  followups?: boolean;
  /** The on-call of the incident's service's escalation policy; undefined: not shown (no PagerDuty, no service). */
  onCall?: RootOnCall;
}

export interface RootControl {
  label: string;
  actionId: string;
  place: 'button' | 'more';
  style?: 'primary' | 'danger';
  shown(i: Incident, opts: RootOptions): boolean;
}

const open = (i: Incident) => i.pdStatus !== 'resolved';

export const ROOT_CONTROLS: RootControl[] = [
  {
    label: 'Acknowledge',
    actionId: INCIDENT_ACK,
    place: 'button',
    style: 'primary',
    shown: (i) => i.pdStatus === 'triggered',
  },
  // Issue 13's controls open modals of their own, so they stay buttons.
  { label: 'Post update', actionId: INCIDENT_POST_UPDATE, place: 'button', shown: open },
  {
    label: 'Status page',
    actionId: INCIDENT_STATUS_PAGE,
    place: 'button',
    shown: (i, opts) => open(i) && opts.statusPage === true,
  },
  { label: 'Resolve', actionId: INCIDENT_RESOLVE, place: 'button', style: 'danger', shown: open },
  {
    label: 'Fill in post-mortem',
    actionId: POSTMORTEM_FILL,
    place: 'button',
    style: 'primary',
    shown: (i) => !open(i),
  },
  { label: 'Escalate', actionId: INCIDENT_ESCALATE, place: 'more', shown: open },
  { label: 'Mitigated', actionId: INCIDENT_MITIGATE, place: 'button', shown: (i) => open(i) && !i.mitigatedAt },
  // Issue 12: stays after the first press, for hand-overs.
  { label: 'Take command', actionId: INCIDENT_TAKE_COMMAND, place: 'button', shown: open },
  { label: 'Page', actionId: INCIDENT_PAGE, place: 'button', shown: open },
  // Issue 13: before and after resolution alike (a modal of its own, so a button).
  { label: 'Add follow-up', actionId: INCIDENT_ADD_FOLLOWUP, place: 'button', shown: (_i, o) => o.followups === true },
];

/** Two rows: the buttons and "More…"; then "Run diagnosis…", severity and reassignment as selects. */
function rootControls(i: Incident, opts: RootOptions): ActionsBlock[] {
  const shown = ROOT_CONTROLS.filter((c) => c.shown(i, opts));
  const first: ActionsBlock['elements'] = shown
    .filter((c) => c.place === 'button')
    .map((c) => button(c.label, c.actionId, i.id, c.style));
  const more = shown.filter((c) => c.place === 'more').slice(0, 5);
  if (more.length)
    first.push({
      type: 'overflow',
      action_id: INCIDENT_MORE,
      options: more.map((c) => option(c.label, optionValue(i.id, c.actionId))),
    });
  const selects: ActionsBlock['elements'] = [diagnosisSelect(i)];
  if (open(i)) {
    selects.push({
      type: 'static_select',
      action_id: INCIDENT_SEVERITY,
      placeholder: { type: 'plain_text', text: 'Change severity', emoji: true },
      options: (['P1', 'P2', 'P3', 'P4'] as const).map((s) => option(s, optionValue(i.id, s))),
      initial_option: option(i.severity, optionValue(i.id, i.severity)),
    });
    selects.push({
      type: 'users_select',
      action_id: INCIDENT_REASSIGN,
      placeholder: { type: 'plain_text', text: 'Reassign to…', emoji: true },
    });
  }
  return [
    { type: 'actions', block_id: `${INCIDENT_BLOCK_PREFIX}${i.id}`, elements: first },
    { type: 'actions', block_id: `${INCIDENT_BLOCK_PREFIX}${i.id}:more`, elements: selects },
  ];
}

/** Who is on call at each level of the service's policy now, and until when (three levels at most). */
function onCallField(o: RootOnCall): string {
  if (!o.known) return 'on-call unknown (PagerDuty did not answer)';
  const levels = o.policy.levels.filter((l) => l.people.length);
  if (!levels.length) return `nobody on call in ${esc(o.policy.name)}`;
  const shown = levels.slice(0, 3).map((l) => {
    const people = l.people
      .slice(0, 3)
      .map(
        (u) =>
          `${u.slackId ? `<@${u.slackId}>` : esc(u.name)}${u.until ? ` until ${slackDate(u.until, '{time}')}` : ''}`,
      )
      .join(', ');
    return `L${l.level} ${people}${l.people.length > 3 ? ` +${l.people.length - 3}` : ''}`;
  });
  return `${shown.join(' · ')}${levels.length > 3 ? ' · …' : ''} (${esc(o.policy.name)})`;
}

function incidentTitle(i: Incident): string {
  return `${i.severity} · ${i.title}`;
}

/** The one top-level post of an incident. */
export function incidentRoot(i: Incident, now: Date, opts: RootOptions = {}): Message {
  const phase = phaseOf(i);
  const ageMs = (i.resolvedAt ?? now).getTime() - i.triggeredAt.getTime();
  const fields = [
    `*Service*\n${esc(i.serviceName ?? 'unknown')}`,
    `*Severity*\n${SEVERITY_EMOJI[i.severity]} ${i.severity} (${severitySource(i)})`,
    `*Status*\n${PHASE_EMOJI[phase]} ${PHASE_LABEL[phase]}`,
    `*Age*\n${formatDuration(ageMs)}${i.pdStatus === 'resolved' ? ' (resolved)' : ''} · since ${slackDate(i.triggeredAt)}`,
    `*Owner*\n${owner(i)}`,
    `*Commander*\n${i.commander ? who(i.commander) : 'nobody yet: press *Take command*'}`,
    `*Comms*\n${i.comms ? who(i.comms) : 'nobody yet'}`,
    `*PagerDuty*\n${i.htmlUrl ? `<${i.htmlUrl}|${i.number ? `#${i.number}` : esc(i.id)}>` : esc(i.id)}`,
    ...(opts.onCall && open(i) ? [`*On call*\n${onCallField(opts.onCall)}`] : []),
  ];
  const blocks: KnownBlock[] = [
    header(`${PHASE_EMOJI[phase]} ${incidentTitle(i)}`),
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn' as const, text })) },
  ];
  const notes: string[] = [];
  if (i.acknowledgedAt && i.acknowledgedBy)
    notes.push(
      `Acknowledged by ${who(i.acknowledgedBy)} after ${formatDuration(i.acknowledgedAt.getTime() - i.triggeredAt.getTime())}`,
    );
  if (i.mitigatedAt)
    notes.push(
      `Mitigated by ${who(i.mitigatedBy)} after ${formatDuration(i.mitigatedAt.getTime() - i.triggeredAt.getTime())}`,
    );
  if (i.resolvedAt)
    notes.push(
      `Resolved by ${who(i.resolvedBy)} after ${formatDuration(i.resolvedAt.getTime() - i.triggeredAt.getTime())}`,
    );
  if (i.escalationLevel > 1) notes.push(`Escalation level ${i.escalationLevel}`);
  if (notes.length) blocks.push(section(notes.join(' · ')));
  blocks.push(...rootControls(i, opts));
  blocks.push(
    context(`Incident ${esc(i.id)} · every update goes in this thread · updated ${slackDate(now, '{time_secs}')}`),
  );
  return {
    text: `${PHASE_EMOJI[phase]} [${i.severity}] ${esc(i.title)} — ${esc(i.serviceName ?? 'unknown service')} — ${PHASE_LABEL[phase]}`,
    blocks: fitBlocks(blocks),
  };
}

function contactsLine(contacts: Array<{ role: string; mention: Mention }>): string {
  return contacts.map((c) => `${mention(c.mention)} (${ROLE_LABEL[c.role] ?? esc(c.role)})`).join(', ');
}

/** The text of one thread reply. */
export function replyText(i: Incident, intent: PostIntent, opts: { statusPageUrl?: string } = {}): string {
  switch (intent.type) {
    case 'investigating':
      // Contacts inside it come only from rows queued before they got a reply of their own.
      return `Investigating: ${esc(intent.description)}${intent.contacts?.length ? `\n:busts_in_silhouette: Bringing in ${contactsLine(intent.contacts)}.` : ''}`;
    case 'bringing_in':
      return `:busts_in_silhouette: Bringing in ${contactsLine(intent.contacts ?? [])}.`;
    case 'change': {
      const after = intent.afterMs === undefined ? '' : ` after ${formatDuration(intent.afterMs)}`;
      const detail = intent.detail ? legacyOrRich(intent.detail) : '';
      switch (intent.change) {
        case 'acknowledged':
          return `:eyes: Acknowledged by ${who(intent.actor)}${after}.`;
        case 'unacknowledged':
          return ':rotating_light: The acknowledgement timed out in PagerDuty: the incident is triggered again.';
        case 'resolved':
          return `:white_check_mark: Resolved by ${who(intent.actor)}${after}.${opts.statusPageUrl ? ` Update the <${opts.statusPageUrl}|status page>.` : ''}`;
        case 'reopened':
          return `:rotating_light: Reopened by ${who(intent.actor)}.`;
        case 'mitigated':
          return `:adhesive_bandage: Mitigated by ${who(intent.actor)}${after}: a fix or workaround is in place. Verify it, tell affected users${opts.statusPageUrl ? ` (<${opts.statusPageUrl}|status page>)` : ''}, then Resolve.`;
        case 'escalated':
          return `:arrow_double_up: Escalated by ${who(intent.actor)}${detail ? ` ${detail}` : ''}.`;
        case 'reassigned':
          return `:busts_in_silhouette: Reassigned to ${detail || 'someone else'} by ${who(intent.actor)}.`;
        case 'delegated':
          return `:busts_in_silhouette: Delegated to ${detail || 'another escalation policy'} by ${who(intent.actor)}.`;
        case 'priority':
          return `:label: Priority changed by ${who(intent.actor)}: ${detail}.`;
        case 'status_update':
          return `:loudspeaker: ${detail} (${who(intent.actor)})`;
        case 'responder':
          return `:busts_in_silhouette: ${detail} (${who(intent.actor)})`;
      }
      return detail;
    }
    case 'note':
      return `:memo: Note from ${who(intent.actor)} in PagerDuty: ${renderLinked(intent.content)}`;
    case 'ack_reminder': {
      const people = intent.onCall.length ? intent.onCall.map(mention).join(' ') : 'On-call';
      return `:alarm_clock: ${people}: this ${i.severity} incident is not acknowledged after ${formatDuration(intent.targetMs)}, past its response target. Press *Acknowledge* on the first message of this thread.`;
    }
    case 'commander_nudge': {
      const people = intent.onCall.length ? intent.onCall.map(mention).join(' ') : 'On-call';
      return `:military_helmet: ${people}: this ${i.severity} incident has no commander after ${formatDuration(intent.afterMs)}. Press *Take command* on the first message of this thread to lead it.`;
    }
    case 'role': {
      const name = intent.role === 'commander' ? 'commander' : 'comms lead';
      const by = intent.by.slackId && intent.by.slackId !== intent.to.slackId ? ` (assigned by ${who(intent.by)})` : '';
      return intent.previous
        ? `:military_helmet: Hand-over: ${who(intent.to)} is now the ${name}, taking over from ${who(intent.previous)}${by}.`
        : `:military_helmet: ${who(intent.to)} is the ${name}${intent.role === 'commander' && !by ? ' (took command)' : ''}${by}.`;
    }
    case 'lead_escalation': {
      const lead = intent.contacts.length
        ? `${contactsLine(intent.contacts)}: please join`
        : 'No engineering lead is configured in ESCALATION_CONTACTS';
      return `:sos: ${lead} — this ${i.severity} incident is unresolved after ${formatDuration(intent.afterMs)}.`;
    }
    case 'postmortem_reminder':
      return `:spiral_note_pad: ${intent.overdue ? 'The post-mortem is overdue' : 'Reminder: the post-mortem is due'} ${slackDate(new Date(intent.dueAt))}. Press *Fill in* on the post-mortem above (root cause, action items, learnings).`;
    case 'warning':
      return `:warning: ${legacyOrRich(intent.text)}`;
    case 'followups_filed':
      return `:ballot_box_with_check: Follow-ups filed in GitHub:\n${intent.issues
        .map((f) => {
          const extra = [
            f.owner ? `owner <@${f.owner}>` : '',
            f.dueOn ? `due ${f.dueOn}` : '',
            f.addedBy ? `added by <@${f.addedBy}>` : '',
          ].filter(Boolean);
          return `• <${f.url}|#${f.number}> ${esc(f.title)}${extra.length ? ` (${extra.join(', ')})` : ''}`;
        })
        .join('\n')}`;
    case 'storm_opened': {
      const n = intent.members ?? 0;
      // Contacts inside it come only from rows queued before they got a reply of their own.
      const contacts = intent.contacts?.length
        ? `\n:busts_in_silhouette: Bringing in ${contactsLine(intent.contacts)}.`
        : '';
      return `Investigating: alert storm — ${n} incident${n === 1 ? '' : 's'} arrived together and are listed above, each with its own *Acknowledge*. Everything about any of them goes in this thread, named by incident; to :pushpin: a note to one of them, name its number (#12).${contacts}`;
    }
    default:
      return '';
  }
}

export function incidentReply(i: Incident, intent: PostIntent, opts: { statusPageUrl?: string } = {}): Message {
  const own = statusReply(i, intent);
  if (own) return own;
  const text = replyText(i, intent, opts);
  return { text, blocks: [section(text)] };
}
