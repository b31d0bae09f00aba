// Markdown (CommonMark with GitHub's tables) written from the domain's values, for documents that
// leave Slack (the post-mortem file, GitHub issue bodies). User text is escaped here once, so a
// title with `*`, `|` or `<b>` in it reads as written, and mentions and links become Markdown's.
import { formatDuration } from '../duration.js';
import { type Inline, linkedText, type RichText } from './text.js';

/**
 * What could format, link, open HTML or end a table cell, backslash-escaped: `\ ` * [ ] < | ~`
 * anywhere, `_` unless inside a word (CommonMark never emphasises there: `idx_nodes_scan` stays
 * as written), `&` only where it would start an entity. `>` matters only at a line's start, which
 * inline text never is.
 */
const SPECIAL = /[\\`*[\]<|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|&(?=#?[A-Za-z0-9]+;)/g;

/** Plain text as inline Markdown: specials escaped, line breaks as spaces. */
export function mdText(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(SPECIAL, (c) => `\\${c}`);
}

/** Names to show for Slack user ids (`U…`), when the document knows them. */
export type Names = ReadonlyMap<string, string>;

function mdUrl(url: string): string {
  // Angle brackets keep spaces and parentheses inside the destination.
  return /[\s()<>]/.test(url) ? `<${url.replace(/[<>]/g, encodeURIComponent)}>` : url;
}

/** A code span whose fence is longer than any run of backticks inside it (CommonMark). */
function mdCode(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

export function mdInline(i: Inline, names?: Names): string {
  if (typeof i === 'string') return mdText(i);
  if ('user' in i) return mdText(`@${names?.get(i.user) ?? i.user}`);
  if ('group' in i) return mdText(`@${i.group}`);
  if ('channel' in i) return mdText(`#${i.channel}`);
  if ('duration' in i) return formatDuration(i.duration);
  if ('bold' in i) return `**${mdText(i.bold)}**`;
  if ('code' in i) return mdCode(i.code);
  return `[${mdText(i.label ?? i.link)}](${mdUrl(i.link)})`;
}

export function mdRich(r: RichText, names?: Names): string {
  return r.map((i) => mdInline(i, names)).join('');
}

/** Text in the bot's stored form (plain words with Slack links and mentions kept), as Markdown. */
export function mdStored(text: string, names?: Names): string {
  return mdRich(linkedText(text), names);
}

export function mdLink(label: string, url: string): string {
  return `[${mdText(label)}](${mdUrl(url)})`;
}

/** A table row of cells already written as inline Markdown. */
export function mdRow(cells: string[]): string {
  return `| ${cells.map((c) => c || ' ').join(' | ')} |`;
}

export function mdTable(head: string[], rows: string[][]): string[] {
  return [mdRow(head), mdRow(head.map(() => '---')), ...rows.map(mdRow)];
}

/**
 * Several lines people wrote (a root cause, learnings): each line escaped, but a list marker
 * (`- `, `* `, `1. `, a `[ ]` checkbox) at its start kept, so their lists stay lists; anything else
 * at a line's start that would make a heading, quote, rule or table is escaped too.
 */
export function mdParagraphs(text: string): string {
  return text
    .split(/\r?\n/)
    .map((raw) => {
      const line = raw.trimEnd();
      const list = /^(\s*(?:[-*+]|\d{1,9}[.)])\s+(?:\[[ xX]\]\s+)?)(.*)$/.exec(line);
      if (list) return `${list[1]}${mdText(list[2] ?? '')}`;
      return mdText(line).replace(/^(\s*)([#>+=-])/, '$1\\$2');
    })
    .join('\n');
}
