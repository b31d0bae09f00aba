// The fault suite for the platform's PostgreSQL, Redis and API: down, hung, slow and
// garbage. The bot answers within its deadline with "unreachable"/"timed out", keeps
// serving everything else, and recovers by itself when the target comes back.

import { type PlatformApiFake, startPlatformApiFake } from '@dmp-bot/sim/platform-api-fake';
import { startTcpProxy, type TcpProxy } from '@dmp-bot/sim/tcp-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { createTestDatabase, PG_HOST, PG_PORT, type TestDatabase } from '../helpers/pg.js';
import { createTestRedis, REDIS_HOST, REDIS_PORT, redisUrlVia, type TestRedis } from '../helpers/redis.js';

const DEADLINE_MS = 800;

describe('faults: the platform targets', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let pgProxy: TcpProxy;
  let redisProxy: TcpProxy;
  let api: PlatformApiFake;
  let t: TestBot;

  const line = (json: unknown, check: string) => new RegExp(`\\*${check}\\*: ([^"]*)`).exec(allText(json))?.[1] ?? '';

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    redis = await createTestRedis();
    await redis.redis.rpush('scan_queue', 'a', 'b');
    pgProxy = await startTcpProxy(PG_HOST, PG_PORT);
    redisProxy = await startTcpProxy(REDIS_HOST, REDIS_PORT);
    api = await startPlatformApiFake({ adminToken: 'adm-tok-0001' });
    const dbUrl = new URL(db.url);
    dbUrl.host = `127.0.0.1:${pgProxy.port}`;
    t = await startTestBot({
      env: {
        DMP_DATABASE_URL: dbUrl.toString(),
        DMP_REDIS_URL: redisUrlVia('127.0.0.1', redisProxy.port),
        DMP_REDIS_PREFIX: redis.prefix,
        DMP_API_URL: api.url,
        DMP_ADMIN_TOKEN: 'adm-tok-0001',
        CHECK_DEADLINE: `${DEADLINE_MS}ms`,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await api?.close();
    await pgProxy?.close();
    await redisProxy?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  it('starts healthy', async () => {
    const res = await t.slash('health');
    expect(line(res.json, 'PostgreSQL')).toMatch(/^connected/);
    expect(line(res.json, 'Queue depth')).toBe('2 jobs in scan_queue');
  });

  for (const kind of ['down', 'hang', 'slow'] as const) {
    it(`answers within the deadline when PostgreSQL and Redis are ${kind}, then recovers when they return`, async () => {
      if (kind === 'down') {
        await pgProxy.down();
        await redisProxy.down();
      } else {
        pgProxy.setMode(kind, 3_000);
        redisProxy.setMode(kind, 3_000);
        pgProxy.dropConnections();
        redisProxy.dropConnections();
      }
      try {
        // The reply names each hung or gone target by its deadline's outcome instead of waiting on it.
        const res = await t.slash('health');
        expect(res.status).toBe(200);
        expect(line(res.json, 'PostgreSQL')).toMatch(/unreachable|timed out/);
        expect(line(res.json, 'Redis')).toMatch(/unreachable|timed out/);
        // Everything else keeps being served.
        expect(line(res.json, 'API server')).toMatch(/^healthy/);
        const help = await t.slash('help');
        expect(allText(help.json)).toContain('/dmp scans stuck');
      } finally {
        if (kind === 'down') {
          await pgProxy.up();
          await redisProxy.up();
        } else {
          pgProxy.setMode('pass');
          redisProxy.setMode('pass');
          pgProxy.dropConnections();
          redisProxy.dropConnections();
        }
      }
      // Recovery needs no restart of the bot.
      let recovered = '';
      for (let i = 0; i < 20 && !/^connected/.test(recovered); i++) {
        const res = await t.slash('health');
        recovered = line(res.json, 'PostgreSQL');
        if (/^connected/.test(recovered) && line(res.json, 'Queue depth') === '2 jobs in scan_queue') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(recovered).toMatch(/^connected/);
    }, 30_000);
  }

  it('names a platform API that answers garbage or errors, and recovers', async () => {
    api.setFault('garbage');
    const garbage = await t.slash('health');
    expect(line(garbage.json, 'API server')).not.toMatch(/^healthy/);
    api.setFault('error');
    const error = await t.slash('health');
    expect(line(error.json, 'API server')).toMatch(/500/);
    api.setFault('none');
    const ok = await t.slash('health');
    expect(line(ok.json, 'API server')).toMatch(/^healthy/);
  });
});
