// Walks a Slack modal as prompts, field by field, and submits it as Slack would; fields the
// bot answers with `response_action: "errors"` are asked again.
import type { KnownBlock } from '@slack/types';
import type { LineReader } from './line-reader.js';
import { type Names, plain, renderBlocks } from './render.js';
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

export async function walkModal(
  ws: ConsoleWorkspace,
  first: PendingModal,
  reader: LineReader,
  print: (t: string) => void,
): Promise<void> {
  const names = ws.names;
  const textIn = (t: Text | undefined) => textOf(t, names);
  let modal = first;
  let values: Values = {};
  let only: Set<string> | undefined;
  for (let round = 0; round < 10; round++) {
    const view = modal.view;
    const blocks = (view.blocks as Array<Record<string, unknown>> | undefined) ?? [];
    if (!only) {
      print(`── ${textIn(view.title as Text)} ──`);
      const info = blocks.filter((b) => b.type !== 'input') as unknown as KnownBlock[];
      if (info.length) print(renderBlocks(info, '', () => 0, names).text);
    }
    const inputs = blocks.filter((b) => b.type === 'input') as unknown as InputBlock[];
    for (const [i, block] of inputs.entries()) {
      const blockId = block.block_id ?? `block_${i}`;
      if (only && !only.has(blockId)) continue;
      const search = (typed: string) => ws.suggest(modal, blockId, String(block.element.action_id ?? ''), typed);
      const answer = await askField(block, reader, print, names, search);
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
      for (const [field, message] of Object.entries(errors)) print(`  ✗ ${labelOf(inputs, field, names)}: ${message}`);
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

function textOf(t: Text | undefined, names: Names): string {
  return t ? (t.type === 'mrkdwn' ? plain(t.text, names) : t.text) : '';
}

function labelOf(inputs: InputBlock[], blockId: string, names: Names): string {
  const b = inputs.find((x) => x.block_id === blockId);
  return b ? textOf(b.label, names) : blockId;
}

/** Asks one field; the value in the shape Slack puts into view.state.values. */
async function askField(
  block: InputBlock,
  reader: LineReader,
  print: (t: string) => void,
  names: Names,
  search: (typed: string) => Promise<Option[]>,
): Promise<Record<string, unknown> | undefined | 'cancel'> {
  const el = block.element;
  if (el.type === 'external_select' || el.type === 'multi_external_select')
    return askExternal(block, reader, print, names, search);
  const textIn = (t: Text | undefined) => textOf(t, names);
  // A user menu: the workspace's people as numbered options, picked like a select's.
  const userMenu = el.type === 'users_select' || el.type === 'multi_users_select';
  const people: Option[] = names
    .users()
    .map((u) => ({ text: { type: 'plain_text', text: `@${u.name}` }, value: u.id }));
  const label = `${textIn(block.label)}${block.optional ? ' (optional)' : ''}`;
  if (block.hint) print(`  (${textIn(block.hint)})`);
  for (;;) {
    if (
      userMenu ||
      el.type === 'static_select' ||
      el.type === 'radio_buttons' ||
      el.type === 'checkboxes' ||
      el.type === 'multi_static_select'
    ) {
      const options = userMenu
        ? people
        : (((el.options as Option[] | undefined) ??
            (el.option_groups as Array<{ options: Option[] }> | undefined)?.flatMap((g) => g.options) ??
            []) as Option[]);
      print(`  ${label}:`);
      for (const [i, o] of options.entries()) print(`    ${i + 1}. ${textIn(o.text)}`);
      const multi = el.type === 'checkboxes' || el.type === 'multi_static_select' || el.type === 'multi_users_select';
      const initial = userMenu
        ? people.find((p) => p.value === el.initial_user)
        : ((el.initial_option as Option | undefined) ?? undefined);
      const raw = (
        await reader.next(
          `  ${multi ? 'numbers, comma-separated' : 'number'}${initial ? ` [${textIn(initial.text)}]` : ''}: `,
          { noHistory: true },
        )
      )?.trim();
      if (raw === undefined || raw === 'cancel') return 'cancel';
      if (raw === '') {
        if (initial && userMenu) return { type: el.type, selected_user: initial.value };
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
      if (el.type === 'users_select') return { type: el.type, selected_user: picked[0]?.value };
      if (el.type === 'multi_users_select') return { type: el.type, selected_users: picked.map((p) => p?.value) };
      return multi ? { type: el.type, selected_options: picked } : { type: el.type, selected_option: picked[0] };
    }
    const initial =
      (el.initial_value as string | undefined) ??
      (el.initial_user as string | undefined) ??
      (el.initial_date as string | undefined);
    const raw = await reader.next(`  ${label}${initial ? ` [${initial}]` : ''}: `, { noHistory: true });
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

/**
 * An external select (options from the bot as one types, like Page's PagerDuty search): type a
 * few letters, pick from what the bot offers by number, or type again to search again.
 */
async function askExternal(
  block: InputBlock,
  reader: LineReader,
  print: (t: string) => void,
  names: Names,
  search: (typed: string) => Promise<Option[]>,
): Promise<Record<string, unknown> | undefined | 'cancel'> {
  const el = block.element;
  const multi = el.type === 'multi_external_select';
  const minLength = typeof el.min_query_length === 'number' ? el.min_query_length : 3;
  const label = `${textOf(block.label, names)}${block.optional ? ' (optional)' : ''}`;
  const picked: Option[] = [];
  for (;;) {
    const typed = (
      await reader.next(
        `  ${label} — type to search${picked.length ? ` (picked: ${picked.map((o) => textOf(o.text, names)).join(', ')}; empty line when done)` : ''}: `,
        { noHistory: true },
      )
    )?.trim();
    if (typed === undefined || typed === 'cancel') return 'cancel';
    if (typed === '') {
      if (picked.length)
        return multi ? { type: el.type, selected_options: picked } : { type: el.type, selected_option: picked[0] };
      if (block.optional) return multi ? { type: el.type, selected_options: [] } : undefined;
      print('  This field is required.');
      continue;
    }
    if (typed.length < minLength) {
      print(`  Type at least ${minLength} character${minLength === 1 ? '' : 's'}.`);
      continue;
    }
    const options = await search(typed);
    if (!options.length) {
      print(`  Nothing matches "${typed}"; try other letters.`);
      continue;
    }
    for (const [i, o] of options.entries()) print(`    ${i + 1}. ${textOf(o.text, names)}`);
    const raw = (
      await reader.next(`  ${multi ? 'numbers, comma-separated' : 'number'} (empty to search again): `, {
        noHistory: true,
      })
    )?.trim();
    if (raw === undefined || raw === 'cancel') return 'cancel';
    if (raw === '') continue;
    const chosen = raw.split(',').map((x) => options[Number(x.trim()) - 1]);
    if (chosen.some((c) => !c)) {
      print('  Pick from the numbers shown.');
      continue;
    }
    for (const c of chosen as Option[]) if (!picked.some((p) => p.value === c.value)) picked.push(c);
    if (!multi) return { type: el.type, selected_option: picked[0] };
  }
}
