// The one place that writes Slack's mrkdwn from the domain's values (src/domain/text.ts) and the
// one escape of user text (&, <, >), for blocks and fallback text alike. Slack's rules:
// https://docs.slack.dev/messaging/formatting-message-text#escaping
import { type Inline, linkedText, type RichText, richOf, SLACK_SEQUENCE, type Text } from '../domain/text.js';
import { formatDuration } from '../duration.js';

export { linkedText };

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * User text made inert inside the bot's own formatting (a title in *bold*): escaped, and the
 * characters that open or close bold, italics, strike-through and code, and a quote at a
 * line's start, replaced by look-alikes that format nothing.
 */
export function escInert(text: string): string {
  return esc(text).replace(/\*/g, '∗').replace(/_/g, 'ˍ').replace(/~/g, '∼').replace(/`/g, 'ˋ');
}

/** Plain text is escaped; mentions, links and durations become Slack's syntax for them. */
export function renderInline(i: Inline): string {
  if (typeof i === 'string') return esc(i);
  if ('user' in i) return `<@${i.user}>`;
  if ('group' in i) return `<!subteam^${i.group}>`;
  if ('channel' in i) return `<#${i.channel}>`;
  if ('duration' in i) return formatDuration(i.duration);
  if ('bold' in i) return `*${escInert(i.bold)}*`;
  // A backtick inside would end the code span early: it becomes a look-alike.
  if ('code' in i) return `\`${esc(i.code).replace(/`/g, 'ˋ')}\``;
  // <, > and | would end Slack's <link> early; & is an entity inside a link too.
  const url = i.link.replace(/[<>|]/g, (c) => encodeURIComponent(c)).replace(/&/g, '&amp;');
  return i.label === undefined ? `<${url}>` : `<${url}|${esc(i.label)}>`;
}

export function renderRich(r: RichText): string {
  return r.map(renderInline).join('');
}

/** Words of the domain rendered: a plain string escaped (as stored rows hold them), values as values. */
export function renderText(t: Text): string {
  return renderRich(richOf(t));
}

/** `linkedText` rendered: the links and mentions stay links and mentions, the rest is escaped once. */
export function renderLinked(text: string): string {
  return renderRich(linkedText(text));
}

/**
 * A message as Slack sends it to the bot (mrkdwn: user text escaped, links as <…>) turned into
 * the stored form `renderLinked` reads: entities decoded, links and mentions kept.
 */
export function fromSlackText(mrkdwn: string): string {
  const decode = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  let out = '';
  let last = 0;
  for (const m of mrkdwn.matchAll(SLACK_SEQUENCE)) {
    out += decode(mrkdwn.slice(last, m.index));
    // A link's URL and label arrive escaped too; they are stored as written.
    out += m[1] ? renderStoredLink(m[1], m[2], decode) : m[0];
    last = m.index + m[0].length;
  }
  return out + decode(mrkdwn.slice(last));
}

function renderStoredLink(url: string, label: string | undefined, decode: (s: string) => string): string {
  return label === undefined ? `<${decode(url)}>` : `<${decode(url)}|${decode(label)}>`;
}
