// Renders Block Kit as readable text for the console, the way Slack shows it: headers
// underlined, mrkdwn softened, emoji as characters, mentions as @name, and every interactive
// element (buttons, selects, overflow menus, user menus, checkboxes, radio buttons) as
// numbered choices the user picks by typing the number.
import type { KnownBlock } from '@slack/types';
import { replaceEmoji } from './emoji.js';

type Text = { type: string; text: string };
type Option = { text: Text; value?: string; description?: Text };

export type ChoiceKind =
  | 'button'
  | 'static_select'
  | 'overflow'
  | 'users_select'
  | 'radio_buttons'
  | 'checkboxes'
  | 'multi_static_select';

export interface Choice {
  /** What pressing it sends back: a block action on this message. */
  actionId: string;
  blockId?: string;
  value?: string;
  label: string;
  kind: ChoiceKind;
  /** The option it picks (selects, overflow, radio buttons, checkboxes). */
  selected?: { text: string; value: string };
  /** The user it picks (user menus). */
  user?: string;
  /** Checkboxes: ticked when the message was rendered. */
  ticked?: boolean;
  confirm?: string;
}

export interface Rendered {
  text: string;
  choices: Choice[];
}

/** Who and what ids stand for: users.info and conversations.info of the console's workspace. */
export interface Names {
  user(id: string): string | undefined;
  channel(id: string): string | undefined;
  /** The users a user menu offers. */
  users(): Array<{ id: string; name: string }>;
}

const noNames: Names = { user: () => undefined, channel: () => undefined, users: () => [] };

