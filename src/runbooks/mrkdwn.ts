// The little Slack mrkdwn a procedure may write itself (mentions and links in reference
// tables): escaping and mention syntax, with no dependency on Slack's packages.

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `<@U…>` for a user, `<!subteam^S…>` for a user group; undefined for anything else. */
export function mention(id: string): string | undefined {
  const v = id.trim();
  if (/^[UW][A-Z0-9]{2,}$/.test(v)) return `<@${v}>`;
  if (/^S[A-Z0-9]{2,}$/.test(v)) return `<!subteam^${v}>`;
  return undefined;
}
