// Starts a whole bot in HTTP mode against wire-level fakes and real PostgreSQL/Redis, and
// drives it as Slack does: signed slash commands, button clicks and modal submissions.

import { type SlackFake, type SlackFakeOptions, startSlackFake } from '@dmp-bot/sim/slack-fake';
import {
  type BlockActionInput,
  blockActionPayload,
  interactionBody,
  SLACK_DEFAULTS,
  signSlackRequest,
  slashCommandBody,
  type ViewSubmissionInput,
  viewSubmissionPayload,
} from '@dmp-bot/sim/slack-signing';
import { type BotHandle, startBot } from '../../src/bot.js';
import { configSecrets, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { Redactor } from '../../src/redact.js';
import { createTestDatabase, type TestDatabase } from './pg.js';

export const SIGNING_SECRET = 'test-signing-secret-8f2a';
export const BOT_TOKEN = 'xoxb-test-bot-token-1234';

export interface TestBot {
  bot: BotHandle;
  slack: SlackFake;
  url: string;
  store: TestDatabase;
  /** Log lines the bot wrote (JSON strings), for secret-leak assertions. */
  logs: string[];
  slash(
    text: string,
    opts?: { user?: string; channel?: string; timestamp?: number },
  ): Promise<{ status: number; body: string; json: unknown; responseUrl: string }>;
  click(
    input: Omit<BlockActionInput, 'responseUrl' | 'user' | 'channel'> & { user?: string; channel?: string },
  ): Promise<{ status: number; body: string }>;
  submit(
    input: Omit<ViewSubmissionInput, 'user'> & { user?: string },
  ): Promise<{ status: number; body: string; json: unknown }>;
  post(path: string, rawBody: string, headers: Record<string, string>): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

export interface TestBotOptions {
  env?: Record<string, string | undefined>;
  slack?: SlackFakeOptions;
}

export async function startTestBot(opts: TestBotOptions = {}): Promise<TestBot> {
  const slack = await startSlackFake(opts.slack);
  const store = await createTestDatabase({ prefix: 'bot' });
  const logs: string[] = [];
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    BOT_DATABASE_URL: store.url,
    ...opts.env,
  } as NodeJS.ProcessEnv);
  // As main.ts does: one Redactor from the config for the logger and the bot.
  const redactor = new Redactor(configSecrets(config));
  const log = createLogger('debug', { write: (line: string) => void logs.push(line) }, redactor);
  const bot = await startBot(config, { log, redactor, host: '127.0.0.1' });
  const url = `http://127.0.0.1:${bot.port}`;
  return {
    bot,
    store,
    logs,
    ...driveBot(url, slack),
    async close() {
      await bot.stop();
      await slack.close();
      await store.drop();
      assertSlackConformance(slack);
    },
  };
}

/** What drives a bot as Slack does, for one in this process or one spawned (`node dist/main.js`) at `url`. */
export type BotDriver = Pick<TestBot, 'slack' | 'url' | 'slash' | 'click' | 'submit' | 'post'>;

export function driveBot(url: string, slack: SlackFake): BotDriver {
  const post: TestBot['post'] = async (path, rawBody, headers) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers, body: rawBody });
    return { status: res.status, body: await res.text() };
  };
  const signedPost = (raw: string, timestamp?: number) =>
    post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw, timestamp));

  return {
    slack,
    url,
    async slash(text, o = {}) {
      const responseUrl = slack.responseUrl({
        channel: o.channel ?? SLACK_DEFAULTS.channelId,
        user: o.user ?? SLACK_DEFAULTS.userId,
      });
      const raw = slashCommandBody({
        command: '/dmp',
        text,
        user_id: o.user ?? SLACK_DEFAULTS.userId,
        channel_id: o.channel ?? SLACK_DEFAULTS.channelId,
        response_url: responseUrl,
      });
      const res = await signedPost(raw, o.timestamp);
      let json: unknown;
      try {
        json = JSON.parse(res.body);
      } catch {
        json = undefined;
      }
      slack.checkAck(json, 'slash ack');
      return { ...res, json, responseUrl };
    },
    async click(input) {
      const channel = input.channel ?? SLACK_DEFAULTS.channelId;
      const user = input.user ?? SLACK_DEFAULTS.userId;
      const responseUrl = slack.responseUrl({ channel, user, messageTs: input.messageTs });
      return signedPost(interactionBody(blockActionPayload({ ...input, user, channel, responseUrl })));
    },
    async submit(input) {
      const res = await signedPost(
        interactionBody(viewSubmissionPayload({ ...input, user: input.user ?? SLACK_DEFAULTS.userId })),
      );
      let json: unknown;
      try {
        json = res.body ? JSON.parse(res.body) : undefined;
      } catch {
        json = undefined;
      }
      slack.checkAck(json, 'view ack');
      return { ...res, json };
    },
    post,
  };
}

/** Fails the test when anything the bot sent would render otherwise than meant (sim/src/slack-conformance.ts). */
export function assertSlackConformance(slack: SlackFake): void {
  if (slack.violations.length === 0) return;
  const lines = [...new Set(slack.violations.map((v) => `${v.method}: ${v.flag}`))].slice(0, 30);
  throw new Error(`the bot sent text Slack would render wrongly:\n${lines.join('\n')}`);
}

/** All text a Slack call or response carried, flattened, for "does it mention X" assertions. */
export function allText(value: unknown): string {
  return JSON.stringify(value ?? '');
}
