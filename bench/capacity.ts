// (e) Capacity: the highest rate at which the bot's ack p99 for a signed `/dmp help` stays under
// 50 ms, beside a bare Bolt app's, stepping the rate up in interleaved one-second slices (the
// bot's and the bare app's taking turns, so other work on the machine hits both alike); and
// the RSS of a bot in a process of its own (bench/lib/bot-child.ts) after 50,000 commands
// against its RSS after 1,000, each read after the audit rows are written, a settle and two
// forced full GCs.
import { type ChildProcess, fork } from 'node:child_process';
import { expectHelp, startBareBolt } from './ack.js';
import type { ChildMemory, ChildReady } from './lib/bot-child.js';
import type { Sample } from './lib/load.js';
import { type Summary, summarize } from './lib/stats.js';
import { BOT_TOKEN, botDatabaseUrl, SIGNING_SECRET, slashRequests, startBenchBot, type World } from './lib/world.js';

export const CAPACITY_RATES = [25, 50, 100, 200, 300, 400, 500, 700, 1000, 1400, 2000];
export const CAPACITY_P99_MS = 50;
/** One-second slices a server gets at each rate. */
export const CAPACITY_SLICES = 3;
export const RSS_EARLY = 1_000;
export const RSS_LATE = 50_000;
/** Where RSS is read on the way from RSS_EARLY to RSS_LATE (the last is RSS_LATE). */
const RSS_CHECKPOINTS = [5_000, 10_000, 20_000, 35_000, RSS_LATE];
/** Requests built and sent at a time, so the bench's own request bodies never pile up. */
const CHUNK = 1_000;
/** Requests in flight during the RSS run (closed loop: as fast as the bot answers). */
const RSS_CONCURRENCY = 8;

export interface CapacityStep {
  rate: number;
  bot?: Summary;
  bare?: Summary;
  botErrors: number;
  bareErrors: number;
  clientMaxLagMs: number;
}

export interface CapacityResult {
  steps: CapacityStep[];
  /** Highest rate of the ladder below the first one whose p99 reached CAPACITY_P99_MS (or that had errors); 0 if even the first did. */
  botMaxRate: number;
  bareMaxRate: number;
  /** The ladder's top rate was met: the real capacity is higher. */
  botAtTop: boolean;
  bareAtTop: boolean;
  rss: {
    earlyMb: number;
    lateMb: number;
    heapEarlyMb: number;
    heapLateMb: number;
    growthPct: number;
    commandsPerSecond: number;
    errors: number;
    gc: boolean;
    /** RSS and heap read on the way (same settle and GC), to tell a plateau from a leak. */
    checkpoints: Array<{ commands: number; rssMb: number; heapMb: number }>;
  };
}

const mb = (bytes: number): number => Math.round((bytes / 1024 ** 2) * 10) / 10;
const failures = (samples: Sample[]): number => samples.filter((s) => s.status !== 200).length;
const passes = (s: Summary | undefined, errors: number): boolean => !!s && s.p99 < CAPACITY_P99_MS && errors === 0;

interface ChildBot {
  url: string;
  measure(): Promise<ChildMemory>;
  stop(): Promise<void>;
}

