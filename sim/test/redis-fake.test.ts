import { type RedisFake, startRedisFake } from '@dmp-bot/sim/redis-fake';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

describe('the in-memory Redis stand-in, through ioredis unchanged', () => {
  let fake: RedisFake;
  let now = Date.parse('2025-06-01T12:00:00Z');
  let redis: Redis;

  beforeAll(async () => {
    fake = await startRedisFake({
      clock: () => now,
      memoryBaseBytes: 4 * 1024 * 1024,
      maxmemoryBytes: 64 * 1024 * 1024,
    });
    redis = new Redis(fake.url, { lazyConnect: true, keyPrefix: 'p:', maxRetriesPerRequest: 1 });
    await redis.connect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await fake?.close();
  });

  it('answers the runbook’s queue and worker commands as Redis does', async () => {
    expect(await redis.ping()).toBe('PONG');
    await redis.rpush('scan_queue', 'a', 'b', 'c');
    expect(await redis.llen('scan_queue')).toBe(3);
    expect(await redis.lrange('scan_queue', 0, -1)).toEqual(['a', 'b', 'c']);
    await redis.hset('workers', 'worker-1', '{"status":"busy"}', 'worker-3', '{"status":"busy"}');
    expect(await redis.hgetall('workers')).toEqual({
      'worker-1': '{"status":"busy"}',
      'worker-3': '{"status":"busy"}',
    });
    const nowS = Math.floor(now / 1000);
    await redis.zadd('worker_heartbeats', nowS - 10, 'worker-1', nowS - 900, 'worker-3');
    expect(await redis.zrangebyscore('worker_heartbeats', 0, nowS - 300, 'WITHSCORES')).toEqual([
      'worker-3',
      String(nowS - 900),
    ]);
    // The key prefix is the client's business: the server stores what it is sent.
    expect(fake.exec(['LLEN', 'p:scan_queue'])).toBe(3);
  });

  it('clears a namespace with SCAN and UNLINK in batches, missing no key and touching no other', async () => {
    for (let i = 0; i < 500; i++) fake.exec(['SET', `graph:${i}`, 'x']);
    for (let i = 0; i < 40; i++) fake.exec(['SET', `session:${i}`, 'y']);
    const raw = new Redis(fake.url);
    let cursor = '0';
    let removed = 0;
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', 'graph:*', 'COUNT', 37);
      cursor = next;
      if (keys.length) removed += await raw.unlink(...keys);
    } while (cursor !== '0');
    expect(removed).toBe(500);
    expect(await raw.keys('graph:*')).toEqual([]);
    expect(await raw.exists(...Array.from({ length: 40 }, (_, i) => `session:${i}`))).toBe(40);
    raw.disconnect();
  });

  it('reports INFO stats, memory and keyspace with the fields the bot reads', async () => {
    fake.addStats({ hits: 700, misses: 300 });
    const stats = await redis.info('stats');
    expect(stats).toMatch(/^# Stats/);
    expect(Number(/keyspace_hits:(\d+)/.exec(stats)?.[1])).toBeGreaterThanOrEqual(700);
    expect(stats).toMatch(/keyspace_misses:\d+/);
    const memory = await redis.info('memory');
    expect(memory).toMatch(/used_memory_human:\d+\.\d\dM/);
    expect(memory).toContain('maxmemory_human:64.00M');
    expect(await redis.info('keyspace')).toMatch(/db0:keys=\d+,expires=\d+/);
    expect(await redis.info('stats')).not.toContain('# Memory');
  });

  it('expires keys, refuses the wrong type and empties the database on FLUSHDB', async () => {
    await redis.set('session:short', 'v', 'EX', 30);
    expect(await redis.ttl('session:short')).toBe(30);
    now += 31_000;
    expect(await redis.get('session:short')).toBeNull();
    await expect(redis.lpush('workers', 'x')).rejects.toThrow(/WRONGTYPE/);
    expect(await redis.type('workers')).toBe('hash');
    await redis.flushdb();
    expect(await redis.dbsize()).toBe(0);
  });
});
