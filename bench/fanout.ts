// (b) Fan-out: `/dmp health` runs its checks (platform API ×3, PostgreSQL, Redis ×2) in
// parallel under CHECK_DEADLINE. Measured with every target healthy and with the platform API
// accepting connections and never answering, against `/dmp help` at the same pace as baseline.
import { randomBytes } from 'node:crypto';
import { startPlatformApiFake } from '@dmp-bot/sim/platform-api-fake';
import type { Sample } from './lib/load.js';
import { type Summary, summarize } from './lib/stats.js';
import { slashRequests, startBenchBot, type World } from './lib/world.js';

export interface FanoutCase {
  case: string;
  rate: number;
  latency: Summary;
  /** Replies that were the full report in the HTTP answer. */
  inline: number;
  /** Replies deferred to response_url (the report took over the inline budget). */
  late: number;
  /** Replies naming a check that timed out or was unreachable. */
  timedOut: number;
  errors: number;
}

export interface FanoutResult {
  checkDeadlineMs: number;
  targets: { postgres: boolean; redis: boolean; platformApi: boolean };
  baseline: FanoutCase;
  healthy: FanoutCase;
  hung: FanoutCase;
}

function judge(name: string, rate: number, samples: Sample[]): FanoutCase {
  let inline = 0;
  let late = 0;
  let timedOut = 0;
  for (const s of samples) {
    const text = s.text ?? '';
    if (s.status !== 200) continue;
    if (text.includes('Checking…')) late += 1;
    else inline += 1;
    if (/timed out|unreachable/.test(text)) timedOut += 1;
  }
  return {
    case: name,
    rate,
    latency: summarize(samples.map((s) => s.ms)),
    inline,
    late,
    timedOut,
    errors: samples.filter((s) => s.status !== 200).length,
  };
}

export async function fanoutBench(world: World, log: (line: string) => void): Promise<FanoutResult> {
  const api = await startPlatformApiFake();
  const deadline = 2_000;
  const bot = await startBenchBot(world, {
    DMP_API_URL: api.url,
    DMP_ADMIN_TOKEN: api.adminToken,
    DMP_DATABASE_URL: world.pgUrl,
    DMP_REDIS_URL: world.redisUrl,
    // A prefix of its own: the queue check reads `scan_queue` under it, which stays empty.
    DMP_REDIS_PREFIX: `bench:${randomBytes(4).toString('hex')}:`,
    CHECK_DEADLINE: `${deadline / 1000}s`,
  });
  const run = async (name: string, text: string, rate: number, count: number): Promise<FanoutCase> => {
    const r = await world.load.run({
      url: bot.url,
      rate,
      requests: slashRequests(world.slack, text, count),
      timeoutMs: 10_000,
      keepText: true,
    });
    const c = judge(name, rate, r.samples);
    log(`  ${name} @${rate}/s: p50 ${c.latency.p50} ms, p95 ${c.latency.p95} ms`);
    return c;
  };
  try {
    // Warm-up: first connections to PostgreSQL and Redis, JIT.
    await world.load.run({
      url: bot.url,
      rate: 10,
      requests: slashRequests(world.slack, 'health', 10),
      timeoutMs: 10_000,
    });
    const baseline = await run('/dmp help (baseline)', 'help', 10, 50);
    const healthy = await run('/dmp health, all healthy', 'health', 10, 50);
    api.setFault('hang');
    const hung = await run('/dmp health, platform API hung', 'health', 5, 20);
    api.setFault('none');
    return {
      checkDeadlineMs: deadline,
      targets: { postgres: Boolean(world.pgUrl), redis: Boolean(world.redisUrl), platformApi: true },
      baseline,
      healthy,
      hung,
    };
  } finally {
    await bot.stop();
    await api.close();
  }
}
