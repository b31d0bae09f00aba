// Open incidents at a glance (`/dmp incident status` and the App Home tab), an incident's
// timeline (`/dmp incident timeline`), and the "declare an incident" modal.
import type { HomeView, KnownBlock, ModalView, PlainTextOption } from '@slack/types';
import type { Severity } from '../config.js';
import { formatDuration } from '../duration.js';
import type { IncidentStats } from '../incidents/stats.js';
import { type Incident, PHASE_LABEL, phaseOf, type TimelineEntry } from '../incidents/types.js';
import { owner, SEVERITY_EMOJI, who } from './incident.js';
import { DECLARE_DESCRIPTION, DECLARE_SERVICE, DECLARE_SEVERITY, DECLARE_TITLE, DECLARE_VIEW } from './incident-ids.js';
import { statsMessage } from './incident-stats.js';
import { cutLines, cutText, fitBlocks } from './limits.js';
import { context, esc, header, type Message, section } from './message.js';
import { renderLinked } from './mrkdwn.js';

function incidentLine(i: Incident, now: Date): string {
  const title = i.htmlUrl ? `<${i.htmlUrl}|${esc(i.title)}>` : esc(i.title);
  const thread =
    i.channel && i.rootTs ? ` · <https://slack.com/archives/${i.channel}/p${i.rootTs.replace('.', '')}|thread>` : '';
  return `${SEVERITY_EMOJI[i.severity]} *${i.severity}* ${title} — ${PHASE_LABEL[phaseOf(i)]} · age ${formatDuration(now.getTime() - i.triggeredAt.getTime())} · owner ${owner(i)} · \`${esc(i.id)}\`${thread}`;
}

function openBlocks(open: Incident[], now: Date): KnownBlock[] {
  if (!open.length) return [section(':white_check_mark: No open incidents.')];
  const blocks: KnownBlock[] = [];
  const lines = open.map((i) => incidentLine(i, now));
  for (let n = 0; n < lines.length && blocks.length < 40; n += 8)
    blocks.push(section(cutLines(lines.slice(n, n + 8), 2900)));
  return blocks;
}

export function statusMessage(open: Incident[], now: Date): Message {
  const blocks = [
    header(`Open incidents: ${open.length}`),
    ...openBlocks(open, now),
    context("Severity, state, age, owner. `/dmp incident timeline <id>` shows one incident's record."),
  ];
  const text = open.length
    ? `Open incidents: ${open.map((i) => `${i.severity} ${esc(i.title)} (${PHASE_LABEL[phaseOf(i)]}, ${formatDuration(now.getTime() - i.triggeredAt.getTime())}, ${owner(i)})`).join('; ')}`
    : 'No open incidents.';
  return { text: cutText(text, 3000), blocks: fitBlocks(blocks) };
}

/** What the App Home says about its viewer: where they are on call now, which incidents they lead. */
export interface HomeViewer {
  slackId: string;
  onCall: Array<{ policy: string; level: number; until?: Date }>;
}

function viewerBlocks(open: Incident[], viewer: HomeViewer | undefined): KnownBlock[] {
  if (!viewer) return [];
  const lines = viewer.onCall.map(
    (o) =>
      `:pager: You are on call for *${esc(o.policy)}* (level ${o.level}) ${o.until ? `until <!date^${Math.floor(o.until.getTime() / 1000)}^{date_short_pretty} {time}|${o.until.toISOString()}>` : 'with no end set'}.`,
  );
  for (const i of open) {
    if (i.commander?.slackId === viewer.slackId)
      lines.push(`:military_helmet: You are the commander of *${esc(i.title)}* (${i.severity}).`);
    if (i.comms?.slackId === viewer.slackId)
      lines.push(`:loudspeaker: You are the comms lead of *${esc(i.title)}* (${i.severity}).`);
  }
  return lines.length ? [section(cutLines(lines, 2900, 20))] : [];
}

