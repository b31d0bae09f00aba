// (a) Ack latency: signed `/dmp help` at fixed rates against the bot and, in the same run,
// against a bare Bolt app whose /dmp listener only acks. Same requests, same client thread,
// interleaved in one-second slices so a burst of other work on the machine hits both alike.
import { createServer, type Server } from 'node:http';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import pg from 'pg';
import { helpMessage } from '../src/commands/help.js';
import { commandRegistry } from '../src/commands/registry.js';
import { ackBody } from '../src/handlers/reply.js';
import { slackClientOptions } from '../src/handlers/slack-client.js';
import { listen, MAX_BODY_BYTES } from '../src/http/server.js';
import { Redactor } from '../src/redact.js';
import { mainThreadCpuMs } from './lib/cpu.js';
import type { Sample } from './lib/load.js';
import { ratio, type Summary, summarize } from './lib/stats.js';
import { BOT_TOKEN, botDatabaseUrl, SIGNING_SECRET, slashRequests, startBenchBot, type World } from './lib/world.js';

export interface AckRow {
  rate: number;
  seconds: number;
  bot: Summary;
  bare: Summary;
  /** bot p99 / bare p99. */
  p99Ratio: number;
  botErrors: number;
  bareErrors: number;
  /** Event-loop time the server spent per request (the why behind the latencies). */
  botBusyMsPerRequest: number;
  bareBusyMsPerRequest: number;
  /** The server thread's CPU time per request (/proc; not inflated by waiting for a core), when known. */
  botCpuMsPerRequest?: number;
  bareCpuMsPerRequest?: number;
  clientMaxLagMs: number;
  /** At DECOMPOSE_RATE: bare apps doing part of the bot's work, to show where the difference goes. */
  steps?: Array<{ name: string; latency: Summary; busyMsPerRequest: number; cpuMsPerRequest?: number }>;
}

export const DECOMPOSE_RATE = 300;

/** The two rates; each second of load is one slice, the bot's and the bare app's taking turns. */
export const ACK_RATES: Array<{ rate: number; seconds: number }> = [
  { rate: 300, seconds: 8 },
  { rate: 500, seconds: 8 },
];

/** What the bot's `/dmp help` ack must say: checked before anything is measured. */
export const HELP_HEADER = 'dmp-bot: the support runbook in Slack';

type Variant = 'ack' | 'help' | 'help+audit' | 'help+listeners';

/** How many listeners and global middlewares the bot registers (Bolt runs every listener's chain for every request). */
const BOT_LISTENERS = 30;
const BOT_MIDDLEWARES = 5;

/**
 * A Bolt app like the bot's; `ack` only acks, `help` acks with the bot's help, `help+audit`
 * writes an audit row first as the bot did, `help+listeners` has as many other listeners and
 * global middlewares as the bot, which Bolt walks through for every request.
 */
