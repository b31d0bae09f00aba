// Slack's limits, enforced here so no caller has to: 50 blocks a message, 3000 characters a
// section, 150 a header, about 12 000 characters in all. Cut with "…and N more".
import type { KnownBlock } from '@slack/types';

export const MAX_BLOCKS = 50;
export const MAX_SECTION_CHARS = 3000;
export const MAX_CONTEXT_CHARS = 2000;
export const MAX_MESSAGE_CHARS = 12_000;

/** Keeps the first lines that fit in `max` characters; says how many were left out. */
export function cutLines(lines: string[], max: number, maxLines = Number.POSITIVE_INFINITY): string {
  const kept: string[] = [];
  let size = 0;
  for (const line of lines) {
    const more = lines.length - kept.length;
    const tail = `…and ${more} more line${more === 1 ? '' : 's'}`;
    if (kept.length >= maxLines || size + line.length + 1 + tail.length + 1 > max) {
      kept.push(tail);
      break;
    }
    kept.push(line);
    size += line.length + 1;
  }
  return kept.join('\n');
}

export function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max - 40);
  return `${cut}…and ${text.length - cut.length} more characters`;
}

function blockChars(block: KnownBlock): number {
  return JSON.stringify(block).length;
}

/** Clamps every text to its limit and the message to 50 blocks and ~12k characters. */
export function fitBlocks(blocks: KnownBlock[]): KnownBlock[] {
  const clamped = blocks.map(clampBlock);
  const out: KnownBlock[] = [];
  let chars = 0;
  for (let i = 0; i < clamped.length; i++) {
    const block = clamped[i] as KnownBlock;
    const size = blockChars(block);
    const remaining = clamped.length - i;
    if (out.length >= MAX_BLOCKS - 1 || chars + size > MAX_MESSAGE_CHARS * 1.5) {
      out.push({ type: 'context', elements: [{ type: 'mrkdwn', text: `…and ${remaining} more` }] });
      break;
    }
    out.push(block);
    chars += size;
  }
  return out;
}

function clampBlock(block: KnownBlock): KnownBlock {
  if (block.type === 'section') {
    const b = { ...block };
    if (b.text) b.text = { ...b.text, text: cutText(b.text.text, MAX_SECTION_CHARS) };
    if (b.fields) b.fields = b.fields.slice(0, 10).map((f) => ({ ...f, text: cutText(f.text, 2000) }));
    return b;
  }
  if (block.type === 'header')
    return { ...block, text: { ...block.text, text: cutText(block.text.text, 150).slice(0, 150) } };
  if (block.type === 'context') {
    return {
      ...block,
      elements: block.elements
        .slice(0, 10)
        .map((e) =>
          e.type === 'mrkdwn' || e.type === 'plain_text' ? { ...e, text: cutText(e.text, MAX_CONTEXT_CHARS) } : e,
        ),
    };
  }
  return block;
}
