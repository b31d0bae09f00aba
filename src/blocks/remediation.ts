// Block Kit for the remediation flow: the preview with Confirm/Cancel, the approval request
// with Approve/Cancel, the updates that take the buttons away and say who did what, the
// outcome posted in the thread, and the reason and mark-scan-failed modals. Pure functions.
import type { Button, KnownBlock, PlainTextOption, View } from '@slack/types';
import { plainText, type Text } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import type { ActionRow, StoredPreview } from '../remediations/action.js';
import type { StepResult } from '../remediations/flow.js';
import type { ScanShown } from '../remediations/mark-scan-failed.js';
import type { Outcome, ProgressNote, ProgressStatus } from '../remediations/types.js';
import { cutLines, fitBlocks } from './limits.js';
import { context, esc, header, type Message, section } from './message.js';
import { renderRich, renderText } from './mrkdwn.js';
import {
  APPROVE_BLOCK,
  CONFIRM_BLOCK,
  PICK_BLOCK,
  REASON_BLOCK,
  REASON_INPUT,
  REASON_MODAL,
  REMEDIATION_APPROVE,
  REMEDIATION_CANCEL,
  REMEDIATION_CONFIRM,
  REMEDIATION_PICK,
  SCAN_FAIL_MODAL,
  SCAN_ID_BLOCK,
  SCAN_ID_INPUT,
} from './remediation-ids.js';

/** The checkboxes' block carries the action's id: a checkbox action has no value of its own. */
export function pickBlockId(actionId: string): string {
  return `${PICK_BLOCK}:${actionId}`;
}

/** Bold, unless the text holds a `*` (a key pattern) that would end the bold early and garble it. */
function strong(text: Text): string {
  return plainText(text).includes('*') ? renderText(text) : `*${renderText(text)}*`;
}

const who = (id: string | undefined) => (id ? `<@${id}>` : 'someone');

/** Plain lines are escaped as a whole; lines of values (RichText) are rendered, escaping their words once. */
function detailBlocks(details: Text[] | undefined, max = 20): KnownBlock[] {
  if (!details?.length) return [];
  if (details.every((d) => typeof d === 'string')) return [context(esc(cutLines(details, 1900, max)))];
  return [context(cutLines(details.map(renderText), 1900, max))];
}

const PROGRESS_EMOJI: Record<ProgressStatus, string> = {
  started: ':arrow_forward:',
  running: ':hourglass_flowing_sand:',
  done: ':white_check_mark:',
  failed: ':x:',
  not_started: ':no_entry:',
  restarted: ':arrows_counterclockwise:',
  rolled_back: ':rewind:',
  resumed: ':arrows_counterclockwise:',
};

