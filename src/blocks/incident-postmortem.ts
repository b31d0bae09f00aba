// The post-mortem in Block Kit: the summary posted in the thread (the full document goes with it
// as a Markdown file), the "Fill in" modal, and `/dmp postmortem <incident>`.
import type { KnownBlock, ModalView } from '@slack/types';
import { formatDuration } from '../duration.js';
import type { Followup } from '../followups/store.js';
import {
  durationsOf,
  followupState,
  isComplete,
  type Postmortem,
  postmortemFilename,
  signalChartFilename,
} from '../incidents/postmortem.js';
import type { Actor, Incident, TimelineEntry } from '../incidents/types.js';
import { who } from './incident.js';
import {
  INCIDENT_ADD_FOLLOWUP,
  PM_ACTION_ITEMS,
  PM_IMPACT,
  PM_LEARNINGS,
  PM_ROOT_CAUSE,
  POSTMORTEM_FILL,
  POSTMORTEM_VIEW,
} from './incident-ids.js';
import { timelineLine } from './incident-status.js';
import { cutLines, cutText, fitBlocks } from './limits.js';
import { context, esc, header, type Message, type OutFile, section } from './message.js';
import { escInert } from './mrkdwn.js';

const TODO = '_To be filled in._';

function postmortemFile(i: Incident, pm: Postmortem): OutFile {
  return { filename: postmortemFilename(i), title: `Post-mortem: ${i.title}`.slice(0, 200), content: pm.document };
}

