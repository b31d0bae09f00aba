import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { SLACK_DEFAULTS } from '@dmp-bot/sim/slack-signing';
import { type SocketModeFake, startSocketModeFake } from '@dmp-bot/sim/slack-socket-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BotHandle, startBot } from '../../src/bot.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

describe('Socket Mode', () => {
  let slack: SlackFake;
  let socket: SocketModeFake;
  let store: TestDatabase;
  let bot: BotHandle;

  beforeAll(async () => {
    slack = await startSlackFake();
    socket = await startSocketModeFake(slack);
    store = await createTestDatabase({ prefix: 'bot' });
    const config = loadConfig({
      SLACK_BOT_TOKEN: 'xoxb-sock',
      SLACK_APP_TOKEN: 'xapp-1-sock',
      SLACK_API_URL: slack.apiUrl,
      PORT: '0',
      BOT_DATABASE_URL: store.url,
    } as NodeJS.ProcessEnv);
    expect(config.slackMode).toBe('socket');
    bot = await startBot(config, { log: createLogger('silent'), host: '127.0.0.1' });
    await socket.connected();
  });
  afterAll(async () => {
    await bot?.stop();
    await socket?.close();
    await slack?.close();
    await store?.drop();
  });

  it('answers a slash command in its envelope ack, and still serves /health on PORT', async () => {
    const ack = await socket.send('slash_commands', {
      token: 'x',
      team_id: SLACK_DEFAULTS.teamId,
      channel_id: SLACK_DEFAULTS.channelId,
      user_id: SLACK_DEFAULTS.userId,
      command: '/dmp',
      text: 'help',
      response_url: slack.responseUrl({ channel: SLACK_DEFAULTS.channelId }),
      trigger_id: '1.2.3',
      api_app_id: 'A0DMPBOT1',
    });
    expect(JSON.stringify(ack)).toContain('/dmp scans stuck');
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
    const health = await fetch(`http://127.0.0.1:${bot.port}/health`);
    expect(((await health.json()) as { components: Record<string, string> }).components.slack).toBe('socket');
  });

  it('survives its WebSocket being cut: /health says degraded until it has reconnected by itself, then answers again', async () => {
    const health = async () =>
      (await (await fetch(`http://127.0.0.1:${bot.port}/health`)).json()) as {
        status: string;
        components: Record<string, string>;
      };
    socket.drop({ stayDown: true });
    // Degraded while the socket is down, and the process still serves HTTP.
    let h = await health();
    for (let i = 0; i < 200 && h.status !== 'degraded'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      h = await health();
    }
    expect(h.status).toBe('degraded');
    expect(h.components.slack).toMatch(/^socket (disconnected|reconnecting|connecting)$/);
    socket.up();
    // Back by itself, after the client's own back-off.
    await socket.connected(45_000);
    let status = '';
    for (let i = 0; i < 100 && status !== 'healthy'; i++) {
      status = (await health()).status;
      if (status !== 'healthy') await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe('healthy');
    const ack = await socket.send('slash_commands', {
      token: 'x',
      team_id: SLACK_DEFAULTS.teamId,
      channel_id: SLACK_DEFAULTS.channelId,
      user_id: SLACK_DEFAULTS.userId,
      command: '/dmp',
      text: 'help',
      response_url: slack.responseUrl({ channel: SLACK_DEFAULTS.channelId }),
      trigger_id: '1.2.4',
      api_app_id: 'A0DMPBOT1',
    });
    expect(JSON.stringify(ack)).toContain('/dmp scans stuck');
  }, 60_000);
});
