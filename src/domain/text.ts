// Values the domain returns instead of Slack markup; blocks/ renders them (src/blocks/mrkdwn.ts).
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
