// Token buckets kept in the bot store, so every replica draws on the same budget: one per Slack
// channel (chat.postMessage allows about one post a second per channel, with short bursts) and
// one per PagerDuty token (960 REST calls a minute). A taker locks the bucket's row, refills it
// for the time elapsed, takes what it may and writes it back in its own transaction; a 429 or an
// unreachable service pauses the bucket for every replica at once.
// Not bottleneck or p-queue: both keep their limits in one process's memory (bottleneck's
// clustering needs a Redis of the bot's own), and the budget here has to be shared through the
// database the replicas already share, debited in the same transaction that claims the work.
import { setTimeout as sleep } from 'node:timers/promises';
import { backoff } from '../backoff.js';
import { TargetError } from '../errors.js';
import type { Sql } from '../store/sql.js';
import type { Q } from './store.js';

export interface BucketSpec {
  /** Tokens added a second. */
  ratePerSec: number;
  /** Most tokens the bucket holds: the burst allowed after a quiet spell. */
  burst: number;
}

export interface Bucket {
  /** Whole tokens that may be taken now (0 while paused). */
  available: number;
  /** When none are available: how long until one is. */
  waitMs: number;
}

interface Row {
  tokens: number;
  refilled_at: Date | string;
  paused_until: Date | string | null;
}

const ms = (v: Date | string): number => (v instanceof Date ? v : new Date(v)).getTime();

/**
 * Locks `key`'s bucket for the caller's transaction, refills it, lets `use` take up to what is
 * available and debits what it reports taking. With `skipLocked`, a bucket another replica holds
 * right now is skipped (`use` is not called, 0 is returned).
 */
export async function withBucket(
  q: Q,
  key: string,
  spec: BucketSpec,
  now: Date,
  use: (b: Bucket) => Promise<number>,
  opts: { skipLocked?: boolean } = {},
): Promise<number> {
  await q.query(
    'INSERT INTO rate_buckets (key, tokens, refilled_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING',
    [key, spec.burst, now],
  );
  const rows = await q.query<Row>(
    `SELECT tokens, refilled_at, paused_until FROM rate_buckets WHERE key = $1 FOR UPDATE${opts.skipLocked ? ' SKIP LOCKED' : ''}`,
    [key],
  );
  const row = rows[0];
  if (!row) return 0;
  const t = now.getTime();
  const pausedMs = row.paused_until ? ms(row.paused_until) - t : 0;
  // Another replica's clock may run a little ahead: never refill for negative time.
  const elapsed = Math.max(0, t - ms(row.refilled_at));
  const tokens = Math.min(spec.burst, row.tokens + (elapsed / 1000) * spec.ratePerSec);
  const bucket: Bucket =
    pausedMs > 0
      ? { available: 0, waitMs: pausedMs }
      : { available: Math.floor(tokens), waitMs: tokens >= 1 ? 0 : Math.ceil(((1 - tokens) / spec.ratePerSec) * 1000) };
  const taken = Math.min(bucket.available, Math.max(0, await use(bucket)));
  await q.query('UPDATE rate_buckets SET tokens = $2, refilled_at = $3 WHERE key = $1', [
    key,
    tokens - taken,
    new Date(Math.max(t, ms(row.refilled_at))),
  ]);
  return taken;
}

/**
 * Takes one token from `key`'s bucket in a single statement (no transaction, one round trip):
 * the upsert refills the row under its own lock and debits it only when a whole token is there
 * and the bucket is not paused, so concurrent takers on any replica never overdraw it. Same
 * arithmetic as withBucket; when nothing was taken, a plain read says how long until a token is.
 */
export async function takeToken(q: Q, key: string, spec: BucketSpec, now: Date): Promise<Bucket> {
  const refilled = `LEAST($2::float8, b.tokens + GREATEST(0, EXTRACT(EPOCH FROM ($3::timestamptz - b.refilled_at))::float8) * $4::float8)`;
  const taken = await q.query<{ tokens: number }>(
    `INSERT INTO rate_buckets AS b (key, tokens, refilled_at) VALUES ($1, $2::float8 - 1, $3)
     ON CONFLICT (key) DO UPDATE SET tokens = ${refilled} - 1, refilled_at = GREATEST($3::timestamptz, b.refilled_at)
       WHERE (b.paused_until IS NULL OR b.paused_until <= $3::timestamptz) AND ${refilled} >= 1
     RETURNING tokens`,
    [key, spec.burst, now, spec.ratePerSec],
  );
  if (taken.length) return { available: 1, waitMs: 0 };
  const rows = await q.query<Row>('SELECT tokens, refilled_at, paused_until FROM rate_buckets WHERE key = $1', [key]);
  const row = rows[0];
  if (!row) return { available: 0, waitMs: 1000 };
  const t = now.getTime();
  const pausedMs = row.paused_until ? ms(row.paused_until) - t : 0;
  if (pausedMs > 0) return { available: 0, waitMs: pausedMs };
  const tokens = Math.min(spec.burst, row.tokens + (Math.max(0, t - ms(row.refilled_at)) / 1000) * spec.ratePerSec);
  return { available: 0, waitMs: Math.max(1, Math.ceil(((1 - tokens) / spec.ratePerSec) * 1000)) };
}

