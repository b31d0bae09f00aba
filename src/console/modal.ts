// Walks a Slack modal as prompts, field by field, and submits it as Slack would; fields the
// bot answers with `response_action: "errors"` are asked again.
import type { KnownBlock } from '@slack/types';
import type { LineReader } from './line-reader.js';
import { plain, renderBlocks } from './render.js';
import type { ConsoleWorkspace, PendingModal } from './workspace.js';

type Values = Record<string, Record<string, Record<string, unknown>>>;
type Text = { type: string; text: string };
type Option = { text: Text; value: string };

interface InputBlock {
  type: 'input';
  block_id?: string;
  label: Text;
  hint?: Text;
  optional?: boolean;
  element: Record<string, unknown> & { type: string; action_id?: string };
}

const textOf = (t: Text | undefined) => (t ? (t.type === 'mrkdwn' ? plain(t.text) : t.text) : '');

export async function walkModal(
  ws: ConsoleWorkspace,
  first: PendingModal,
  reader: LineReader,
  print: (t: string) => void,
): Promise<void> {
  let modal = first;
  let values: Values = {};
  let only: Set<string> | undefined;
  for (let round = 0; round < 10; round++) {
    const view = modal.view;
    const blocks = (view.blocks as Array<Record<string, unknown>> | undefined) ?? [];
    if (!only) {
      print(`── ${textOf(view.title as Text)} ──`);
      const info = blocks.filter((b) => b.type !== 'input') as unknown as KnownBlock[];
      if (info.length) print(renderBlocks(info, '').text);
    }
    const inputs = blocks.filter((b) => b.type === 'input') as unknown as InputBlock[];
    for (const [i, block] of inputs.entries()) {
      const blockId = block.block_id ?? `block_${i}`;
      if (only && !only.has(blockId)) continue;
      const answer = await askField(block, reader, print);
      if (answer === 'cancel') {
        print('Form cancelled.');
        return;
      }
      if (answer !== undefined) values[blockId] = { [String(block.element.action_id ?? 'value')]: answer };
      else delete values[blockId];
    }
    if (inputs.length === 0 && !view.submit) return;
    const ack = await ws.submitModal(modal, values);
    const action = ack?.response_action;
    if (action === 'errors') {
      const errors = (ack?.errors ?? {}) as Record<string, string>;
      for (const [field, message] of Object.entries(errors)) print(`  ✗ ${labelOf(inputs, field)}: ${message}`);
      only = new Set(Object.keys(errors));
      continue;
    }
    if ((action === 'update' || action === 'push') && ack?.view) {
      modal = { viewId: modal.viewId, view: ack.view as Record<string, unknown> };
      values = {};
      only = undefined;
      continue;
    }
    return;
  }
}

function labelOf(inputs: InputBlock[], blockId: string): string {
  const b = inputs.find((x) => x.block_id === blockId);
  return b ? textOf(b.label) : blockId;
}

/** Asks one field; the value in the shape Slack puts into view.state.values. */
async function askField(
  block: InputBlock,
  reader: LineReader,
  print: (t: string) => void,
): Promise<Record<string, unknown> | undefined | 'cancel'> {
  const el = block.element;
  const label = `${textOf(block.label)}${block.optional ? ' (optional)' : ''}`;
  if (block.hint) print(`  (${textOf(block.hint)})`);
  for (;;) {
    if (
      el.type === 'static_select' ||
      el.type === 'radio_buttons' ||
      el.type === 'checkboxes' ||
      el.type === 'multi_static_select'
    ) {
      const options = ((el.options as Option[] | undefined) ??
        (el.option_groups as Array<{ options: Option[] }> | undefined)?.flatMap((g) => g.options) ??
        []) as Option[];
      print(`  ${label}:`);
      for (const [i, o] of options.entries()) print(`    ${i + 1}. ${textOf(o.text)}`);
      const multi = el.type === 'checkboxes' || el.type === 'multi_static_select';
      const initial = (el.initial_option as Option | undefined) ?? undefined;
      const raw = (
        await reader.next(
          `  ${multi ? 'numbers, comma-separated' : 'number'}${initial ? ` [${textOf(initial.text)}]` : ''}: `,
        )
      )?.trim();
      if (raw === undefined || raw === 'cancel') return 'cancel';
      if (raw === '') {
        if (initial) return { type: el.type, selected_option: initial };
        if (multi && el.initial_options) return { type: el.type, selected_options: el.initial_options };
        if (block.optional) return multi ? { type: el.type, selected_options: [] } : undefined;
        print('  This field is required.');
        continue;
      }
      const picked = raw.split(',').map((s) => options[Number(s.trim()) - 1]);
      if (picked.some((p) => !p)) {
        print('  Pick from the numbers shown.');
        continue;
      }
      return multi ? { type: el.type, selected_options: picked } : { type: el.type, selected_option: picked[0] };
    }
    const initial =
      (el.initial_value as string | undefined) ??
      (el.initial_user as string | undefined) ??
      (el.initial_date as string | undefined);
    const raw = await reader.next(`  ${label}${initial ? ` [${initial}]` : ''}: `);
    if (raw === undefined || raw.trim() === 'cancel') return 'cancel';
    const value = raw.trim() === '' && initial !== undefined ? initial : raw.replace(/\\n/g, '\n');
    if (value.trim() === '' && !block.optional) {
      print('  This field is required.');
      continue;
    }
    if (value.trim() === '') return undefined;
    switch (el.type) {
      case 'users_select':
        return { type: el.type, selected_user: value.trim() };
      case 'conversations_select':
        return { type: el.type, selected_conversation: value.trim() };
      case 'channels_select':
        return { type: el.type, selected_channel: value.trim() };
      case 'datepicker':
        return { type: el.type, selected_date: value.trim() };
      default:
        return { type: el.type, value };
    }
  }
}
