// A storm digest in Block Kit: one top-level message naming every incident it holds, each on a
// line of its own with its own control (Acknowledge while triggered), and the label that tells
// the incidents' replies apart in the digest's shared thread.
import type { Button, KnownBlock } from '@slack/types';
import type { Incident } from '../incidents/types.js';
import { PHASE_LABEL, phaseOf } from '../incidents/types.js';
import { owner, PHASE_EMOJI, SEVERITY_EMOJI } from './incident.js';
import { INCIDENT_ACK, INCIDENT_BLOCK_PREFIX, INCIDENT_RESOLVE, POSTMORTEM_FILL } from './incident-ids.js';
import { cutText, MAX_BLOCKS, MAX_MESSAGE_CHARS } from './limits.js';
import { context, esc, header, type Message, section } from './message.js';
import { escInert } from './mrkdwn.js';

/** Blocks a digest spends besides its incidents: header, explanation, footer. */
const FRAME_BLOCKS = 3;
/** Most incidents one digest message can name, each in two blocks: its line and its control. */
const MAX_DIGEST_INCIDENTS = Math.floor((MAX_BLOCKS - FRAME_BLOCKS) / 2);

const TITLE_CHARS = 150;

function shortTitle(title: string, max = TITLE_CHARS): string {
  return title.length > max ? `${title.slice(0, max - 1)}…` : title;
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

/** The one control an incident has in the digest: the next step of its life. */
function control(i: Incident): Button {
  if (i.pdStatus === 'triggered') return button('Acknowledge', INCIDENT_ACK, i.id, 'primary');
  if (i.pdStatus === 'resolved') return button('Fill in post-mortem', POSTMORTEM_FILL, i.id);
  return button('Resolve', INCIDENT_RESOLVE, i.id, 'danger');
}

/** An incident's line and, in an actions row of its own (as on a root message), its control. */
function lines(i: Incident): KnownBlock[] {
  const phase = phaseOf(i);
  const link = i.htmlUrl ? `<${i.htmlUrl}|${i.number ? `#${i.number}` : esc(i.id)}>` : esc(i.id);
  const text = [
    `${SEVERITY_EMOJI[i.severity]} *${escInert(shortTitle(i.title))}*`,
    `${i.severity} · ${esc(i.serviceName ?? 'unknown service')} · ${PHASE_EMOJI[phase]} ${PHASE_LABEL[phase]} · ${owner(i)} · ${link} · \`${esc(i.id)}\``,
  ].join('\n');
  return [section(text), { type: 'actions', block_id: `${INCIDENT_BLOCK_PREFIX}${i.id}`, elements: [control(i)] }];
}

/**
 * The digest message: every incident's title, severity, service, status and its own control.
 * The batch size keeps it within Slack's 50 blocks, so no incident is ever cut ("…and N more").
 */
export function digestMessage(digestId: number, members: Incident[], now: Date): Message {
  const listed = members.slice(0, MAX_DIGEST_INCIDENTS);
  const open = listed.filter((i) => i.pdStatus === 'triggered').length;
  const blocks: KnownBlock[] = [
    header(
      `:rotating_light: Alert storm: ${listed.length} incident${listed.length === 1 ? '' : 's'}${open ? `, ${open} not acknowledged` : ''}`,
    ),
    section(
      'Too many pages at once for a message each, so these share this one message and its thread. Each incident has its own *Acknowledge* here; everything about any of them goes in this thread, named by incident.',
    ),
    ...listed.flatMap(lines),
    context(
      `Storm digest ${digestId} · updated <!date^${Math.floor(now.getTime() / 1000)}^{time_secs}|${now.toISOString()}>`,
    ),
  ];
  // The fallback text names every title too: notifications and searches find each incident.
  const titles = listed.map((i) => `${i.severity} ${esc(shortTitle(i.title))}`).join('; ');
  return { text: cutText(`:rotating_light: Alert storm: ${titles}`, MAX_MESSAGE_CHARS), blocks };
}

/** A reply in a digest's thread says which of its incidents it is about. */
export function labelForDigest(i: Incident, m: Message): Message {
  const label = `${SEVERITY_EMOJI[i.severity]} *${escInert(shortTitle(i.title, 100))}* (${esc(i.number ? `#${i.number}` : i.id)})`;
  return {
    ...m,
    text: `[${esc(shortTitle(i.title, 80))}] ${m.text}`,
    blocks: [context(label), ...m.blocks].slice(0, MAX_BLOCKS),
  };
}
