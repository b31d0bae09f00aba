// What Slack itself would refuse, checked on every reply the suites see.
import { expect } from 'vitest';

type Block = {
  type: string;
  text?: { text: string };
  elements?: Array<{ text?: string | { text: string } }>;
  fields?: Array<{ text: string }>;
};

export function expectWithinSlackLimits(message: { text?: string; blocks?: unknown[] }): void {
  const blocks = (message.blocks ?? []) as Block[];
  expect(blocks.length).toBeLessThanOrEqual(50);
  let chars = 0;
  for (const b of blocks) {
    if (b.type === 'section' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(3000);
    if (b.type === 'header' && b.text) expect(b.text.text.length).toBeLessThanOrEqual(150);
    chars += b.text?.text.length ?? 0;
    for (const e of b.elements ?? []) chars += typeof e.text === 'string' ? e.text.length : (e.text?.text.length ?? 0);
    for (const f of b.fields ?? []) chars += f.text.length;
  }
  expect(chars).toBeLessThanOrEqual(13_000);
  expect((message.text ?? '').length).toBeLessThanOrEqual(40_000);
}

/** Text that would betray an internal error to a user. */
export const INTERNAL_ERROR =
  /\bat [\w.<>]+ \(|node:internal|TypeError|ReferenceError|SyntaxError|ECONNREFUSED 127|\/work\/|\/node_modules\/|\bundefined\b|\[object Object\]/;
