import { createServer, type Server, type Socket } from 'node:net';
import { type PlatformApiFake, startPlatformApiFake } from '@dmp-bot/sim/platform-api-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { health } from '../../src/runbooks/health.js';
import { runProcedure } from '../../src/runbooks/run.js';
import { closeTargets, createTargets } from '../../src/targets/index.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { createTestRedis, REDIS_URL, type TestRedis } from '../helpers/redis.js';

const log = createLogger('silent');

/** A server that accepts connections and never says a word: the worst kind of target. */
function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      resolve({
        url: `127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((r) => {
            for (const s of sockets) s.destroy();
            server.close(() => r());
          }),
      });
    });
  });
}

describe('/dmp health (Health Checks)', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let api: PlatformApiFake;

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    redis = await createTestRedis();
    await redis.redis.rpush('scan_queue', 'a', 'b', 'c');
    api = await startPlatformApiFake({ adminToken: 'admin-token-123' });
  });
  afterAll(async () => {
    await api?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const env = (over: Record<string, string> = {}) =>
    loadConfig({
      DMP_DATABASE_URL: db.url,
      DMP_REDIS_URL: REDIS_URL,
      DMP_REDIS_PREFIX: redis.prefix,
      DMP_API_URL: api.url,
      DMP_ADMIN_TOKEN: 'admin-token-123',
      CHECK_DEADLINE: '1s',
      ...over,
    } as NodeJS.ProcessEnv);

  it('reports every component of a healthy platform, with the queue depth as itself', async () => {
    const targets = await createTargets(env(), log);
    try {
      const report = await runProcedure(health, targets, [], 1000);
      const byCheck = Object.fromEntries(report.findings.map((f) => [f.check, f]));
      expect(byCheck['API server']?.status).toBe('ok');
      expect(byCheck['API server']?.summary).toContain('1.2.3');
      expect(byCheck.PostgreSQL?.status).toBe('ok');
      expect(byCheck.Redis?.summary).toContain('PONG');
      expect(byCheck['Queue depth']?.summary).toBe('3 jobs in scan_queue');
      expect(byCheck['Object storage (MinIO/S3)']?.summary).toBe('healthy');
    } finally {
      await closeTargets(targets);
    }
  });

  it('names the unhealthy component the detailed health reports', async () => {
    api.setComponent('storage', 'unhealthy');
    const targets = await createTargets(env(), log);
    try {
      const report = await runProcedure(health, targets, [], 1000);
      expect(report.findings.find((f) => f.check === 'Object storage (MinIO/S3)')?.status).toBe('critical');
      expect(report.verdict).toBe('critical');
    } finally {
      api.setComponent('storage', 'healthy');
      await closeTargets(targets);
    }
  });

  it('answers within its deadline while the API and the database accept connections and never reply', async () => {
    const silentPg = await silentServer();
    api.setFault('hang');
    const targets = await createTargets(env({ DMP_DATABASE_URL: `postgres://u:pw@${silentPg.url}/db` }), log);
    try {
      // The deadline is 1 s: each hung check comes back as its deadline's outcome, not an answer.
      const report = await runProcedure(health, targets, [], 1000);
      const api1 = report.findings.find((f) => f.check === 'API server');
      expect(api1?.summary).toMatch(/timed out|unreachable/);
      expect(report.findings.find((f) => f.check === 'PostgreSQL')?.summary).toMatch(/timed out|unreachable/);
      expect(report.findings.find((f) => f.check === 'Redis')?.status).toBe('ok');
      expect(JSON.stringify(report)).not.toContain(':pw@');
    } finally {
      api.setFault('none');
      await closeTargets(targets);
      await silentPg.close();
    }
  });

  it('says "unreachable" for a database that refuses connections', async () => {
    const targets = await createTargets(env({ DMP_DATABASE_URL: 'postgres://postgres:s3cretpw@127.0.0.1:1/x' }), log);
    try {
      const report = await runProcedure(health, targets, [], 1000);
      const pg = report.findings.find((f) => f.check === 'PostgreSQL');
      expect(pg?.summary).toMatch(/^PostgreSQL: unreachable/);
      expect(JSON.stringify(report)).not.toContain('s3cretpw');
    } finally {
      await closeTargets(targets);
    }
  });

  it('says "not configured" and how to configure it, one line per component', async () => {
    const targets = await createTargets(loadConfig({} as NodeJS.ProcessEnv), log);
    const report = await runProcedure(health, targets, [], 1000);
    for (const f of report.findings) expect(f.summary).toMatch(/^not configured — set /);
    expect(report.verdict).toBe('unknown');
  });
});
