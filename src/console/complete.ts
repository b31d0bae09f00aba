// What the console offers for a half-typed line: Tab completes the next command word from the
// registry, and a line that is almost a command (no slash, a typo) gets the command it meant.
import type { CompleterResult } from 'node:readline';
import type { Command } from '../commands/types.js';

const SLASH = '/dmp';

/** readline's completer: `/d` → `/dmp `, `/dmp sc` → `scans `, `/dmp scans s` → `stuck`. */
export function completeCommand(commands: readonly Command[], line: string): CompleterResult {
  if (!line.includes(' ')) {
    if (SLASH.startsWith(line) && line.length > 0) return [[`${SLASH} `], line];
    if (line.startsWith('/')) return [[], line];
  }
  const rest = line.startsWith(`${SLASH} `) ? line.slice(SLASH.length + 1) : line.startsWith('/') ? undefined : line;
  if (rest === undefined) return [[], line];
  const typed = rest.split(/\s+/);
  const partial = typed.pop() ?? '';
  const done = typed.filter(Boolean).map((w) => w.toLowerCase());
  const next = new Set<string>();
  for (const c of commands) {
    if (c.words.length <= done.length) continue;
    if (!done.every((w, i) => c.words[i] === w)) continue;
    const word = c.words[done.length] as string;
    if (word.startsWith(partial.toLowerCase())) next.add(c.words.length === done.length + 1 ? `${word} ` : word);
  }
  const hits = [...next].sort();
  return [hits, partial];
}