/** Slack mrkdwn to plain text: links, mentions, entities, emoji, bold markers. */
export function plain(mrkdwn: string, names: Names = noNames): string {
  const text = mrkdwn
    // Slack shows a date token in the reader's time zone; the console shows its fallback text.
    .replace(/<!date\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<#([A-Z0-9]+)\|([^>]+)>/g, '#$2')
    .replace(/<@([A-Z0-9]+)(?:\|([^>]+))?>/g, (_m, id: string, label?: string) => `@${names.user(id) ?? label ?? id}`)
    .replace(/<#([A-Z0-9]+)>/g, (_m, id: string) => `#${names.channel(id) ?? id}`)
    .replace(/<!subteam\^([A-Z0-9]+)(?:\|([^>]+))?>/g, (_m, id: string, label?: string) =>
      label ? (label.startsWith('@') ? label : `@${label}`) : `@${id}`,
    )
    .replace(/<!(here|channel|everyone)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<((?:https?|mailto):[^|>]+)\|([^>]+)>/g, '$2 ($1)')
    .replace(/<((?:https?|mailto):[^>]+)>/g, '$1')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=[\s.,:;)!?]|$)/gm, '$1$2');
  return replaceEmoji(text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function textOf(t: Text | undefined, names: Names): string {
  if (!t) return '';
  return t.type === 'mrkdwn' ? plain(t.text, names) : replaceEmoji(t.text);
}

/** Wraps a run of `[n] label` parts to the terminal's width, continuation lines indented. */
function wrapParts(lead: string, parts: string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = lead;
  for (const p of parts) {
    const sep = line.trim() === '' || line === lead ? '' : '   ';
    if (line.length + sep.length + p.length > width && line.trim() !== lead.trim()) {
      lines.push(line);
      line = `${indent}${p}`;
    } else line = `${line}${sep}${p}`;
  }
  lines.push(line);
  return lines;
}

/**
 * `number` gives each choice its number (the workspace keeps a message's numbers when it is
 * updated); `ticked` says which checkboxes the user has ticked on this message since.
 */
export function renderBlocks(
  blocks: KnownBlock[] | undefined,
  fallback: string,
  number: (c: Choice) => number,
  names: Names = noNames,
  ticked?: (blockId: string | undefined, actionId: string) => Set<string> | undefined,
): Rendered {
  if (!blocks || blocks.length === 0) return { text: plain(fallback, names), choices: [] };
  const lines: string[] = [];
  const choices: Choice[] = [];
  const add = (c: Choice) => {
    choices.push(c);
    return `[${number(c)}] ${c.label}`;
  };
  const elementLines = (el: Record<string, unknown>, blockId: string | undefined, indent: string): string[] =>
    elementChoices(el, blockId, add, names, ticked?.(blockId, String(el.action_id)), indent);
  for (const block of blocks) {
    const b = block as KnownBlock & Record<string, unknown>;
    switch (block.type) {
      case 'header': {
        const t = textOf(block.text as Text, names);
        lines.push(t, '='.repeat(Math.min(t.length, 72)));
        break;
      }
      case 'section': {
        if (block.text) lines.push(textOf(block.text as Text, names));
        for (const f of block.fields ?? []) lines.push(`  ${textOf(f as Text, names)}`);
        const acc = block.accessory as unknown as Record<string, unknown> | undefined;
        if (acc) lines.push(...elementLines(acc, block.block_id, '  '));
        break;
      }
      case 'context':
        lines.push(
          ...block.elements
            .map((e) => ('text' in e ? textOf(e as Text, names) : ''))
            .filter(Boolean)
            .map((t) =>
              t
                .split('\n')
                .map((l) => `    ${l}`)
                .join('\n'),
            ),
        );
        break;
      case 'divider':
        lines.push('-'.repeat(40));
        break;
      case 'actions': {
        // Buttons side by side; each menu on a line of its own, its options after its name.
        const buttons: string[] = [];
        const menus: string[] = [];
        for (const el of block.elements as unknown as Array<Record<string, unknown>>) {
          const out = elementLines(el, block.block_id, '  ');
          if (el.type === 'button') buttons.push(...out);
          else menus.push(...out);
        }
        if (buttons.length) lines.push(...wrapParts('', buttons, ''));
        lines.push(...menus);
        break;
      }
      case 'input':
        lines.push(`${textOf(block.label as Text, names)}: …`);
        break;
      case 'image':
        lines.push(`[image] ${String(b.alt_text ?? '')}`);
        break;
      case 'rich_text':
        lines.push(plain(fallback, names));
        break;
      default:
        if (typeof b.text === 'object') lines.push(textOf(b.text as Text, names));
    }
  }
  return { text: lines.join('\n'), choices };
}

function optionsOf(el: Record<string, unknown>): Option[] {
  return (
    (el.options as Option[] | undefined) ??
    (el.option_groups as Array<{ options: Option[] }> | undefined)?.flatMap((g) => g.options) ??
    []
  );
}

function elementChoices(
  el: Record<string, unknown>,
  blockId: string | undefined,
  add: (c: Choice) => string,
  names: Names,
  ticked: Set<string> | undefined,
  indent: string,
): string[] {
  const confirm = el.confirm ? textOf((el.confirm as { text: Text }).text, names) : undefined;
  const actionId = String(el.action_id ?? '');
  const base = { actionId, blockId, ...(confirm ? { confirm } : {}) };
  const name = textOf(el.placeholder as Text | undefined, names);
  const menu = (title: string, parts: string[]) => wrapParts(`${indent}${title}: `, parts, `${indent}    `);
  switch (el.type) {
    case 'button':
      return [
        add({
          ...base,
          kind: 'button',
          value: el.value as string | undefined,
          label: textOf(el.text as Text, names),
        }),
      ];
    case 'static_select':
    case 'overflow':
    case 'radio_buttons': {
      const initial = (el.initial_option as Option | undefined)?.value;
      const parts = optionsOf(el).map((o) => {
        const text = textOf(o.text, names);
        return add({
          ...base,
          kind: el.type as ChoiceKind,
          label: `${text}${o.value !== undefined && o.value === initial ? ' (current)' : ''}`,
          selected: { text, value: o.value ?? '' },
        });
      });
      const title = name || (el.type === 'overflow' ? 'More' : 'Choose');
      return menu(`${title}${el.type === 'overflow' ? ' …' : ''}`, parts);
    }
    case 'users_select':
    case 'multi_users_select': {
      const parts = names.users().map((u) =>
        add({
          ...base,
          kind: 'users_select',
          label: `@${u.name}`,
          user: u.id,
          selected: { text: u.name, value: u.id },
        }),
      );
      return menu(name || 'Pick a person', parts.length ? parts : ['(nobody else in this workspace)']);
    }
    case 'checkboxes':
    case 'multi_static_select': {
      const on =
        ticked ??
        new Set(((el.initial_options as Option[] | undefined) ?? []).map((o) => o.value ?? '').filter(Boolean));
      const lines = optionsOf(el).map((o) => {
        const text = textOf(o.text, names);
        const isOn = on.has(o.value ?? '');
        return `${indent}${add({
          ...base,
          kind: el.type === 'checkboxes' ? 'checkboxes' : 'multi_static_select',
          label: `${isOn ? '☑' : '☐'} ${text}`,
          selected: { text, value: o.value ?? '' },
          ticked: isOn,
        })}`;
      });
      return [`${indent}${name || 'Tick any (type a number to tick or untick it):'}`, ...lines];
    }
    default:
      // A menu the console has no list for (channels, conversations, external data).
      return name ? [`${indent}${name}: (not available in the console)`] : [];
  }
}