export async function startBareBolt(
  apiUrl: string,
  variant: Variant,
  db?: pg.Pool,
): Promise<{ url: string; close(): Promise<void> }> {
  const receiver = new HTTPReceiver({
    signingSecret: SIGNING_SECRET,
    endpoints: '/slack/events',
    bodyLimit: MAX_BODY_BYTES,
    logLevel: LogLevel.WARN,
  });
  const app = new App({
    token: BOT_TOKEN,
    receiver,
    clientOptions: slackClientOptions(apiUrl),
    logLevel: LogLevel.WARN,
  });
  const redactor = new Redactor({ secrets: [BOT_TOKEN, SIGNING_SECRET] });
  if (variant === 'help+listeners') {
    for (let i = 0; i < BOT_MIDDLEWARES; i++) app.use(async ({ next }) => next());
    for (let i = 1; i < BOT_LISTENERS; i++) app.action(`bench_action_${i}`, async ({ ack }) => ack());
  }
  app.command('/dmp', async ({ ack, command }) => {
    if (variant === 'ack') {
      await ack();
      return;
    }
    const message = helpMessage(commandRegistry());
    if (variant === 'help+audit' && db) {
      await db.query('INSERT INTO audit (user_id, channel_id, text) VALUES ($1, $2, $3)', [
        command.user_id,
        command.channel_id,
        command.text,
      ]);
    }
    await ack(ackBody(message, redactor));
  });
  const server: Server = createServer(receiver.requestListener);
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}/slack/events`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const failures = (samples: Sample[]): number => samples.filter((s) => s.status !== 200).length;

/** The bot must be answering with its help (not a rate-limit refusal or an error) for the figures to mean anything. */
export async function expectHelp(world: World, url: string): Promise<void> {
  const r = await world.load.run({
    url,
    rate: 50,
    requests: slashRequests(world.slack, 'help', 20),
    timeoutMs: 10_000,
    keepText: true,
  });
  const wrong = r.samples.find((s) => s.status !== 200 || !s.text?.includes(HELP_HEADER));
  if (wrong)
    throw new Error(`the bot did not ack /dmp help with its help: ${wrong.status} ${wrong.text?.slice(0, 200)}`);
}
const round3 = (v: number): number => Math.round(v * 1000) / 1000;

export async function ackBench(world: World, log: (line: string) => void): Promise<AckRow[]> {
  const bot = await startBenchBot(world);
  const servers: Array<{ close(): Promise<void> }> = [];
  const start = async (variant: Variant, db?: pg.Pool): Promise<string> => {
    const s = await startBareBolt(world.slack.apiUrl, variant, db);
    servers.push(s);
    return s.url;
  };
  const auditUrl = await botDatabaseUrl(world);
  const db = auditUrl ? new pg.Pool({ connectionString: auditUrl, max: 10 }) : undefined;
  await db?.query(
    'CREATE TABLE audit (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), user_id text, channel_id text, text text)',
  );
  const urls: Record<string, string> = {
    bot: bot.url,
    bare: await start('ack'),
    'bare + help reply': await start('help'),
    [`bare + help reply + ${BOT_LISTENERS - 1} other listeners and ${BOT_MIDDLEWARES} middlewares`]:
      await start('help+listeners'),
  };
  if (db) urls['bare + help reply + audit INSERT'] = await start('help+audit', db);
  const rows: AckRow[] = [];
  try {
    // Warm every server up (JIT, connection pools, Bolt's auth.test) before anything is measured.
    for (const url of Object.values(urls)) {
      await world.load.run({ url, rate: 100, requests: slashRequests(world.slack, 'help', 200), timeoutMs: 10_000 });
    }
    await expectHelp(world, bot.url);
    for (const { rate, seconds } of ACK_RATES) {
      const names = rate === DECOMPOSE_RATE ? Object.keys(urls) : ['bot', 'bare'];
      const samples = new Map<string, Sample[]>(names.map((n) => [n, []]));
      const busy = new Map<string, number>(names.map((n) => [n, 0]));
      const cpu = new Map<string, number>(names.map((n) => [n, 0]));
      let lag = 0;
      for (let slice = 0; slice < seconds; slice++) {
        // Rotate who goes first in each slice.
        const order = names.map((_, i) => names[(i + slice) % names.length] as string);
        for (const who of order) {
          const requests = slashRequests(world.slack, 'help', rate);
          // The servers run on this thread and the client on its own: this thread's busy time is the server's.
          const before = performance.eventLoopUtilization();
          const cpuBefore = mainThreadCpuMs();
          const r = await world.load.run({ url: urls[who] as string, rate, requests, timeoutMs: 10_000 });
          busy.set(who, (busy.get(who) ?? 0) + performance.eventLoopUtilization(before).active);
          const cpuAfter = mainThreadCpuMs();
          if (cpuBefore !== undefined && cpuAfter !== undefined)
            cpu.set(who, (cpu.get(who) ?? 0) + cpuAfter - cpuBefore);
          samples.get(who)?.push(...r.samples);
          lag = Math.max(lag, r.maxLagMs);
        }
      }
      const count = rate * seconds;
      const of = (who: string): Sample[] => samples.get(who) ?? [];
      const busyOf = (who: string): number => round3((busy.get(who) ?? 0) / count);
      const b = summarize(of('bot').map((s) => s.ms));
      const a = summarize(of('bare').map((s) => s.ms));
      const row: AckRow = {
        rate,
        seconds,
        bot: b,
        bare: a,
        p99Ratio: ratio(b.p99, a.p99),
        botErrors: failures(of('bot')),
        bareErrors: failures(of('bare')),
        botBusyMsPerRequest: busyOf('bot'),
        bareBusyMsPerRequest: busyOf('bare'),
        ...(mainThreadCpuMs() !== undefined
          ? {
              botCpuMsPerRequest: round3((cpu.get('bot') ?? 0) / count),
              bareCpuMsPerRequest: round3((cpu.get('bare') ?? 0) / count),
            }
          : {}),
        clientMaxLagMs: Math.round(lag * 10) / 10,
      };
      const steps = names.filter((n) => n !== 'bot' && n !== 'bare');
      if (steps.length)
        row.steps = steps.map((name) => ({
          name,
          latency: summarize(of(name).map((s) => s.ms)),
          busyMsPerRequest: busyOf(name),
          cpuMsPerRequest: round3((cpu.get(name) ?? 0) / count),
        }));
      rows.push(row);
      log(
        `  ack @${rate}/s: bot p99 ${b.p99} ms, bare p99 ${a.p99} ms; server busy ${row.botBusyMsPerRequest} / ${row.bareBusyMsPerRequest} ms a request, CPU ${row.botCpuMsPerRequest} / ${row.bareCpuMsPerRequest} ms; client lag ≤${Math.round(lag)} ms`,
      );
      for (const step of row.steps ?? [])
        log(
          `    ${step.name}: p99 ${step.latency.p99} ms, busy ${step.busyMsPerRequest} ms, CPU ${step.cpuMsPerRequest} ms a request`,
        );
    }
  } finally {
    await Promise.allSettled(servers.map((s) => s.close()));
    await db?.end();
    await bot.stop();
  }
  return rows;
}
