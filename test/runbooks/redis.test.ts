// The runbook's Redis procedures against a real Redis under a key prefix of their own: the
// queue, the workers and their heartbeats, and the cache statistics.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSummary } from '../../src/blocks/report.js';
import { createTestRedis, REDIS_URL, seedWorkers, type TestRedis } from '../helpers/redis.js';
import { finding, makeTargets, type TestTargets } from '../helpers/targets.js';

describe('Redis procedures', () => {
  let redis: TestRedis;
  let t: TestTargets;

  beforeAll(async () => {
    redis = await createTestRedis();
    await seedWorkers(redis.redis, {
      queue: 0,
      alive: ['worker-1', 'worker-2', 'worker-4'],
      dead: ['worker-3', 'worker-5'],
    });
    const now = Date.now();
    await redis.redis.rpush(
      'scan_queue',
      ...Array.from({ length: 42 }, (_, i) =>
        JSON.stringify({ scan_id: `job-${i}`, enqueued_at: new Date(now - (42 - i) * 60_000).toISOString() }),
      ),
    );
    const graph = redis.redis.pipeline();
    for (let i = 0; i < 1_200; i++) graph.set(`graph:scan-${i}`, 'x');
    for (let i = 0; i < 30; i++) graph.set(`session:${i}`, 'y');
    await graph.exec();
    t = await makeTargets({ DMP_REDIS_URL: REDIS_URL, DMP_REDIS_PREFIX: redis.prefix });
  });

  afterAll(async () => {
    await t?.close();
    await redis?.cleanup();
  });

  it('/dmp queue shows the depth, peeks the oldest and newest job and counts the workers', async () => {
    const report = await t.run('queue');
    const depth = finding(report, 'Queue depth');
    expect(depth.summary).toBe('42 jobs in scan_queue: backed up');
    expect(depth.details?.[0]).toMatch(/^oldest \(head\): \{"scan_id":"job-0".*\(waiting 42m\)$/);
    expect(depth.details?.[1]).toMatch(/^newest \(tail\): \{"scan_id":"job-41".*\(waiting 1m\)$/);
    expect(finding(report, 'Workers').summary).toBe('5 registered, 3 with a heartbeat in the last 5 minutes');
    expect(report.nextSteps.map((s) => s.remedy)).toEqual(['scale-deployment']);
    // Peeking leaves the queue as it was.
    expect(await redis.redis.llen('scan_queue')).toBe(42);
  });

  it('/dmp workers names each worker with its heartbeat age and the dead ones, and offers a restart', async () => {
    const report = await t.run('workers');
    const f = finding(report, 'Workers');
    expect(f.status).toBe('critical');
    expect(f.summary).toBe('5 registered, 3 alive, 2 dead: worker-3, worker-5');
    // Seeded 15 minutes and 10 seconds ago; a second may tick between seeding and reading.
    expect(f.details).toContainEqual(
      expect.stringMatching(/^worker-3 {2}busy {2}last heartbeat 15m( \ds)? ago {2}DEAD$/),
    );
    expect(f.details).toContainEqual(expect.stringMatching(/^worker-1 {2}busy {2}last heartbeat 1[01]s ago$/));
    expect(report.nextSteps).toEqual([
      expect.objectContaining({ remedy: 'restart-deployment', params: { deployment: 'scan-workers' } }),
    ]);
  });

  it('/dmp cache stats gives the hit rate, memory and keys per namespace under the prefix', async () => {
    await redis.redis.get('graph:scan-1');
    await redis.redis.get('graph:missing');
    const report = await t.run('cache-stats');
    expect(finding(report, 'Hit rate').summary).toMatch(/^\d+\.\d% \(keyspace_hits \d+, keyspace_misses \d+\)$/);
    expect(finding(report, 'Redis memory').summary).toMatch(/^used_memory_human \S+ /);
    const ns = finding(report, 'Keys by namespace');
    // SCAN saw exactly this test's keys: the prefix was added to MATCH and taken off the keys.
    expect(ns.summary).toBe(`1233 keys under prefix ${redis.prefix}; the largest cache namespace graph:* with 1200`);
    expect(ns.details?.slice(0, 2)).toEqual(['graph:*  1200', 'session:*  30']);
    expect(ns.details?.[2]).toContain('scan_queue 1');
    expect(report.nextSteps).toEqual([
      expect.objectContaining({ remedy: 'cache-clear', params: { pattern: 'graph:*' } }),
    ]);
  });

  it('says Redis is not configured when DMP_REDIS_URL is unset', async () => {
    const bare = await makeTargets({});
    try {
      const report = await bare.run('queue');
      expect(
        report.findings.every((f) => f.status === 'unknown' && renderSummary(f.summary).startsWith('not configured')),
      ).toBe(true);
    } finally {
      await bare.close();
    }
  });

  it('names Redis as unreachable when nothing listens', async () => {
    const down = await makeTargets({ DMP_REDIS_URL: 'redis://127.0.0.1:1/0' });
    try {
      const report = await down.run('workers');
      expect(finding(report, 'Workers')).toMatchObject({
        status: 'critical',
        summary: expect.stringMatching(/Redis: (unreachable|timed out)/),
      });
    } finally {
      await down.close();
    }
  });
});
