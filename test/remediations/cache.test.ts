// Cache maintenance against real Redis under a key prefix of its own (DMP_REDIS_PREFIX): a
// namespace cleared with SCAN and UNLINK while every other key stays, patterns that would reach
// the platform's own state refused, and FLUSHDB behind the two-person rule.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../src/blocks/remediation-ids.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { createTestRedis, REDIS_URL, type TestRedis } from '../helpers/redis.js';
import { ALICE, BOB, buttonsOf, press, slashShown, textOf, thread, until } from '../helpers/remediation.js';

describe('cache remediations', () => {
  let redis: TestRedis;
  let neighbour: TestRedis;
  let t: TestBot;

  beforeAll(async () => {
    redis = await createTestRedis();
    neighbour = await createTestRedis();
    const pipeline = redis.redis.pipeline();
    for (let i = 0; i < 1_200; i++) pipeline.set(`graph:${i}`, 'x');
    pipeline.set('graphql:schema', 'keep');
    pipeline.set('user:42', 'keep');
    pipeline.rpush('scan_queue', 'job-1', 'job-2');
    pipeline.hset('workers', 'worker-1', '{}');
    await pipeline.exec();
    await neighbour.redis.set('graph:1', 'not ours');
    t = await startTestBot({
      env: { DMP_REDIS_URL: REDIS_URL, DMP_REDIS_PREFIX: redis.prefix, DMP_OPERATORS: `${ALICE},${BOB}` },
    });
  });

  afterAll(async () => {
    await t?.close();
    await redis?.cleanup();
    await neighbour?.cleanup();
  });

  it('clears graph:* in batches, reports the count, and leaves every other key alone', async () => {
    const { message } = await slashShown(t, 'cache clear graph:*');
    expect(textOf(message)).toContain('1200 keys match graph:*');
    expect(await redis.redis.exists('graph:0')).toBe(1);
    await press(t, message!, 'Confirm');
    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith('Clear cache graph:*:')),
      'the outcome',
    );
    expect(outcome.text).toContain('1200 keys matching graph:* removed');

    const raw = new Redis(REDIS_URL);
    try {
      const [, left] = await raw.scan('0', 'MATCH', `${redis.prefix}graph:*`, 'COUNT', 5_000);
      expect(left).toEqual([]);
    } finally {
      raw.disconnect();
    }
    expect(await redis.redis.get('graphql:schema')).toBe('keep');
    expect(await redis.redis.get('user:42')).toBe('keep');
    expect(await redis.redis.llen('scan_queue')).toBe(2);
    expect(await neighbour.redis.get('graph:1')).toBe('not ours');
  });

  it('refuses patterns that match everything or the platform’s queue and workers', async () => {
    for (const [pattern, why] of [
      ['*', 'at least two literal characters'],
      ['work*', "platform's own state"],
      ['scan_*', "platform's own state"],
      ['graph:[a-z]', 'letters, digits'],
    ] as const) {
      const { json } = await slashShown(t, `cache clear ${pattern}`);
      expect(allText(json)).toContain(why);
      expect(buttonsOf(json as { blocks?: unknown[] })).toEqual([]);
    }
    expect(await redis.redis.llen('scan_queue')).toBe(2);
  });

  it('flushes only the bot’s prefix, after a reason and a second operator’s approval', async () => {
    const { message } = await slashShown(t, 'cache flush');
    expect(textOf(message)).toMatch(/keys under the prefix .* will be removed/);
    const opened = t.slack.callsTo('views.open').length;
    await press(t, message!, 'Confirm');
    const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
    await t.submit({
      user: ALICE,
      view: {
        callback_id: REASON_MODAL,
        private_metadata: (call.args.view as { private_metadata: string }).private_metadata,
        state: {
          values: {
            [REASON_BLOCK]: {
              [REASON_INPUT]: { type: 'plain_text_input', value: 'stale graph cache after the migration' },
            },
          },
        },
      },
    });
    const request = await until(
      () => thread(t, message!.ts).find((m) => buttonsOf(m).some((b) => b.label === 'Approve')),
      'the approval request',
    );
    expect(await redis.redis.get('user:42')).toBe('keep');
    await press(t, request, 'Approve', BOB);
    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith('Flush the cache database:')),
      'the flush outcome',
    );
    expect(outcome.text).toMatch(/\d+ keys under .* removed/);
    expect(await redis.redis.exists('user:42', 'graphql:schema', 'scan_queue', 'workers')).toBe(0);
    expect(await neighbour.redis.get('graph:1')).toBe('not ours');
  });
});