/** Holds the bucket for everybody until `until` (Slack's or PagerDuty's Retry-After). */
export async function pauseBucket(q: Q, key: string, until: Date): Promise<void> {
  await q.query(
    // One call may go the moment the pause ends; the bucket refills from there.
    `INSERT INTO rate_buckets (key, tokens, refilled_at, paused_until) VALUES ($1, 1, $2, $2)
     ON CONFLICT (key) DO UPDATE SET tokens = 1,
       refilled_at = GREATEST(COALESCE(rate_buckets.paused_until, $2), $2),
       paused_until = GREATEST(COALESCE(rate_buckets.paused_until, $2), $2)`,
    [key, until],
  );
}

/**
 * The service behind the bucket did not answer: pause it for an exponential backoff (1 s, 2 s,
 * 4 s … 60 s) counted over consecutive failures, so an outage is probed, not hammered.
 */
export async function backOffBucket(q: Q, key: string, now: Date): Promise<number> {
  const rows = await q.query<{ failures: number }>(
    `INSERT INTO rate_buckets (key, tokens, refilled_at, failures) VALUES ($1, 0, $2, 1)
     ON CONFLICT (key) DO UPDATE SET failures = rate_buckets.failures + 1
     RETURNING failures`,
    [key, now],
  );
  const delay = backoff(rows[0]?.failures ?? 1, { base: 1000, max: 60_000 });
  await pauseBucket(q, key, new Date(now.getTime() + delay));
  return delay;
}

/** The service answered again: the next failure starts the backoff afresh. */
export async function bucketRecovered(q: Q, key: string): Promise<void> {
  await q.query('UPDATE rate_buckets SET failures = 0 WHERE key = $1 AND failures > 0', [key]);
}

export const slackChannelKey = (channel: string): string => `slack:${channel}`;

/** A limiter for one outside API: waits for a token from the shared bucket before each call. */
export interface CallLimiter {
  /** Resolves when a call may go out; rejects when none can within `maxWaitMs`. */
  acquire(maxWaitMs: number): Promise<void>;
  /** The API said 429: nobody calls it until `retryAfterMs` has passed. */
  pause(retryAfterMs: number): Promise<void>;
}

/**
 * PagerDuty's budget: `perMinute` calls in any minute. The bucket holds a small burst and refills
 * at (perMinute − burst) / 60 a second, so no sixty seconds ever see more than `perMinute`.
 */
export function pagerDutySpec(perMinute: number): BucketSpec {
  const burst = Math.max(1, Math.min(16, Math.floor(perMinute / 10)));
  return { burst, ratePerSec: Math.max(perMinute - burst, 1) / 60 };
}

export function storeLimiter(
  store: Sql,
  key: string,
  spec: BucketSpec,
  now: () => Date,
  target: 'pagerduty' | 'slack',
): CallLimiter {
  return {
    async acquire(maxWaitMs) {
      const until = now().getTime() + maxWaitMs;
      for (;;) {
        let waitMs = 0;
        const got = await store.tx((q) =>
          withBucket(q, key, spec, now(), async (b) => {
            waitMs = b.waitMs;
            return 1;
          }),
        );
        if (got > 0) return;
        if (now().getTime() + waitMs > until) {
          throw new TargetError(
            target,
            'timed_out',
            `held back ${Math.ceil(waitMs / 1000)}s more to keep within the API's rate limit`,
          );
        }
        await sleep(Math.max(20, Math.min(waitMs, 1000)));
      }
    },
    async pause(retryAfterMs) {
      await pauseBucket(store, key, new Date(now().getTime() + retryAfterMs));
    },
  };
}