/** A line of a remediation's progress, posted in its thread. */
export function progressMessage(note: ProgressNote): Message {
  const text = `${PROGRESS_EMOJI[note.status]} ${renderRich(note.text)}`;
  return { text, blocks: [section(text)] };
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

export interface PreviewView {
  action: ActionRow;
  label: string;
  highRisk: boolean;
  twoPerson: boolean;
  ttlMs: number;
}

/** The preview and its confirmation: "replicas 3 → 8", then Confirm and Cancel. */
export function previewMessage(v: PreviewView): Message {
  const a = v.action;
  const blocks: KnownBlock[] = [
    header(`Confirm: ${v.label}`),
    section(`:mag: ${strong(a.preview.summary)}`),
    ...detailBlocks(a.preview.details),
  ];
  const choices = a.preview.choices ?? [];
  if (choices.length) {
    const options: PlainTextOption[] = choices.map((c) => ({
      text: { type: 'plain_text', text: c.label.slice(0, 75) },
      value: c.value,
    }));
    const selected = Array.isArray(a.params.selected) ? (a.params.selected as unknown[]).map(String) : [];
    const initial = options.filter((o) => selected.includes(o.value ?? ''));
    blocks.push({
      type: 'actions',
      block_id: pickBlockId(a.id),
      elements: [
        {
          type: 'checkboxes',
          action_id: REMEDIATION_PICK,
          options,
          ...(initial.length ? { initial_options: initial } : {}),
        },
      ],
    });
  }
  const risk = v.highRisk
    ? v.twoPerson
      ? ':warning: High risk: Confirm asks for a reason, then a second operator must approve.'
      : ':warning: High risk: Confirm asks for a reason.'
    : 'Nothing changes until an operator presses Confirm.';
  blocks.push(context(`Requested by ${who(a.requestedBy)} · expires in ${formatDuration(v.ttlMs)} · ${risk}`));
  blocks.push({
    type: 'actions',
    block_id: CONFIRM_BLOCK,
    elements: [button('Confirm', REMEDIATION_CONFIRM, a.id, 'primary'), button('Cancel', REMEDIATION_CANCEL, a.id)],
  });
  return { text: `${esc(`Confirm: ${v.label} — `)}${renderText(a.preview.summary)}`, blocks: fitBlocks(blocks) };
}

export function nothingToDoMessage(label: string, preview: StoredPreview): Message {
  const why = renderText(preview.nothingToDo ?? '');
  return {
    text: why.trim() ? `${esc(`${label}: nothing to do. `)}${why}`.trim() : esc(`${label}: nothing to do.`),
    blocks: fitBlocks([
      section(`:information_source: ${strong(label)}: nothing to do.\n${why}`),
      context(renderText(preview.summary)),
      ...detailBlocks(preview.details, 10),
    ]),
  };
}

/** The confirmation message once someone acted on it: no buttons, who did what. */
function settledMessage(a: ActionRow, label: string, line: string): Message {
  return {
    text: `${esc(label)} — ${line}`,
    blocks: fitBlocks([
      header(label),
      section(`:mag: ${strong(a.preview.summary)}`),
      ...detailBlocks(a.preview.details, 8),
      context(line),
    ]),
  };
}

function people(a: ActionRow): string {
  const parts = [`requested by ${who(a.requestedBy)}`];
  if (a.confirmedBy) parts.push(`confirmed by ${who(a.confirmedBy)}`);
  if (a.approvedBy) parts.push(`approved by ${who(a.approvedBy)}`);
  if (a.reason) parts.push(`reason: ${esc(a.reason)}`);
  return parts.join(' · ');
}

export function runningMessage(a: ActionRow, label: string): Message {
  return settledMessage(a, label, `:gear: Running — ${people(a)}`);
}

export function awaitingMessage(a: ActionRow, label: string): Message {
  return settledMessage(a, label, `:lock: Waiting for a second operator's approval in the thread — ${people(a)}`);
}

export function finishedMessage(a: ActionRow, label: string, outcome: { ok: boolean; summary: Text }): Message {
  return settledMessage(
    a,
    label,
    `${outcome.ok ? ':white_check_mark: Done' : ':x: Failed'}: ${renderText(outcome.summary)} — ${people(a)}`,
  );
}

export function expiredMessage(a: ActionRow, label: string): Message {
  return settledMessage(
    a,
    label,
    ':hourglass: This confirmation expired; nothing was done. Run the command again for a fresh preview.',
  );
}

export function cancelledMessage(a: ActionRow, label: string): Message {
  return settledMessage(a, label, `:no_entry_sign: Cancelled by ${who(a.cancelledBy)}; nothing was done.`);
}

/** Posted in the thread where the action started. */
export function outcomeMessage(a: ActionRow, label: string, outcome: Outcome): Message {
  const icon = outcome.ok ? ':white_check_mark:' : ':x:';
  return {
    text: `${esc(`${label}: `)}${renderText(outcome.summary)}`,
    blocks: fitBlocks([
      section(`${icon} ${strong(label)}: ${renderText(outcome.summary)}`),
      ...detailBlocks(outcome.details, 30),
      context(people(a)),
    ]),
  };
}

export function approvalRequestMessage(a: ActionRow, label: string, ttlMs: number): Message {
  const blocks: KnownBlock[] = [
    section(
      `:lock: ${who(a.confirmedBy ?? a.requestedBy)} asks to ${strong(label)}: ${renderText(a.preview.summary)}\n*Reason:* ${esc(a.reason ?? '')}`,
    ),
    context(
      `Two-person rule: a second operator must press Approve (the requester cannot). Expires in ${formatDuration(ttlMs)}.`,
    ),
    {
      type: 'actions',
      block_id: APPROVE_BLOCK,
      elements: [button('Approve', REMEDIATION_APPROVE, a.id, 'primary'), button('Cancel', REMEDIATION_CANCEL, a.id)],
    },
  ];
  return { text: `${esc(`Approval needed: ${label} — `)}${renderText(a.preview.summary)}`, blocks: fitBlocks(blocks) };
}

export function approvedMessage(a: ActionRow, label: string): Message {
  const line = `:white_check_mark: Approved by ${who(a.approvedBy)} — ${people(a)}`;
  return {
    text: esc(`Approved: ${label}`),
    blocks: [section(`:lock: ${strong(label)}: ${renderText(a.preview.summary)}`), context(line)],
  };
}

export function duplicateText(a: ActionRow, label: string): string {
  return `A confirmation for "${label}" is already ${a.state === 'running' ? 'running' : 'waiting'} (requested by <@${a.requestedBy}>); nothing new was started.`;
}

/**
 * The one answer to a step that did nothing — not an operator, one's own approval, a bad reason,
 * an action no longer known (`thing` names it), one already past this step; undefined for the
 * results each listener answers in its own way.
 */
export function refusalText(res: StepResult, labelOf: (a: ActionRow) => string, thing: string): string | undefined {
  switch (res.kind) {
    case 'refused':
    case 'own':
    case 'invalid':
      return renderText(res.message);
    case 'unknown':
      return `I no longer know this ${thing}; nothing was done.`;
    case 'already':
      return alreadyText(res.action, labelOf(res.action));
    default:
      return undefined;
  }
}

export function alreadyText(a: ActionRow, label: string): string {
  const by = a.approvedBy ?? a.confirmedBy ?? a.cancelledBy;
  const state: Record<ActionRow['state'], string> = {
    pending: 'still waiting for confirmation',
    awaiting_approval: 'waiting for a second operator',
    running: 'already running',
    succeeded: 'already done',
    failed: 'already run (it failed)',
    cancelled: 'cancelled',
    expired: 'expired',
  };
  return `"${label}" is ${state[a.state]}${by ? ` (${who(by)})` : ''}; nothing more was done.`;
}

export function reasonModal(a: ActionRow, label: string, metadata: string, twoPerson: boolean): View {
  return {
    type: 'modal',
    callback_id: REASON_MODAL,
    private_metadata: metadata,
    title: { type: 'plain_text', text: 'Reason needed' },
    submit: { type: 'plain_text', text: twoPerson ? 'Ask for approval' : 'Run it' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`:warning: ${strong(label)} is high risk.\n${renderText(a.preview.summary)}`),
      {
        type: 'input',
        block_id: REASON_BLOCK,
        label: { type: 'plain_text', text: 'Why is this needed?' },
        element: { type: 'plain_text_input', action_id: REASON_INPUT, multiline: true, max_length: 500 },
      },
      context(
        twoPerson ? 'A second operator must approve it in the thread before it runs.' : 'It runs when you submit.',
      ),
    ],
  };
}

