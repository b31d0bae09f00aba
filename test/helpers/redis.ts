// A key prefix of its own on the real Redis for each test file; its keys removed afterwards.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

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
