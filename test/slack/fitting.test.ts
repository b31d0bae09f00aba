// The one fitting step on the wire (src/handlers/slack-client.ts): the real WebClient, through
// the fetch every client of the bot is given, against the strict Slack fake. Long sections
// arrive split, whole; what does not fit in a message arrives as a file in its thread; a refusal
// of the blocks is answered with a text-only version, and the cause is logged.

import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fitMessage, splitText } from '../../src/blocks/fit.js';
import { slackClientOptions } from '../../src/handlers/slack-client.js';
import { createLogger } from '../../src/log.js';
import { assertSlackConformance } from '../helpers/bot.js';

const CHANNEL = 'C0FITTING1';
const sectionTexts = (blocks: unknown[] | undefined): string[] =>
  ((blocks ?? []) as Array<{ type: string; text?: { text: string } }>)
    .filter((b) => b.type === 'section')
    .map((b) => b.text?.text ?? '');

describe('fitting every payload to Slack', () => {
  let slack: SlackFake;
  let client: WebClient;
  const logs: string[] = [];

  beforeAll(async () => {
    slack = await startSlackFake();
    const log = createLogger('debug', { write: (line: string) => void logs.push(line) });
    client = new WebClient('xoxb-fit', {
      ...slackClientOptions(slack.apiUrl, undefined, log),
      retryConfig: { retries: 0 },
    });
  });
  beforeEach(() => {
    slack.reset();
    logs.length = 0;
  });
  afterAll(async () => {
    assertSlackConformance(slack);
    await slack.close();
  });

  it('splits text on line boundaries, keeping every character and code fences balanced', () => {
    const lines = Array.from({ length: 200 }, (_, n) => `line ${n} ${'x'.repeat(20)}`);
    const text = lines.join('\n');
    const pieces = splitText(text, 3000);
    expect(pieces.length).toBeGreaterThan(1);
    for (const p of pieces) expect(p.length).toBeLessThanOrEqual(3000);
    expect(pieces.join('\n')).toBe(text);
    const code = splitText(`\`\`\`\n${text}\n\`\`\``, 3000);
    for (const p of code) expect((p.match(/```/g) ?? []).length % 2).toBe(0);
    // Sixty blocks: what does not fit in fifty is handed back for a file.
    const many = fitMessage({ text: 'x', blocks: Array.from({ length: 60 }, (_, n) => section(`block ${n}`)) });
    expect((many.payload.blocks as unknown[]).length).toBeLessThan(50);
    expect(many.overflow).toContain('block 59');
  });

  it('posts a 3,500-character section as two sections holding all of it', async () => {
    const note = Array.from({ length: 70 }, (_, n) => `${String(n).padStart(2, '0')} ${'n'.repeat(46)}`).join('\n');
    expect(note.length).toBeGreaterThan(3400);
    const res = await client.chat.postMessage({ channel: CHANNEL, text: 'a note', blocks: [section(note)] });
    const posted = slack.message(CHANNEL, String(res.ts));
    const texts = sectionTexts(posted?.blocks);
    expect(texts.length).toBe(2);
    expect(texts.join('\n')).toBe(note);
  });

  it('puts what does not fit in a message into a file in its thread, and says so', async () => {
    const chunk = (n: number) => `${n}: ${'y'.repeat(2900)}`;
    const blocks = Array.from({ length: 8 }, (_, n) => section(chunk(n)));
    const res = await client.chat.postMessage({ channel: CHANNEL, text: 'long report', blocks });
    const ts = String(res.ts);
    const posted = slack.message(CHANNEL, ts);
    expect(JSON.stringify(posted?.blocks)).toContain('The rest did not fit');
    const file = await until(() => slack.files.find((f) => f.thread_ts === ts));
    const shown = `${sectionTexts(posted?.blocks).join('\n')}\n${file.content}`;
    for (let n = 0; n < 8; n++) expect(shown).toContain(chunk(n));
  });

  it('answers a refusal of the blocks with a text-only version and logs why', async () => {
    // Two blocks with one block_id: nothing the fitting step changes, and Slack refuses it.
    const blocks = [
      { type: 'section', block_id: 'same', text: { type: 'mrkdwn', text: 'first &amp; foremost' } },
      { type: 'section', block_id: 'same', text: { type: 'mrkdwn', text: 'second' } },
    ];
    const res = await client.chat.postMessage({ channel: CHANNEL, text: 'refused', blocks });
    expect(res.ok).toBe(true);
    const calls = slack.callsTo('chat.postMessage');
    expect(calls.map((c) => c.result.ok)).toEqual([false, true]);
    expect(calls[0]?.result.error).toBe('invalid_blocks');
    expect(calls[1]?.args.blocks).toBeUndefined();
    const posted = slack.message(CHANNEL, String(res.ts));
    expect(posted?.text).toContain('first &amp; foremost');
    expect(posted?.text).toContain('second');
    const warned = logs.find((l) => l.includes('text-only'));
    expect(warned).toContain('duplicate block_id');
  });

  it('fits and retries a response_url reply the same way', async () => {
    const url = slack.responseUrl({ channel: CHANNEL, user: 'U0ALICE01' });
    const blocks = [
      { type: 'section', block_id: 'same', text: { type: 'mrkdwn', text: 'one' } },
      { type: 'section', block_id: 'same', text: { type: 'mrkdwn', text: 'two' } },
    ];
    const fetchFn = slackClientOptions(slack.apiUrl).fetch as typeof fetch;
    const res = await fetchFn(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ response_type: 'in_channel', text: 'x', blocks }),
    });
    expect(res.status).toBe(200);
    const shown = slack.messages.find((m) => m.via === 'response_url');
    expect(shown?.blocks).toBeUndefined();
    expect(shown?.text).toBe('one\ntwo');
  });
});

function section(text: string) {
  return { type: 'section' as const, text: { type: 'mrkdwn' as const, text } };
}

async function until<T>(f: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}
