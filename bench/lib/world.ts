// What every benchmark runs against: the Slack fake, a throwaway bot database (the local
// PostgreSQL when it answers, else the embedded store in a temp dir), and a bot started the
// way main.ts starts one, in HTTP mode, logging at info level into nothing.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { SLACK_DEFAULTS, signSlackRequest, slashCommandBody } from '@dmp-bot/sim/slack-signing';
import { Redis } from 'ioredis';
import pg from 'pg';
import pino from 'pino';
import { type BotHandle, startBot } from '../../src/bot.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { createTestDatabase, PG_ADMIN_URL, type TestDatabase } from '../../test/helpers/pg.js';
import { REDIS_URL } from '../../test/helpers/redis.js';
import { type LoadClient, type LoadRequest, startLoadClient } from './load.js';

export const SIGNING_SECRET = 'bench-signing-secret-5c1e';
export const BOT_TOKEN = 'xoxb-bench-bot-token-0001';

export interface World {
  slack: SlackFake;
  /** The load generator's thread, shared by every benchmark of the run. */
  load: LoadClient;
  pgUrl: string | undefined;
  redisUrl: string | undefined;
  /** `postgres` or `pglite`: where the bot's own state lives in this run. */
  storeKind: 'postgres' | 'pglite';
  tmp: string;
  databases: TestDatabase[];
  close(): Promise<void>;
}

export async function pgReachable(url: string = PG_ADMIN_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_500 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

export async function redisReachable(url: string = REDIS_URL): Promise<boolean> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

export async function openWorld(): Promise<World> {
  const [pgOk, redisOk] = await Promise.all([pgReachable(), redisReachable()]);
  const slack = await startSlackFake();
  const tmp = mkdtempSync(join(tmpdir(), 'dmp-bench-'));
  const databases: TestDatabase[] = [];
  const load = startLoadClient();
  return {
    slack,
    load,
    pgUrl: pgOk ? PG_ADMIN_URL : undefined,
    redisUrl: redisOk ? REDIS_URL : undefined,
    storeKind: pgOk ? 'postgres' : 'pglite',
    tmp,
    databases,
    async close() {
      await load.close();
      await slack.close();
      await Promise.allSettled(databases.map((d) => d.drop()));
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database for the bot's own state, or undefined for the embedded store. */
export async function botDatabaseUrl(world: World): Promise<string | undefined> {
  if (!world.pgUrl) return undefined;
  const db = await createTestDatabase({ prefix: 'bench' });
  world.databases.push(db);
  return db.url;
}

export interface BenchBot {
  bot: BotHandle;
  url: string;
  stop(): Promise<void>;
}

export async function startBenchBot(world: World, env: Record<string, string | undefined> = {}): Promise<BenchBot> {
  const dataDir = mkdtempSync(join(world.tmp, 'data-'));
  const config = loadConfig({
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: world.slack.apiUrl,
    PORT: '0',
    BOT_DATABASE_URL: await botDatabaseUrl(world),
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    ...env,
  } as NodeJS.ProcessEnv);
  // Production logs at info; writing them to /dev/null keeps their cost and drops the noise.
  const log = createLogger('info', pino.destination({ dest: '/dev/null', sync: false }));
  const bot = await startBot(config, { log, host: '127.0.0.1' });
  return { bot, url: `http://127.0.0.1:${bot.port}/slack/events`, stop: () => bot.stop() };
}

/** How many people the bench's commands come from: each stays well inside COMMAND_RATE_LIMIT (60 a minute). */
export const BENCH_USERS = 5000;
let nextUser = 0;
/** One response_url a person, reused: the Slack fake keeps every URL it hands out, and a long run must not grow it. */
const responseUrls = new Map<string, string>();

/**
 * `count` signed `/dmp <text>` requests, built before the clock starts, from BENCH_USERS people
 * in turn (as a busy workspace sends them: one person at 300 a second would be refused by the
 * per-user rate limit, and the bench would measure the refusal instead of the command).
 */
export function slashRequests(slack: SlackFake, text: string, count: number): LoadRequest[] {
  return Array.from({ length: count }, () => {
    const user = `U0BENCH${String(nextUser++ % BENCH_USERS).padStart(5, '0')}`;
    let responseUrl = responseUrls.get(user);
    if (!responseUrl) {
      responseUrl = slack.responseUrl({ channel: SLACK_DEFAULTS.channelId, user });
      responseUrls.set(user, responseUrl);
    }
    const body = slashCommandBody({ command: '/dmp', text, response_url: responseUrl, user_id: user, user_name: user });
    return { body, headers: signSlackRequest(SIGNING_SECRET, body) };
  });
}