/** What the mark-scan-failed modal carries in private_metadata: the channel, thread and scan shown. */
export interface ScanModalMeta {
  c: string;
  t?: string;
  s?: string;
}

/** The mark-scan-failed modal opened where the operator asked, with the scan the domain looked up, if any. */
export function scanFailModalFor(p: { channelId: string; threadTs?: string }, shown: ScanShown): View {
  const meta: ScanModalMeta = { c: p.channelId, ...(p.threadTs ? { t: p.threadTs } : {}) };
  if (!shown.found)
    return scanFailModal({ metadata: JSON.stringify(meta), ...(shown.scanId ? { scanId: shown.scanId } : {}) });
  return scanFailModal({
    metadata: JSON.stringify({ ...meta, s: shown.found.id }),
    scanId: shown.found.id,
    scanLines: shown.found.lines,
    ...(shown.found.notMarkable ? { notMarkable: shown.found.notMarkable } : {}),
  });
}

export interface ScanModalOptions {
  metadata: string;
  scanId?: string;
  /** The scan as shown before anything changes; with it, submitting marks it failed. */
  scanLines?: string[];
  /** Set when the scan shown is no longer pending or running. */
  notMarkable?: string;
}

/** Mark a scan failed. The scan ID is the first input; the scan is shown before the change. */
export function scanFailModal(o: ScanModalOptions): View {
  const blocks: KnownBlock[] = [
    {
      type: 'input',
      block_id: SCAN_ID_BLOCK,
      label: { type: 'plain_text', text: 'Scan ID' },
      hint: { type: 'plain_text', text: 'The scan’s UUID, e.g. 6f1c1b7e-0000-4000-8000-000000000001' },
      element: {
        type: 'plain_text_input',
        action_id: SCAN_ID_INPUT,
        ...(o.scanId ? { initial_value: o.scanId } : {}),
        placeholder: { type: 'plain_text', text: 'scan UUID' },
      },
    },
  ];
  if (o.scanLines?.length) {
    blocks.push(section(`*The scan*\n${esc(o.scanLines.join('\n'))}`));
    blocks.push(
      context(
        o.notMarkable
          ? esc(o.notMarkable)
          : 'Submitting sets its status to failed with "Timeout - manual intervention" (only while it is pending or running).',
      ),
    );
  } else {
    blocks.push(context('The scan is shown here before anything changes.'));
  }
  return {
    type: 'modal',
    callback_id: SCAN_FAIL_MODAL,
    private_metadata: o.metadata,
    title: { type: 'plain_text', text: 'Mark scan failed' },
    submit: { type: 'plain_text', text: 'Mark failed' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}
