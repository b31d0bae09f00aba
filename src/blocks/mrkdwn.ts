// The one place that writes Slack's mrkdwn from the domain's values (src/domain/text.ts) and the
// one escape of user text (&, <, >), for blocks and fallback text alike.
import type { Inline, RichText } from '../domain/text.js';
import { formatDuration } from '../duration.js';

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Plain text is escaped; mentions, links and durations become Slack's syntax for them. */
export function renderInline(i: Inline): string {
  if (typeof i === 'string') return esc(i);
  if ('user' in i) return `<@${i.user}>`;
  if ('group' in i) return `<!subteam^${i.group}>`;
  if ('channel' in i) return `<#${i.channel}>`;
  if ('duration' in i) return formatDuration(i.duration);
  // <, > and | would end Slack's <link> early.
  const url = i.link.replace(/[<>|]/g, (c) => encodeURIComponent(c));
  return i.label === undefined ? `<${url}>` : `<${url}|${esc(i.label)}>`;
}

export function renderRich(r: RichText): string {
  return r.map(renderInline).join('');
}
