// Slack's limits as the renderers see them; the fitting itself is src/blocks/fit.ts, applied to
// every payload on the wire. cutLines/cutText are for summaries that are meant to be short.
import type { KnownBlock } from '@slack/types';
import { splitBlocks } from './fit.js';

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

/**
 * Each block within its own limits (a long section split on line boundaries, fields and
 * elements past their counts moved to blocks of their own); nothing is cut. The message's
 * block count and total are kept on the wire (src/handlers/slack-client.ts), which puts what
 * does not fit into a file the message names.
 */
export function fitBlocks(blocks: KnownBlock[]): KnownBlock[] {
  return splitBlocks(blocks) as KnownBlock[];
}
