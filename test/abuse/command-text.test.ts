// The abuse suite's command half: ten thousand generated `/dmp` texts, and a signed sample of
// them through the real receiver. No crash, no internal error text, every reply within limits.

import { mulberry32 } from '@dmp-bot/sim/random';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandRegistry } from '../../src/commands/registry.js';
import { runCommandText } from '../../src/commands/router.js';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { expectWithinSlackLimits, INTERNAL_ERROR } from '../helpers/limits.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { createTestRedis, REDIS_URL, type TestRedis } from '../helpers/redis.js';

const NASTY = [
  "'; DROP TABLE scans;--",
  '$(rm -rf /)',
  '`reboot`',
  '| cat /etc/passwd',
  '&& curl evil.example',
  '<@U0ALICE01>',
  '<!channel>',
  '<!subteam^S123|@oncall>',
  '<#C123|general>',
  '<https://evil.example|click>',
  '%s%s%n',
  '../../../../etc/passwd',
  '\u0000\u0001\u0007\u001b[31m',
  '\u202e\u200b\ufeff',
  '🔥💥🚨',
  'Ω≈ç√∫',
  '--since',
  '--since 99999999999d',
  '--grep',
  '-1',
  '1e309',
  'NaN',
  '00000000-0000-0000-0000-000000000000',
  'null',
  '{"a":1}',
  '*bold* _it_ ~s~',
];

function generate(count: number, seed = 42): string[] {
  const next = mulberry32(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const words = [
    ...new Set(commandRegistry().flatMap((c) => c.words)),
    'api',
    'scan-workers',
    'graph:*',
    '10',
    '5m',
    'P1',
    'incident',
    'fail',
  ];
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = next();
    if (r < 0.002) out.push('x'.repeat(100_000));
    else if (r < 0.004) out.push(`scans stuck ${'é'.repeat(50_000)}`);
    else {
      const n = 1 + Math.floor(next() * 5);
      const parts: string[] = [];
      for (let j = 0; j < n; j++) {
        const k = next();
        if (k < 0.55) parts.push(pick(words));
        else if (k < 0.85) parts.push(pick(NASTY));
        else
          parts.push(
            String.fromCodePoint(
              ...Array.from({ length: 1 + Math.floor(next() * 8) }, () => Math.floor(next() * 0x2fff)),
            ),
          );
      }
      out.push(parts.join(pick([' ', '  ', '\t', '\n'])));
    }
  }
  return out;
}

describe('abuse: generated /dmp texts', () => {
  let t: TestBot;
  let db: TestDatabase;
  let redis: TestRedis;

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    redis = await createTestRedis();
    // Operators unset: every remediation is refused, nothing changes, whatever the text.
    t = await startTestBot({
      env: { DMP_DATABASE_URL: db.url, DMP_REDIS_URL: REDIS_URL, DMP_REDIS_PREFIX: redis.prefix, CHECK_DEADLINE: '1s' },
    });
    await db.client.query(
      `INSERT INTO repositories VALUES ('11111111-1111-4111-8111-111111111111','22222222-2222-4222-8222-222222222222','acme/api')`,
    );
  });
  afterAll(async () => {
    await t?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  it('answers 10 000 generated texts without a crash, an internal error or a reply over Slack limits', async () => {
    const texts = generate(10_000);
    const ctx = { userId: 'U0MALLORY', channelId: 'C0OPS0001' };
    for (let i = 0; i < texts.length; i += 50) {
      const batch = texts.slice(i, i + 50);
      const replies = await Promise.all(batch.map((text) => runCommandText(t.bot.deps, t.bot.commands, ctx, text)));
      for (const [j, reply] of replies.entries()) {
        if (reply.modal) continue;
        try {
          expectWithinSlackLimits(reply);
          expect(JSON.stringify(reply)).not.toMatch(INTERNAL_ERROR);
        } catch (err) {
          throw new Error(`text #${i + j} ${JSON.stringify(batch[j]?.slice(0, 200))}: ${(err as Error).message}`);
        }
      }
    }
    const [row] = (await db.client.query('SELECT count(*)::int AS n FROM scans')).rows as Array<{ n: number }>;
    expect(row?.n).toBe(0);
    const [repo] = (await db.client.query('SELECT count(*)::int AS n FROM repositories')).rows as Array<{ n: number }>;
    expect(repo?.n).toBe(1);
  }, 240_000);

  it('answers a signed sample through the real receiver with 200 and a reply Slack accepts', async () => {
    for (const text of generate(150, 7)) {
      const res = await t.slash(text.slice(0, 3000));
      expect(res.status).toBe(200);
      if (res.json) {
        expectWithinSlackLimits(res.json as { text?: string; blocks?: unknown[] });
        expect(res.body).not.toMatch(INTERNAL_ERROR);
      }
    }
    expect(t.logs.join('\n')).not.toContain('"level":60');
  }, 120_000);
});
