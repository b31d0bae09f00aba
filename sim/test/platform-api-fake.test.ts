import type { PlatformApiFake } from '@dmp-bot/sim/platform-api-fake';
import { startPlatformApiFake, startReachabilityFake } from '@dmp-bot/sim/platform-api-fake';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

describe('platform API fake', () => {
  let platform: PlatformApiFake;
  beforeEach(async () => {
    platform = await startPlatformApiFake({ adminToken: 'admin-secret' });
  });
  afterEach(async () => {
    await platform.close();
  });

  const get = (path: string, token?: string) =>
    fetch(`${platform.url}${path}`, token ? { headers: { Authorization: `Bearer ${token}` } } : {});

  it('answers /health like the runbook shows', async () => {
    const res = await get('/health');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'healthy', version: '1.2.3' });
  });

  it('requires the admin token for /health/detailed and then lists the components', async () => {
    expect((await get('/health/detailed')).status).toBe(401);
    expect((await get('/health/detailed', 'wrong')).status).toBe(401);
    const res = await get('/health/detailed', 'admin-secret');
    expect(await res.json()).toEqual({
      status: 'healthy',
      version: '1.2.3',
      components: { database: 'healthy', cache: 'healthy', queue: 'healthy', storage: 'healthy' },
    });
  });

  it('reports a component the test breaks, and the overall status follows', async () => {
    platform.setComponent('storage', 'unhealthy');
    const detailed = (await (await get('/health/detailed', 'admin-secret')).json()) as Record<string, unknown>;
    expect(detailed).toMatchObject({ status: 'unhealthy', components: { storage: 'unhealthy', database: 'healthy' } });
    platform.setStatus('degraded');
    expect(await (await get('/health')).json()).toMatchObject({ status: 'degraded' });
  });

  it('lists workers with their heartbeats and counts the dead', async () => {
    const body = (await (await get('/health/workers')).json()) as {
      status: string;
      alive: number;
      dead: number;
      workers: Array<{ id: string; status: string; last_heartbeat: number }>;
    };
    expect(body).toMatchObject({ status: 'degraded', alive: 3, dead: 2 });
    expect(body.workers.map((w) => w.id)).toContain('worker-3');
    expect(typeof body.workers[0]?.last_heartbeat).toBe('number');
  });

  it('can be made to time out or disappear', async () => {
    platform.setFault('hang');
    await expect(fetch(`${platform.url}/health`, { signal: AbortSignal.timeout(100) })).rejects.toThrow();
    platform.setFault('none');
    await platform.down();
    await expect(fetch(`${platform.url}/health`)).rejects.toThrow();
    await platform.up();
    expect((await get('/health')).status).toBe(200);
  });
});

describe('reachability fake (api.github.com)', () => {
  it('answers GET and HEAD / with 200 and GitHub headers, POST with 404 JSON', async () => {
    const github = await startReachabilityFake();
    try {
      const got = await fetch(`${github.url}/`);
      expect(got.status).toBe(200);
      expect(got.headers.get('x-github-request-id')).toBeTruthy();
      expect((await fetch(`${github.url}/`, { method: 'HEAD' })).status).toBe(200);
      const posted = await fetch(`${github.url}/`, { method: 'POST', body: '{}' });
      expect(posted.status).toBe(404);
      expect(await posted.json()).toMatchObject({ message: 'Not Found' });
    } finally {
      await github.close();
    }
  });
});
