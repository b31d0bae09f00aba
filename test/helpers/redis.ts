// A key prefix of its own on the real Redis for each test file; its keys removed afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/**
 * The tests' Redis: `TEST_REDIS_URL`, else a local server's database 9 — a database of the
 * tests' own, never 0, so a developer's data in the default database is not touched.
 */
export const REDIS_URL = process.env.TEST_REDIS_URL || 'redis://127.0.0.1:6379/9';
const redisUrl = new URL(REDIS_URL);
/** Host and port of the tests' Redis (for proxies placed in front of it). */
export const REDIS_HOST = redisUrl.hostname || '127.0.0.1';
export const REDIS_PORT = Number(redisUrl.port || 6379);

/** REDIS_URL with another host and port: the same credentials and database behind a proxy. */
export function redisUrlVia(host: string, port: number): string {
  const u = new URL(REDIS_URL);
  u.hostname = host;
  u.port = String(port);
  return u.toString();
}

export interface TestRedis {
  prefix: string;
  /** A client whose commands are prefixed, as the bot's are. */
  redis: Redis;
  cleanup(): Promise<void>;
}

export async function createTestRedis(): Promise<TestRedis> {
  const prefix = `t:${randomBytes(5).toString('hex')}:`;
  const redis = new Redis(REDIS_URL, { keyPrefix: prefix, lazyConnect: true });
  await redis.connect();
  return {
    prefix,
    redis,
    async cleanup() {
      const raw = new Redis(REDIS_URL);
      let cursor = '0';
      do {
        const [next, keys] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length) await raw.unlink(...keys);
      } while (cursor !== '0');
      raw.disconnect();
      redis.disconnect();
    },
  };
}

/** The runbook's "Scans Stuck" world: a queue, registered workers and their heartbeats. */
export async function seedWorkers(
  redis: Redis,
  opts: { queue: number; alive: string[]; dead: string[]; nowS?: number },
): Promise<void> {
  const now = opts.nowS ?? Math.floor(Date.now() / 1000);
  if (opts.queue)
    await redis.rpush(
      'scan_queue',
      ...Array.from({ length: opts.queue }, (_, i) => JSON.stringify({ scan_id: `job-${i}` })),
    );
  for (const id of opts.alive) {
    await redis.hset('workers', id, JSON.stringify({ status: 'busy', pid: 100 }));
    await redis.zadd('worker_heartbeats', now - 10, id);
  }
  for (const id of opts.dead) {
    await redis.hset('workers', id, JSON.stringify({ status: 'busy', pid: 200 }));
    await redis.zadd('worker_heartbeats', now - 15 * 60, id);
  }
}
