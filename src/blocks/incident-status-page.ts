// The status page, stakeholder update and verification posts of an incident thread, and their
// modals: Status page (public name, status, message, each component's impact), Post update, and
// the confirmation Resolve asks for while the latest verification is still critical.
import type { ActionsBlock, KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { PlatformComponent } from '../config.js';
import { formatDuration } from '../duration.js';
import type { Actor, Incident, Mention, PostIntent, StatusIntent } from '../incidents/types.js';
import {
  COMPONENT_LABEL,
  SP_COMPONENT_LABEL,
  SP_COMPONENT_STATUSES,
  SP_INCIDENT_STATUSES,
  type SpComponentStatus,
  type SpIncidentStatus,
} from '../statuspage/templates.js';
import { context, esc, type Message, section } from './message.js';
import {
  INCIDENT_POST_UPDATE,
  INCIDENT_STATUS_PAGE,
  POST_UPDATE_VIEW,
  RESOLVE_CONFIRM_VIEW,
  SP_BODY,
  SP_COMPONENT_PREFIX,
  SP_NAME,
  SP_STATUS,
  STATUS_PAGE_VIEW,
  UPDATE_MESSAGE,
} from './status-ids.js';

// As in incident.ts (which imports this module, so it cannot be imported back).
function who(a: Actor | undefined): string {
  if (a?.slackId) return `<@${a.slackId}>`;
  if (a?.name) return esc(a.name);
  return a?.source === 'bot' ? 'dmp-bot' : 'PagerDuty';
}

function mention(m: Mention): string {
  if (m.slackId?.startsWith('S')) return `<!subteam^${m.slackId}>`;
  if (m.slackId) return `<@${m.slackId}>`;
  return esc(m.name);
}

const STATUS_INTENTS = new Set<string>(['verified', 'status_page', 'stakeholder_update', 'update_reminder']);

function isStatusIntent(intent: PostIntent): intent is StatusIntent {
  return STATUS_INTENTS.has(intent.type);
}

function button(text: string, actionId: string, value: string) {
  return {
    type: 'button' as const,
    text: { type: 'plain_text' as const, text, emoji: true },
    action_id: actionId,
    value,
  };
}

/** The root post's two controls of this feature (Status page only when a page is configured). */
export function statusControls(i: Incident, opts: { statusPage?: boolean }): ActionsBlock['elements'] {
  return [
    ...(opts.statusPage ? [button('Status page', INCIDENT_STATUS_PAGE, i.id)] : []),
    button('Post update', INCIDENT_POST_UPDATE, i.id),
  ];
}

/** `Dead workers: critical → ok` */
export function changeLine(c: { check: string; before: string; after: string }): string {
  return `${c.check}: ${c.before} → ${c.after}`;
}

/** The thread reply for this feature's intents; undefined for every other intent. */
export function statusReply(i: Incident, intent: PostIntent): Message | undefined {
  if (!isStatusIntent(intent)) return undefined;
  switch (intent.type) {
    case 'verified': {
      const after = intent.trigger === 'mitigated' ? 'Mitigated' : (intent.label ?? 'the remediation');
      const head = `Verification after ${esc(after)} (${esc(intent.procedureTitle)} run again): ${
        intent.changes.length ? intent.changes.map((c) => esc(changeLine(c))).join('; ') : 'no check changed'
      }.`;
      const still = intent.wrong.length
        ? `Still wrong: ${intent.wrong.map((w) => `${esc(w.check)} (${w.status}): ${esc(w.summary)}`).join(' · ')}`
        : 'Every check is ok now.';
      const verdict = intent.critical
        ? ':x: Still critical: do not resolve yet.'
        : ':white_check_mark: Nothing critical: the mitigation is verified.';
      // The reply starts with the word "Verification" (the contract), the verdict's emoji after.
      const text = `${head}\n${still}\n${verdict}`;
      return { text, blocks: [section(text)] };
    }
    case 'status_page': {
      const name = intent.shortlink ? `<${intent.shortlink}|${esc(intent.name)}>` : esc(intent.name);
      const text = `:satellite_antenna: Status page ${intent.event === 'opened' ? 'incident opened' : 'updated'}: ${name} — *${intent.status}*${intent.body ? `: ${esc(intent.body)}` : ''}`;
      const blocks: KnownBlock[] = [section(text)];
      if (intent.status !== 'resolved')
        blocks.push({ type: 'actions', elements: [button('Correct status page', INCIDENT_STATUS_PAGE, i.id)] });
      return { text, blocks };
    }
    case 'stakeholder_update': {
      const text = `:loudspeaker: Update from ${who(intent.actor)}: ${esc(intent.message)}\n_Sent to ${esc(intent.reached.join(', '))}._`;
      return { text, blocks: [section(text)] };
    }
    case 'update_reminder': {
      const person = intent.who ? `${mention(intent.who)}: ` : '';
      const text = `:loudspeaker: ${person}no stakeholder update for ${formatDuration(intent.sinceMs)} — this ${i.severity} incident gets an update every ${formatDuration(intent.cadenceMs)}. Press *Post update* on the first message of this thread.`;
      return { text, blocks: [section(text)] };
    }
    default:
      return undefined;
  }
}

const opt = (text: string, value: string): PlainTextOption => ({
  text: { type: 'plain_text', text: text.slice(0, 75), emoji: true },
  value,
});

export interface StatusPageDraft {
  name: string;
  status: SpIncidentStatus;
  body: string;
  impact: Partial<Record<PlatformComponent, SpComponentStatus>>;
}

/** Status page modal: pre-filled from the incident (or the open page, for a correction). */
export function statusPageModal(
  i: Incident,
  draft: StatusPageDraft,
  components: PlatformComponent[],
  opts: { correction: boolean },
): ModalView {
  const statuses = SP_INCIDENT_STATUSES.map((s) => opt(s, s));
  const impacts = SP_COMPONENT_STATUSES.map((s) => opt(SP_COMPONENT_LABEL[s], s));
  const blocks: KnownBlock[] = [
    context(`Public text: customers read this. Internal title: ${esc(i.title)}`),
    {
      type: 'input',
      block_id: SP_NAME,
      label: { type: 'plain_text', text: 'Public name' },
      element: { type: 'plain_text_input', action_id: 'value', initial_value: draft.name, max_length: 200 },
    },
    {
      type: 'input',
      block_id: SP_STATUS,
      label: { type: 'plain_text', text: 'Status' },
      element: {
        type: 'static_select',
        action_id: 'value',
        options: statuses,
        initial_option: statuses.find((s) => s.value === draft.status) ?? statuses[0],
      },
    },
    {
      type: 'input',
      block_id: SP_BODY,
      label: { type: 'plain_text', text: 'Message' },
      element: {
        type: 'plain_text_input',
        action_id: 'value',
        multiline: true,
        max_length: 2000,
        ...(draft.body ? { initial_value: draft.body } : {}),
      },
    },
    ...components.map(
      (c): KnownBlock => ({
        type: 'input',
        block_id: `${SP_COMPONENT_PREFIX}${c}`,
        label: { type: 'plain_text', text: `${COMPONENT_LABEL[c]} impact` },
        element: {
          type: 'static_select',
          action_id: 'value',
          options: impacts,
          initial_option: impacts.find((o) => o.value === (draft.impact[c] ?? 'operational')) ?? impacts[0],
        },
      }),
    ),
  ];
  return {
    type: 'modal',
    callback_id: STATUS_PAGE_VIEW,
    private_metadata: i.id,
    title: { type: 'plain_text', text: opts.correction ? 'Correct status page' : 'Status page' },
    submit: { type: 'plain_text', text: opts.correction ? 'Post correction' : 'Publish' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

export function postUpdateModal(i: Incident, draft: string, reaches: string[]): ModalView {
  return {
    type: 'modal',
    callback_id: POST_UPDATE_VIEW,
    private_metadata: i.id,
    title: { type: 'plain_text', text: 'Post update' },
    submit: { type: 'plain_text', text: 'Post' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      context(`Goes to ${esc(reaches.join(', '))}.`),
      {
        type: 'input',
        block_id: UPDATE_MESSAGE,
        label: { type: 'plain_text', text: 'Update' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: 2000,
          initial_value: draft,
        },
      },
    ],
  };
}

export function resolveConfirmModal(i: Incident, reason: string): ModalView {
  return {
    type: 'modal',
    callback_id: RESOLVE_CONFIRM_VIEW,
    private_metadata: i.id,
    title: { type: 'plain_text', text: 'Resolve anyway?' },
    submit: { type: 'plain_text', text: 'Confirm' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [section(`:warning: ${esc(reason)}\nResolve *${esc(i.title)}* anyway?`)],
  };
}
