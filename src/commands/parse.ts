// Turns the text after `/dmp` into a command and its arguments; unknown words get the
// nearest command by edit distance.
import type { Command } from './types.js';

/**
 * The text of a `/dmp` as Slack sends it with `should_escape: true` (manifest.yml), back to what
 * was typed: links (`<https://…|…>`, `<mailto:a@b|a@b>`) become the address, and `&amp;`, `&lt;`,
 * `&gt;` the characters; mentions stay as Slack wrote them (`<@U123|lee>`, `<#C123|ops>`,
 * `<!subteam^S123|@dba>`), since an id is what a command needs of a person or channel.
 */
export function fromSlackText(text: string): string {
  return text
    .replace(/<((?:https?|mailto):[^<>|\s]+)(?:\|[^<>]*)?>/g, (_, link: string) =>
      link.startsWith('mailto:') ? link.slice('mailto:'.length) : link,
    )
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Splits on whitespace after stripping control characters; keeps quoted phrases together. */
export function tokenize(text: string): string[] {
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, ' ').slice(0, 4000);
  const tokens: string[] = [];
  for (const m of clean.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)) tokens.push(m[1] ?? m[2] ?? m[3] ?? '');
  return tokens.filter((t) => t !== '');
}

export type Resolution = { command: Command; args: string[] } | { command: undefined; suggestion?: Command };

export function resolve(commands: readonly Command[], text: string): Resolution {
  const tokens = tokenize(text);
  const lower = tokens.map((t) => t.toLowerCase());
  let best: Command | undefined;
  for (const c of commands) {
    if (c.words.length > lower.length) continue;
    if (c.words.every((w, i) => w === lower[i]) && (!best || c.words.length > best.words.length)) best = c;
  }
  if (best) return { command: best, args: tokens.slice(best.words.length) };
  return { command: undefined, suggestion: nearest(commands, lower) };
}

function nearest(commands: readonly Command[], words: string[]): Command | undefined {
  if (words.length === 0) return undefined;
  const started = byPrefix(commands, words);
  if (started) return started;
  let best: { c: Command; d: number } | undefined;
  for (const c of commands) {
    const phrase = words.slice(0, c.words.length).join(' ');
    const d = distance(phrase, c.words.join(' '));
    if (!best || d < best.d) best = { c, d };
  }
  if (!best) return undefined;
  const limit = Math.max(2, Math.floor(best.c.words.join(' ').length / 3));
  return best.d <= limit ? best.c : undefined;
}

/** The shortest command whose words the typed ones begin (`sev` → `severity`, `scans st` → `scans stuck`). */
function byPrefix(commands: readonly Command[], words: string[]): Command | undefined {
  let best: Command | undefined;
  for (const c of commands) {
    if (words.length > c.words.length) continue;
    if (!words.every((w, i) => c.words[i]?.startsWith(w))) continue;
    if (!best || c.words.join(' ').length < best.words.join(' ').length) best = c;
  }
  return best;
}

/** Levenshtein distance, capped inputs so a 100 kB argument cannot cost seconds. */
export function distance(a: string, b: string): number {
  const x = a.slice(0, 64);
  const y = b.slice(0, 64);
  let prev = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) {
      cur[j] = Math.min(
        (prev[j] ?? 0) + 1,
        (cur[j - 1] ?? 0) + 1,
        (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1),
      );
    }
    prev = cur;
  }
  return prev[y.length] ?? 0;
}