export function homeView(open: Incident[], now: Date, stats?: IncidentStats, viewer?: HomeViewer): HomeView {
  return {
    type: 'home',
    blocks: fitBlocks([
      header('dmp-bot'),
      section('The support runbook in Slack. `/dmp help` lists every command.'),
      ...viewerBlocks(open, viewer),
      { type: 'divider' },
      header(`Open incidents: ${open.length}`),
      ...openBlocks(open, now),
      // The last 30 days, as `/dmp incident stats` answers them (which also draws the chart).
      ...(stats ? [{ type: 'divider' } as const, ...statsMessage(stats).blocks] : []),
      context(`As of <!date^${Math.floor(now.getTime() / 1000)}^{date_short_pretty} {time}|${now.toISOString()}>`),
    ]),
  };
}

export function timelineLine(e: TimelineEntry): string {
  return `\`${e.at.toISOString().slice(11, 19)}\` ${who(e.actor)}: ${renderLinked(e.text)}`;
}

export function timelineMessage(i: Incident, timeline: TimelineEntry[]): Message {
  const lines = timeline.map(timelineLine);
  const blocks: KnownBlock[] = [
    header(`Timeline: ${i.title}`),
    context(
      `${i.severity} · ${PHASE_LABEL[phaseOf(i)]} · \`${esc(i.id)}\` · times in UTC, from ${i.triggeredAt.toISOString().slice(0, 10)}`,
    ),
  ];
  for (let n = 0; n < lines.length && blocks.length < 45; n += 15)
    blocks.push(section(cutLines(lines.slice(n, n + 15), 2900)));
  const long = lines.length > 15 * 43;
  const plain = timeline
    .map((e) => `${e.at.toISOString()}  ${e.actor?.name ?? e.actor?.slackId ?? e.source}  ${e.text}`)
    .join('\n');
  return {
    text: `Timeline of ${esc(i.title)}: ${timeline.length} entries`,
    blocks: fitBlocks(blocks),
    ...(long
      ? { files: [{ filename: `timeline-${i.number ?? i.id}.txt`, title: `Timeline: ${i.title}`, content: plain }] }
      : {}),
  };
}

function opt(text: string, value: string): PlainTextOption {
  return { text: { type: 'plain_text', text: text.slice(0, 75) }, value: value.slice(0, 150) };
}

const SEVERITY_HELP: Record<Severity, string> = {
  P1: 'P1 — complete outage (15 min)',
  P2: 'P2 — major feature down (1 h)',
  P3: 'P3 — minor feature issue (4 h)',
  P4: 'P4 — cosmetic, low impact (24 h)',
};

export function declareModal(services: Array<{ id: string; name: string }>): ModalView {
  const severities = (['P1', 'P2', 'P3', 'P4'] as const).map((s) => opt(SEVERITY_HELP[s], s));
  const serviceOptions = services.slice(0, 100).map((s) => opt(s.name, s.id));
  return {
    type: 'modal',
    callback_id: DECLARE_VIEW,
    title: { type: 'plain_text', text: 'Declare an incident' },
    submit: { type: 'plain_text', text: 'Declare' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      {
        type: 'input',
        block_id: DECLARE_TITLE,
        label: { type: 'plain_text', text: 'Title' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          max_length: 250,
          placeholder: { type: 'plain_text', text: 'Customers cannot log in' },
        },
      },
      {
        type: 'input',
        block_id: DECLARE_SEVERITY,
        label: { type: 'plain_text', text: 'Severity' },
        element: { type: 'static_select', action_id: 'value', options: severities, initial_option: severities[1] },
      },
      services.length
        ? {
            type: 'input',
            block_id: DECLARE_SERVICE,
            label: { type: 'plain_text', text: 'Service' },
            element: {
              type: 'static_select',
              action_id: 'value',
              options: serviceOptions,
              initial_option: serviceOptions[0],
            },
          }
        : {
            type: 'input',
            block_id: DECLARE_SERVICE,
            label: { type: 'plain_text', text: 'PagerDuty service ID' },
            element: {
              type: 'plain_text_input',
              action_id: 'value',
              max_length: 64,
              placeholder: { type: 'plain_text', text: 'PXXXXXX' },
            },
          },
      {
        type: 'input',
        block_id: DECLARE_DESCRIPTION,
        optional: true,
        label: { type: 'plain_text', text: 'Description' },
        element: {
          type: 'plain_text_input',
          action_id: 'value',
          multiline: true,
          max_length: 3000,
          placeholder: { type: 'plain_text', text: 'What customers report, since when, who is affected' },
        },
      },
    ],
  };
}
