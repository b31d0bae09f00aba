// Renders Block Kit as readable text for the console: headers underlined, mrkdwn softened,
// buttons and select options listed as numbered choices the user picks by typing the number.
import type { KnownBlock } from '@slack/types';

export interface Choice {
  /** What pressing it sends back: a block action on this message. */
  actionId: string;
  blockId?: string;
  value?: string;
  label: string;
  kind: 'button' | 'static_select';
  selected?: { text: string; value: string };
  confirm?: string;
}

export interface Rendered {
  text: string;
  choices: Choice[];
}

/** Slack mrkdwn to plain text: links, mentions, entities, bold/code markers. */
export function plain(mrkdwn: string): string {
  return (
    mrkdwn
      // Slack shows a date token in the reader's time zone; the console shows its fallback text.
      .replace(/<!date\^[^|>]*\|([^>]*)>/g, '$1')
      .replace(/<#([A-Z0-9]+)\|([^>]+)>/g, '#$2')
      .replace(/<([^|>]+)\|([^>]+)>/g, '$2 ($1)')
      .replace(/<@([A-Z0-9]+)>/g, '@$1')
      .replace(/<#([A-Z0-9]+)(\|[^>]*)?>/g, '#$1')
      .replace(/<!subteam\^([A-Z0-9]+)[^>]*>/g, '@$1')
      .replace(/<!(here|channel|everyone)>/g, '@$1')
      .replace(/<(https?:[^>]+)>/g, '$1')
      .replace(/:large_green_circle:/g, '[ok]')
      .replace(/:large_yellow_circle:/g, '[warn]')
      .replace(/:red_circle:/g, '[CRIT]')
      .replace(/:white_circle:/g, '[--]')
      .replace(/(^|[\s(])\*([^*\n]+)\*(?=[\s.,:;)!?]|$)/g, '$1$2')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&')
  );
}

type Text = { type: string; text: string };

function textOf(t: Text | undefined): string {
  if (!t) return '';
  return t.type === 'mrkdwn' ? plain(t.text) : t.text;
}

/** `startAt` numbers the choices after those already on screen. */
export function renderBlocks(blocks: KnownBlock[] | undefined, fallback: string, startAt = 1): Rendered {
  if (!blocks || blocks.length === 0) return { text: plain(fallback), choices: [] };
  const lines: string[] = [];
  const choices: Choice[] = [];
  const addChoice = (c: Choice) => {
    choices.push(c);
    return `[${startAt + choices.length - 1}] ${c.label}`;
  };
  for (const block of blocks) {
    const b = block as KnownBlock & Record<string, unknown>;
    switch (block.type) {
      case 'header': {
        const t = textOf(block.text as Text);
        lines.push(t, '='.repeat(Math.min(t.length, 72)));
        break;
      }
      case 'section': {
        if (block.text) lines.push(textOf(block.text as Text));
        for (const f of block.fields ?? []) lines.push(`  ${textOf(f as Text)}`);
        const acc = block.accessory as unknown as Record<string, unknown> | undefined;
        if (acc && (acc.type === 'button' || acc.type === 'static_select'))
          lines.push(`  ${elementChoices(acc, block.block_id, addChoice).join('  ')}`);
        break;
      }
      case 'context':
        lines.push(
          ...block.elements
            .map((e) => ('text' in e ? textOf(e as Text) : ''))
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
        const parts: string[] = [];
        for (const el of block.elements)
          parts.push(...elementChoices(el as unknown as Record<string, unknown>, block.block_id, addChoice));
        if (parts.length) lines.push(parts.join('   '));
        break;
      }
      case 'input':
        lines.push(`${textOf(block.label as Text)}: …`);
        break;
      case 'rich_text':
        lines.push(fallback);
        break;
      default:
        if (typeof b.text === 'object') lines.push(textOf(b.text as Text));
    }
  }
  return { text: lines.join('\n'), choices };
}

function elementChoices(
  el: Record<string, unknown>,
  blockId: string | undefined,
  add: (c: Choice) => string,
): string[] {
  const confirm = el.confirm ? textOf((el.confirm as { text: Text }).text) : undefined;
  if (el.type === 'button') {
    return [
      add({
        kind: 'button',
        actionId: String(el.action_id),
        blockId,
        value: el.value as string | undefined,
        label: textOf(el.text as Text),
        confirm,
      }),
    ];
  }
  if (el.type === 'static_select') {
    const label = textOf(el.placeholder as Text) || 'Choose';
    const options =
      (el.options as Array<{ text: Text; value: string }> | undefined) ??
      (el.option_groups as Array<{ options: Array<{ text: Text; value: string }> }> | undefined)?.flatMap(
        (g) => g.options,
      ) ??
      [];
    return options.map((o) =>
      add({
        kind: 'static_select',
        actionId: String(el.action_id),
        blockId,
        label: `${label}: ${textOf(o.text)}`,
        selected: { text: textOf(o.text), value: o.value },
        confirm,
      }),
    );
  }
  return [];
}
