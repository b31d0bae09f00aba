// Proves the fakes speak Slack's wire format to the real Bolt: a signed slash command and a
// signed button click go into Bolt's HTTP receiver, and Bolt's replies land in the Slack fake.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackFake } from '@dmp-bot/sim/slack-fake';
import { startSlackFake } from '@dmp-bot/sim/slack-fake';
import { blockActionPayload, interactionBody, signSlackRequest, slashCommandBody } from '@dmp-bot/sim/slack-signing';
import { App, LogLevel } from '@slack/bolt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SECRET = 'signing-secret';
const TOKEN = 'xoxb-bolt';

describe('bolt round trip through the fakes', () => {
  let slack: SlackFake;
  let app: App;
  let url: string;

  beforeEach(async () => {
    slack = await startSlackFake({
      botToken: TOKEN,
      users: { U0ALICE01: { name: 'alice', email: 'alice@example.com' } },
    });
    app = new App({
      token: TOKEN,
      signingSecret: SECRET,
      logLevel: LogLevel.ERROR,
      clientOptions: { slackApiUrl: slack.apiUrl },
    });
    app.command('/dmp', async ({ ack, respond, client, command }) => {
      await ack();
      const info = await client.users.info({ user: command.user_id });
      await respond({ response_type: 'in_channel', text: `health for ${info.user?.profile?.email}` });
      await client.chat.postMessage({
        channel: command.channel_id,
        text: 'Restart?',
        blocks: [
          {
            type: 'actions',
            elements: [
              { type: 'button', action_id: 'restart', text: { type: 'plain_text', text: 'Restart' }, value: 'w' },
            ],
          },
        ],
      });
    });
    app.action('restart', async ({ ack, respond }) => {
      await ack();
      await respond({ replace_original: true, text: 'Restarting workers' });
    });
    const server = (await app.start(0)) as Server;
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  });

  afterEach(async () => {
    await app.stop();
    await slack.close();
  });

  const send = (body: string, headers = signSlackRequest(SECRET, body)) =>
    fetch(url, { method: 'POST', headers, body });

  it('answers a signed slash command and a click on the button it posted', async () => {
    const commandBody = slashCommandBody({
      user_id: 'U0ALICE01',
      channel_id: 'C0OPS0001',
      text: 'health',
      response_url: slack.responseUrl({ channel: 'C0OPS0001', user: 'U0ALICE01' }),
    });
    expect((await send(commandBody)).status).toBe(200);
    await slack.waitFor('chat.postMessage');
    expect(slack.responses[0]?.body).toMatchObject({ text: 'health for alice@example.com' });
    const buttonMessage = slack.topLevel('C0OPS0001').find((m) => m.text === 'Restart?');
    expect(buttonMessage).toBeDefined();

    const click = blockActionPayload({
      user: 'U0ALICE01',
      channel: 'C0OPS0001',
      messageTs: buttonMessage?.ts ?? '',
      actionId: 'restart',
      value: 'w',
      responseUrl: slack.responseUrl({ channel: 'C0OPS0001', messageTs: buttonMessage?.ts ?? '', user: 'U0ALICE01' }),
    });
    expect((await send(interactionBody(click))).status).toBe(200);
    await slack.waitFor((a) => a.kind === 'response' && a.body.text === 'Restarting workers');
    expect(slack.message('C0OPS0001', buttonMessage?.ts ?? '')?.text).toBe('Restarting workers');
  });

  it('is refused by Bolt when the signature is stale or wrong', async () => {
    const body = slashCommandBody({ text: 'health' });
    const stale = signSlackRequest(SECRET, body, Math.floor(Date.now() / 1000) - 600);
    expect((await send(body, stale)).status).toBeGreaterThanOrEqual(400);
    expect((await send(body, signSlackRequest('not-the-secret', body))).status).toBeGreaterThanOrEqual(400);
  });
});
