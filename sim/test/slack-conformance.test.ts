// The Slack fake refuses what Slack refuses and flags what Slack would show otherwise than meant
// (sim/src/slack-conformance.ts), answered through the real WebClient as Slack answers.
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { checkMessage, mrkdwnFlags } from '../src/slack-conformance.js';
import { type SlackFake, startSlackFake } from '../src/slack-fake.js';

describe('the Slack fake checks what Slack checks', () => {
  let slack: SlackFake;
  let client: WebClient;

  beforeAll(async () => {
    slack = await startSlackFake({
      channels: {
        G0PRIVATE1: { name: 'private', is_private: true, member: false },
        C0PUBLIC01: { name: 'public', member: false },
      },
    });
    client = new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } });
  });
  beforeEach(() => slack.reset());
  afterAll(() => slack.close());

  const refusal = async (p: Promise<unknown>) => {
    const err = (await p.then(
      () => undefined,
      (e: unknown) => e,
    )) as { data?: { error?: string; response_metadata?: { messages?: string[] } } } | undefined;
    return { error: err?.data?.error, messages: err?.data?.response_metadata?.messages ?? [] };
  };

  it('refuses a section over 3,000 characters, a long button and a sixth overflow option, as Slack words it', async () => {
    const r = await refusal(
      client.chat.postMessage({
        channel: 'C1',
        text: 'x',
        blocks: [
          { type: 'section', text: { type: 'mrkdwn', text: 'a'.repeat(3001) } },
          {
            type: 'actions',
            elements: [
              { type: 'button', action_id: 'b', text: { type: 'plain_text', text: 'b'.repeat(76) } },
              {
                type: 'overflow',
                action_id: 'o',
                options: Array.from({ length: 6 }, (_, n) => ({
                  text: { type: 'plain_text', text: `o${n}` },
                  value: `${n}`,
                })),
              },
            ],
          },
        ],
      }),
    );
    expect(r.error).toBe('invalid_blocks');
    expect(r.messages).toEqual(
      expect.arrayContaining([
        '[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]',
        '[ERROR] must be less than 76 characters [json-pointer:/blocks/1/elements/0/text/text]',
        '[ERROR] must contain at most 5 items [json-pointer:/blocks/1/elements/1/options]',
      ]),
    );
  });

  it('refuses block text past about 12,000 characters as msg_too_long', async () => {
    const blocks = Array.from({ length: 5 }, () => ({
      type: 'section',
      text: { type: 'mrkdwn', text: 'y'.repeat(2900) },
    }));
    expect((await refusal(client.chat.postMessage({ channel: 'C1', text: 'x', blocks }))).error).toBe('msg_too_long');
  });

  it('answers not_in_channel where the bot is not a member; a public channel can be joined, a private one not', async () => {
    expect((await refusal(client.chat.postMessage({ channel: 'G0PRIVATE1', text: 'hi' }))).error).toBe(
      'not_in_channel',
    );
    expect((await refusal(client.conversations.join({ channel: 'G0PRIVATE1' }))).error).toBe(
      'method_not_supported_for_channel_type',
    );
    expect((await refusal(client.chat.postMessage({ channel: 'C0PUBLIC01', text: 'hi' }))).error).toBe(
      'not_in_channel',
    );
    await client.conversations.join({ channel: 'C0PUBLIC01' });
    expect((await client.chat.postMessage({ channel: 'C0PUBLIC01', text: 'hi' })).ok).toBe(true);
  });

  it('flags text that would render otherwise than meant, and passes what is escaped', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'usage: /dmp logs <app> & more <!channel>' });
    const flags = slack.violations.map((v) => v.flag);
    expect(flags.some((f) => f.startsWith('raw < forms no link'))).toBe(true);
    expect(flags.some((f) => f.startsWith('raw & not written'))).toBe(true);
    expect(flags.some((f) => f.startsWith('broadcast <!channel>'))).toBe(true);
    expect(mrkdwnFlags('&amp;lt;b&amp;gt;', '/text')[0]).toContain('escaped twice');
    const fine =
      'a &lt;b&gt; &amp; <@U0ALICE01> <#C0123|ops> <https://x.example/?a=1&amp;b=2|graph> <!date^1700000000^{time}|10:00>\n> quoted';
    expect(
      checkMessage({ text: fine, blocks: [{ type: 'section', text: { type: 'mrkdwn', text: fine } }] }).flags,
    ).toEqual([]);
  });
});
