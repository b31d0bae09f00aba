// The one place that writes Slack's mrkdwn from the domain's values (src/domain/text.ts) and the
// one escape of user text (&, <, >), for blocks and fallback text alike.
import type { Inline, RichText } from '../domain/text.js';
import { formatDuration } from '../duration.js';

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderInline(x: Inline): string {
  if (typeof x === 'string') return esc(x);
  if ('user' in x) return `<@${x.user}>`;
  if ('group' in x) return `<!subteam^${x.group}>`;
  if ('channel' in x) return `<#${x.channel}>`;
  if ('link' in x) return x.label === undefined ? `<${x.link}>` : `<${x.link}|${esc(x.label)}>`;
  return formatDuration(x.duration);
}

export function renderRich(text: RichText): string {
  return text.map(renderInline).join('');
}
