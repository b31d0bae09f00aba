// (d) PagerDuty storm: 1000 signed `incident.triggered` webhooks for distinct incidents, sent
// as fast as the bot accepts them (a fixed number in flight), plus 100 redeliveries of events
// already sent. Measures each answer (PagerDuty waits 5 s), how long until every event is
// stored and every incident recorded, what reached Slack, and how hard one channel was hit.
import { randomUUID } from 'node:crypto';
import { startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { incidentEvent, pingEvent, signPagerDuty, type WebhookEnvelope } from '@dmp-bot/sim/pagerduty-signing';
import type { LoadRequest } from './lib/load.js';
import { type Summary, summarize } from './lib/stats.js';
import { startBenchBot, type World } from './lib/world.js';

export const STORM_INCIDENTS = 1000;
export const STORM_REDELIVERIES = 100;
const IN_FLIGHT = 16;
/**
 * How long to wait for the workflow to record incidents and drain its Slack outbox after the last
 * answer. The outbox keeps #incidents to about a post a second, so draining a storm takes minutes.
 */
export const SETTLE_LIMIT_MS = 300_000;
const CHANNEL = 'C0INCIDENT1';
const SECRET = 'bench-pagerduty-webhook-secret';
const TITLE = /Storm \d{4}/g;

export interface StormResult {
  ran: boolean;
  reason?: string;
  webhooks?: number;
  redeliveries?: number;
  inFlight?: number;
  /** Status code → count. */
  answers?: Record<string, number>;
  answerLatency?: Summary;
  /** From the first webhook sent to the last answer: every event stored (the bot answers 2xx only once it is). */
  allStoredMs?: number;
  eventsStored?: number;
  /** From the first webhook sent until every incident is in the incidents table, or undefined if not within the limit. */
  allRecordedMs?: number;
  /** From the first webhook sent until every incident is named in a top-level post (its root or its digest). */
  allNamedMs?: number;
  /** Storm digests posted (each names up to STORM_DIGEST_BATCH incidents). */
  digests?: number;
  incidentsStored?: number;
  /** From the first webhook sent until the Slack outbox is empty, or undefined if not within the limit. */
  outboxDrainedMs?: number;
  outboxPending?: number;
  topLevelPosts?: number;
  /** Incidents whose title appears in a top-level post (its own, or a digest). */
  incidentsPosted?: number;
  threadReplies?: number;
  /** Incidents whose title appears in more than one top-level post, plus extra root rows: must be 0. */
  duplicates?: number;
  /** The most Slack calls naming one channel within one wall-clock second. */
  maxSlackCallsPerChannelSecond?: number;
  slackCalls?: number;
  /** This benchmark process's resident memory (the bot runs in it) before and after. */
  rssBeforeMb?: number;
  rssAfterMb?: number;
}

function delivery(event: WebhookEnvelope): LoadRequest {
  const body = JSON.stringify(event);
  return {
    body,
    headers: {
      'content-type': 'application/json',
      'user-agent': 'PagerDuty-Webhook/V3.0',
      'x-pagerduty-signature': signPagerDuty(body, [SECRET]),
      // A redelivery carries the same event id with a delivery id of its own.
      'x-webhook-id': randomUUID(),
      'x-webhook-subscription': 'PDMPSUB',
    },
  };
}

const mb = (bytes: number): number => Math.round((bytes / 1024 / 1024) * 10) / 10;

export async function stormBench(world: World, log: (line: string) => void): Promise<StormResult> {
  const pd = await startPagerDutyFake();
  const bot = await startBenchBot(world, {
    PAGERDUTY_WEBHOOK_SECRETS: SECRET,
    PAGERDUTY_API_TOKEN: 'bench-pagerduty-token',
    PAGERDUTY_API_URL: pd.url,
    INCIDENTS_CHANNEL: CHANNEL,
  });
  const url = bot.url.replace('/slack/events', '/pagerduty/webhook');
  const store = bot.bot.deps.store;
  const count = async (sql: string): Promise<number> =>
    Number((await store.query<{ n: string | number }>(sql))[0]?.n ?? 0);
  try {
    const probe = await world.load.run({ url, concurrency: 1, requests: [delivery(pingEvent())], timeoutMs: 5_000 });
    const status = probe.samples[0]?.status ?? 0;
    if (status < 200 || status >= 300) {
      return {
        ran: false,
        reason: `POST /pagerduty/webhook answered ${status || 'nothing'} to a signed ping; the incidents work has not landed`,
      };
    }

    const titles: string[] = [];
    const events = Array.from({ length: STORM_INCIDENTS }, (_, i) => {
      const title = `Storm ${String(i + 1).padStart(4, '0')}: scan-workers heartbeat lost`;
      titles.push(title);
      return incidentEvent('incident.triggered', {
        id: `QSTORM${String(i + 1).padStart(8, '0')}`,
        number: 10_000 + i,
        title,
        status: 'triggered',
        urgency: i % 4 === 0 ? 'high' : 'low',
        service: { id: 'PDMPAPI', summary: 'DMP API' },
      });
    });
    // Each redelivery goes out a while after its original, as PagerDuty's retries do.
    const requests: LoadRequest[] = events.map(delivery);
    const step = Math.floor(STORM_INCIDENTS / STORM_REDELIVERIES);
    for (let k = STORM_REDELIVERIES - 1; k >= 0; k--) {
      const original = events[k * step] as WebhookEnvelope;
      requests.splice(Math.min(requests.length, k * step + 40), 0, delivery(original));
    }

    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const blast = await world.load.run({ url, concurrency: IN_FLIGHT, requests, timeoutMs: 10_000 });
    const allStoredMs = Math.round(blast.wallMs);
    const answers: Record<string, number> = {};
    for (const s of blast.samples) answers[String(s.status)] = (answers[String(s.status)] ?? 0) + 1;
    log(`  ${requests.length} webhooks answered in ${allStoredMs} ms: ${JSON.stringify(answers)}`);

    let allRecordedMs: number | undefined;
    let allNamedMs: number | undefined;
    let outboxDrainedMs: number | undefined;
    const until = performance.now() + SETTLE_LIMIT_MS;
    while (performance.now() < until && (allRecordedMs === undefined || outboxDrainedMs === undefined)) {
      if (allRecordedMs === undefined && (await count('SELECT count(*) AS n FROM incidents')) >= STORM_INCIDENTS) {
        allRecordedMs = Math.round(performance.now() - started);
      }
      if (
        allRecordedMs !== undefined &&
        allNamedMs === undefined &&
        (await count('SELECT count(*) AS n FROM incidents WHERE root_ts IS NOT NULL')) >= STORM_INCIDENTS
      ) {
        allNamedMs = Math.round(performance.now() - started);
        log(`  every incident named in a top-level post after ${allNamedMs} ms; waiting for the threads`);
      }
      if (
        allRecordedMs !== undefined &&
        outboxDrainedMs === undefined &&
        (await count('SELECT count(*) AS n FROM incident_outbox WHERE done_at IS NULL AND NOT failed')) === 0
      ) {
        outboxDrainedMs = Math.round(performance.now() - started);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    const rssAfter = process.memoryUsage().rss;

    const top = world.slack.topLevel(CHANNEL);
    const replies = world.slack.messages.filter((m) => m.channel === CHANNEL && m.thread_ts !== undefined);
    // Each title once per post it appears in (a digest may name many).
    const postsPerTitle = new Map<string, number>();
    for (const m of top) {
      for (const t of new Set(JSON.stringify([m.text, m.blocks]).match(TITLE) ?? []))
        postsPerTitle.set(t, (postsPerTitle.get(t) ?? 0) + 1);
    }
    const extraRoots = await count(
      `SELECT count(*) - count(DISTINCT incident_id) AS n FROM incident_outbox WHERE kind = 'root'`,
    );
    const perSecond = new Map<string, number>();
    for (const call of world.slack.calls) {
      const channel = typeof call.args.channel === 'string' ? call.args.channel : undefined;
      if (!channel) continue;
      const key = `${channel}@${Math.floor(call.at / 1000)}`;
      perSecond.set(key, (perSecond.get(key) ?? 0) + 1);
    }
    const result: StormResult = {
      ran: true,
      webhooks: STORM_INCIDENTS,
      redeliveries: STORM_REDELIVERIES,
      inFlight: IN_FLIGHT,
      answers,
      answerLatency: summarize(blast.samples.map((s) => s.ms)),
      allStoredMs,
      eventsStored: await count(`SELECT count(*) AS n FROM pd_webhook_events WHERE event_type = 'incident.triggered'`),
      allRecordedMs,
      allNamedMs,
      digests: await count('SELECT count(*) AS n FROM incident_digests WHERE root_ts IS NOT NULL'),
      incidentsStored: await count('SELECT count(*) AS n FROM incidents'),
      outboxDrainedMs,
      outboxPending: await count('SELECT count(*) AS n FROM incident_outbox WHERE done_at IS NULL AND NOT failed'),
      topLevelPosts: top.length,
      threadReplies: replies.length,
      duplicates: [...postsPerTitle.values()].reduce((sum, n) => sum + Math.max(0, n - 1), 0) + extraRoots,
      incidentsPosted: titles.filter((t) => postsPerTitle.has(t.match(TITLE)?.[0] ?? t)).length,
      maxSlackCallsPerChannelSecond: Math.max(0, ...perSecond.values()),
      slackCalls: world.slack.calls.length,
      rssBeforeMb: mb(rssBefore),
      rssAfterMb: mb(rssAfter),
    };
    log(
      `  recorded ${result.incidentsStored} incidents${allRecordedMs === undefined ? ` (not all within ${SETTLE_LIMIT_MS / 1000}s)` : ` in ${allRecordedMs} ms`}; ` +
        `${result.topLevelPosts} top-level posts, ${result.threadReplies} replies, ${result.outboxPending} posts pending; duplicates ${result.duplicates}`,
    );
    return result;
  } finally {
    await bot.stop();
    await pd.close();
  }
}