/** A bot in its own node process (with --expose-gc), over IPC. */
async function startChildBot(world: World): Promise<ChildBot> {
  const child: ChildProcess = fork(new URL('./lib/bot-child.ts', import.meta.url), [], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    env: {
      ...process.env,
      BENCH_BOT_TOKEN: BOT_TOKEN,
      BENCH_SIGNING_SECRET: SIGNING_SECRET,
      BENCH_SLACK_API_URL: world.slack.apiUrl,
      BENCH_BOT_DATABASE_URL: (await botDatabaseUrl(world)) ?? '',
    },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const next = <T>(): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the bench bot exited (${code})`));
      child.once('exit', onExit);
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
    });
  const ready = await next<ChildReady>();
  return {
    url: ready.url,
    measure: () => {
      const answer = next<ChildMemory>();
      child.send('measure');
      return answer;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.send('stop');
      }),
  };
}

export async function capacityBench(world: World, log: (line: string) => void): Promise<CapacityResult> {
  const bot = await startBenchBot(world);
  const bare = await startBareBolt(world.slack.apiUrl, 'ack');
  const urls = { bot: bot.url, bare: bare.url };
  const steps: CapacityStep[] = [];
  let rss: CapacityResult['rss'] | undefined;
  try {
    for (const url of Object.values(urls))
      await world.load.run({ url, rate: 100, requests: slashRequests(world.slack, 'help', 300), timeoutMs: 10_000 });
    await expectHelp(world, bot.url);
    const live = { bot: true, bare: true };
    for (const rate of CAPACITY_RATES) {
      const who = (Object.keys(live) as Array<keyof typeof live>).filter((k) => live[k]);
      if (!who.length) break;
      const samples = { bot: [] as Sample[], bare: [] as Sample[] };
      let lag = 0;
      for (let slice = 0; slice < CAPACITY_SLICES; slice++) {
        const order = who.map((_, i) => who[(i + slice) % who.length] as keyof typeof live);
        for (const w of order) {
          const r = await world.load.run({
            url: urls[w],
            rate,
            requests: slashRequests(world.slack, 'help', rate),
            timeoutMs: 10_000,
          });
          samples[w].push(...r.samples);
          lag = Math.max(lag, r.maxLagMs);
        }
      }
      const step: CapacityStep = {
        rate,
        botErrors: failures(samples.bot),
        bareErrors: failures(samples.bare),
        clientMaxLagMs: Math.round(lag),
      };
      if (live.bot) step.bot = summarize(samples.bot.map((s) => s.ms));
      if (live.bare) step.bare = summarize(samples.bare.map((s) => s.ms));
      steps.push(step);
      // Past its first miss a server is not stepped further: the rates above would only miss worse.
      if (live.bot && !passes(step.bot, step.botErrors)) live.bot = false;
      if (live.bare && !passes(step.bare, step.bareErrors)) live.bare = false;
      log(
        `  capacity @${rate}/s: bot p99 ${step.bot?.p99 ?? '—'} ms, bare p99 ${step.bare?.p99 ?? '—'} ms; client lag ≤${step.clientMaxLagMs} ms`,
      );
    }
    await bare.close();

    await bot.stop();

    // RSS of a bot alone in its process: 1,000 commands, settle, read; 49,000 more, settle, read.
    const child = await startChildBot(world);
    let errors = 0;
    const send = async (count: number): Promise<void> => {
      for (let sent = 0; sent < count; sent += CHUNK) {
        const r = await world.load.run({
          url: child.url,
          concurrency: RSS_CONCURRENCY,
          requests: slashRequests(world.slack, 'help', Math.min(CHUNK, count - sent)),
          timeoutMs: 10_000,
        });
        errors += failures(r.samples);
      }
    };
    let early: ChildMemory;
    let late: ChildMemory;
    let seconds: number;
    const checkpoints: Array<{ commands: number; rssMb: number; heapMb: number }> = [];
    try {
      await send(RSS_EARLY);
      early = await child.measure();
      checkpoints.push({ commands: RSS_EARLY, rssMb: mb(early.rss), heapMb: mb(early.heap) });
      let sent = RSS_EARLY;
      let busyMs = 0;
      late = early;
      for (const at of RSS_CHECKPOINTS) {
        const started = performance.now();
        await send(at - sent);
        busyMs += performance.now() - started;
        sent = at;
        late = await child.measure();
        checkpoints.push({ commands: at, rssMb: mb(late.rss), heapMb: mb(late.heap) });
      }
      seconds = busyMs / 1000;
    } finally {
      await child.stop();
    }
    rss = {
      earlyMb: mb(early.rss),
      lateMb: mb(late.rss),
      heapEarlyMb: mb(early.heap),
      heapLateMb: mb(late.heap),
      growthPct: Math.round(((late.rss - early.rss) / early.rss) * 1000) / 10,
      commandsPerSecond: Math.round((RSS_LATE - RSS_EARLY) / seconds),
      errors,
      gc: early.gc && late.gc,
      checkpoints,
    };
    log(`  RSS on the way: ${checkpoints.map((c) => `${c.commands}: ${c.rssMb} MB (heap ${c.heapMb})`).join(', ')}`);
    log(
      `  RSS after ${RSS_EARLY} commands ${rss.earlyMb} MB (heap ${rss.heapEarlyMb}), after ${RSS_LATE} ${rss.lateMb} MB (heap ${rss.heapLateMb}): ${rss.growthPct} %; ${rss.commandsPerSecond} commands/s, ${errors} errors`,
    );
  } finally {
    await bare.close().catch(() => {});
    await bot.stop();
  }
  const maxRate = (k: 'bot' | 'bare'): number => {
    let best = 0;
    for (const s of steps) {
      if (!passes(s[k], k === 'bot' ? s.botErrors : s.bareErrors)) break;
      best = s.rate;
    }
    return best;
  };
  const top = CAPACITY_RATES[CAPACITY_RATES.length - 1];
  return {
    steps,
    botMaxRate: maxRate('bot'),
    bareMaxRate: maxRate('bare'),
    botAtTop: maxRate('bot') === top,
    bareAtTop: maxRate('bare') === top,
    rss: rss as CapacityResult['rss'],
  };
}
