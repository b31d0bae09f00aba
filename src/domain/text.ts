// Values the domain returns instead of Slack markup; blocks/ renders them (src/blocks/mrkdwn.ts).
import { formatDuration } from '../duration.js';

export type Inline =
  | string
  | { user: string }
  | { group: string }
  | { channel: string }
  | { link: string; label?: string }
  | { duration: number }
  /** Words shown in bold: the user's own * or _ in them cannot end the bold early. */
  | { bold: string }
  /** A command, statement or name shown as code (`VACUUM ANALYZE nodes`). */
  | { code: string };
export type RichText = Inline[];
export const user = (id: string): Inline => ({ user: id });
export const group = (id: string): Inline => ({ group: id });
export const channel = (id: string): Inline => ({ channel: id });
export const link = (url: string, label?: string): Inline =>
  label === undefined ? { link: url } : { link: url, label };
export const bold = (text: string): Inline => ({ bold: text });
export const code = (text: string): Inline => ({ code: text });

/** Slack's link and mention sequences a note may carry (never a broadcast: <!here> and the like stay text). */
export const SLACK_SEQUENCE =
  /<((?:https?:\/\/|mailto:)[^\s<>|]+)(?:\|([^<>]*))?>|<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>|<#([CG][A-Z0-9]+)(?:\|([^<>]*))?>|<!subteam\^([A-Z0-9]+)(?:\|[^<>]*)?>/g;

/**
 * Text as people wrote it (a note, a pinned message, a timeline entry), where Slack links and
 * mentions are kept as such: those become Inline values, everything else plain words.
 */
export function linkedText(text: string): RichText {
  const out: RichText = [];
  let last = 0;
  for (const m of text.matchAll(SLACK_SEQUENCE)) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1]) out.push(m[2] === undefined ? { link: m[1] } : { link: m[1], label: m[2] });
    else if (m[3]) out.push({ user: m[3] });
    else if (m[4]) out.push({ channel: m[4] });
    else if (m[6]) out.push({ group: m[6] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/**
 * Words the domain says: a plain string (shown as written, escaped by blocks/) or values. A
 * string stored before the values came (a remediation row, an audit line) is read the same way.
 */
export type Text = string | RichText;

/** A Text as values: a plain string is one piece of plain text. */
export function richOf(t: Text): RichText {
  return typeof t === 'string' ? [t] : t;
}

/**
 * The plain-text form of words, for logs, audit lines and error messages: code keeps its
 * backticks (as people write it in plain text), mentions are @ids, links their label and URL.
 */
export function plainText(t: Text): string {
  if (typeof t === 'string') return t;
  return t.map(plainInline).join('');
}

function plainInline(i: Inline): string {
  if (typeof i === 'string') return i;
  if ('user' in i) return `@${i.user}`;
  if ('group' in i) return `@${i.group}`;
  if ('channel' in i) return `#${i.channel}`;
  if ('duration' in i) return formatDuration(i.duration);
  if ('bold' in i) return i.bold;
  if ('code' in i) return `\`${i.code}\``;
  return i.label === undefined ? i.link : `${i.label} (${i.link})`;
}