export function postmortemMessage(
  i: Incident,
  pm: Postmortem,
  timeline: TimelineEntry[],
  opts: { updatedBy?: Actor; withButton?: boolean; addFollowup?: boolean } = {},
): Message {
  const d = durationsOf(i, pm.mitigation);
  const due = `<!date^${Math.floor(pm.dueAt.getTime() / 1000)}^{date_short_pretty} {time}|${pm.dueAt.toISOString()}>`;
  const blocks: KnownBlock[] = [header(`Post-mortem: ${i.title}`)];
  if (opts.updatedBy) blocks.push(context(`Updated by ${who(opts.updatedBy)}`));
  blocks.push({
    type: 'section',
    fields: [
      `*Severity*\n${i.severity}`,
      `*Service*\n${esc(i.serviceName ?? 'unknown')}`,
      `*Time to acknowledge*\n${d.toAcknowledgeMs === undefined ? 'not acknowledged' : formatDuration(d.toAcknowledgeMs)}`,
      `*Time to mitigate*\n${d.toMitigateMs === undefined ? 'not verified' : formatDuration(d.toMitigateMs)}`,
      `*Time to resolve*\n${d.toResolveMs === undefined ? 'not resolved' : formatDuration(d.toResolveMs)}`,
      `*Due*\n${due}`,
      `*State*\n${isComplete(pm) ? 'complete' : 'to be filled in'}`,
    ].map((text) => ({ type: 'mrkdwn' as const, text })),
  });
  blocks.push(
    section(
      `*Summary*\n${esc(i.title)}${i.description && i.description !== i.title ? ` — ${esc(cutText(i.description, 1500))}` : ''}`,
    ),
  );
  if (pm.impact) blocks.push(section(`*Impact*\n${esc(pm.impact)}`));
  const roles = timeline.filter((e) => e.kind === 'role');
  blocks.push(
    section(
      `*Roles*\nCommander: ${i.commander ? who(i.commander) : 'nobody took command'} · Comms: ${i.comms ? who(i.comms) : 'nobody'}${roles.length ? `\n${cutLines(roles.map(timelineLine), 1500, 10)}` : ''}`,
    ),
  );
  blocks.push(section(`*Timeline*\n${cutLines(timeline.map(timelineLine), 2900, 20)}`));
  const rems = pm.mitigation?.remediations ?? [];
  if (rems.length)
    blocks.push(
      section(
        `*Remediations (verified)*\n${cutLines(
          rems.map(
            (r) =>
              `• ${esc(r.label)}: ${r.changes.length ? r.changes.map((c) => esc(`${c.check}: ${c.before} → ${c.after}`)).join('; ') : 'no check changed'} (${r.critical ? 'still critical' : 'nothing critical'})`,
          ),
          2900,
          15,
        )}`,
      ),
    );
  blocks.push(section(`*Root cause*\n${pm.rootCause ? esc(pm.rootCause) : TODO}`));
  blocks.push(section(`*Action items*\n${pm.actionItems ? esc(pm.actionItems) : TODO}`));
  const followups = pm.followups ?? [];
  if (followups.length)
    blocks.push(
      section(
        `*Follow-ups*\n${cutLines(
          followups.map(
            (f) =>
              `${f.state === 'closed' ? ':white_check_mark:' : ':white_circle:'} ${f.issueUrl ? `<${f.issueUrl}|#${f.issueNumber}> ` : ''}${esc(f.title)} — ${esc(followupState(f))}${followupExtras(f)}`,
          ),
          2900,
          20,
        )}`,
      ),
    );
  blocks.push(section(`*Learnings*\n${pm.learnings ? esc(pm.learnings) : TODO}`));
  if (opts.withButton !== false) {
    blocks.push({
      type: 'actions',
      block_id: `postmortem:${i.id}`,
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Fill in', emoji: true },
          action_id: POSTMORTEM_FILL,
          value: i.id,
          style: 'primary',
        },
        ...(opts.addFollowup
          ? [
              {
                type: 'button' as const,
                text: { type: 'plain_text' as const, text: 'Add follow-up', emoji: true },
                action_id: INCIDENT_ADD_FOLLOWUP,
                value: i.id,
              },
            ]
          : []),
      ],
    });
  }
  blocks.push(
    context(
      `The full document is attached as \`${postmortemFilename(i)}\`${pm.signal?.points.length ? `, with the chart of ${esc(pm.signal.signal.name.toLowerCase())} over the incident as \`${signalChartFilename(i, pm.signal)}\`` : ''}. Runbook: Incident Response › Post-Mortem (within 48 hours).`,
    ),
  );
  return {
    text: `Post-mortem for ${esc(i.title)}: time to acknowledge ${d.toAcknowledgeMs === undefined ? 'n/a' : formatDuration(d.toAcknowledgeMs)}, time to mitigate ${d.toMitigateMs === undefined ? 'n/a' : formatDuration(d.toMitigateMs)}, time to resolve ${d.toResolveMs === undefined ? 'n/a' : formatDuration(d.toResolveMs)}`,
    blocks: fitBlocks(blocks),
    files: [postmortemFile(i, pm)],
  };
}

/** Owner, due date and who added it from the thread, when the follow-up has them. */
function followupExtras(f: Followup): string {
  const parts = [
    f.owner?.slackId ? `owner <@${f.owner.slackId}>` : '',
    f.dueOn ? `due ${f.dueOn}` : '',
    f.source === 'thread' && f.addedBy?.slackId ? `added by <@${f.addedBy.slackId}>` : '',
  ].filter(Boolean);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

function textInput(blockId: string, label: string, initial: string | undefined, placeholder: string): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    optional: true,
    label: { type: 'plain_text', text: label },
    element: {
      type: 'plain_text_input',
      action_id: 'value',
      multiline: true,
      max_length: 3000,
      placeholder: { type: 'plain_text', text: placeholder },
      ...(initial ? { initial_value: initial.slice(0, 3000) } : {}),
    },
  };
}

export function postmortemModal(i: Incident, pm: Postmortem): ModalView {
  return {
    type: 'modal',
    callback_id: POSTMORTEM_VIEW,
    private_metadata: i.id,
    title: { type: 'plain_text', text: 'Post-mortem' },
    submit: { type: 'plain_text', text: 'Save' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`*${escInert(i.title)}* (${i.severity})`),
      textInput(PM_ROOT_CAUSE, 'Root cause', pm.rootCause, 'What made it happen, and why it was not caught earlier'),
      textInput(PM_ACTION_ITEMS, 'Action items', pm.actionItems, 'One per line: what, who, by when'),
      textInput(PM_LEARNINGS, 'Learnings', pm.learnings, 'What went well, what did not, where we got lucky'),
      textInput(PM_IMPACT, 'Impact', pm.impact, 'Who and what was affected, for how long'),
    ],
  };
}
