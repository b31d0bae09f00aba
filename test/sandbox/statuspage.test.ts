// The sandbox's status page and its bad-deploy scenario, in process: `/dmp sandbox statuspage`
// lists what the bot opened on the simulated page, and paging `bad-deploy` puts a release ten
// minutes before the page that fails the api's health until it is rolled back.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sandboxCommands } from '../../sandbox/commands.js';
import { type SimulatedPlatform, startSimulatedPlatform } from '../../sandbox/platform.js';
import { BAD_API_IMAGE } from '../../sandbox/seed.js';
import type { Deps } from '../../src/deps.js';

describe('the sandbox status page and bad-deploy scenario', () => {
  let platform: SimulatedPlatform;
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-sp-'));

  beforeAll(async () => {
    platform = await startSimulatedPlatform({ dir });
    await platform.ready;
    // Nobody listens here: the page is staged and triggered, its webhook simply not delivered.
    platform.connectBot('http://127.0.0.1:9');
  }, 120_000);
  afterAll(async () => {
    await platform?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const command = (words: string) => {
    const c = sandboxCommands(platform, {}).find((x) => x.words.join(' ') === words);
    if (!c) throw new Error(`no /dmp ${words}`);
    return c;
  };

  it('configures the bot for its status page and lists the incidents opened there', async () => {
    const env = platform.env;
    expect(env.STATUSPAGE_API_URL).toBe(platform.statuspage.apiUrl);
    const components = JSON.parse(env.STATUSPAGE_COMPONENTS ?? '{}') as Record<string, string>;
    const empty = await command('sandbox statuspage').run({} as Deps, { args: [] } as never);
    expect(empty.text).toContain('0 incidents');

    const res = await fetch(new URL(`pages/${env.STATUSPAGE_PAGE_ID}/incidents`, env.STATUSPAGE_API_URL), {
      method: 'POST',
      headers: { authorization: `OAuth ${env.STATUSPAGE_API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        incident: {
          name: 'Delays processing scans',
          status: 'investigating',
          body: 'We are investigating.',
          components: { [components.workers as string]: 'degraded_performance' },
        },
      }),
    });
    expect(res.status).toBe(201);
    const listed = await command('sandbox statuspage').run({} as Deps, { args: [] } as never);
    const text = `${listed.text}\n${JSON.stringify(listed.blocks)}`;
    expect(text).toContain('1 incident');
    expect(text).toContain('Delays processing scans');
    expect(text).toContain('investigating');
    expect(text).toContain('Scan workers: degraded_performance');
  });

  it('pages bad-deploy with a release ten minutes before, failing the api until it is rolled back', async () => {
    const health = async () => {
      const r = await fetch(`${platform.api.url}/health`);
      return ((await r.json()) as { status?: string }).status;
    };
    expect(await health()).not.toBe('unhealthy');
    const result = await platform.page(['bad-deploy']);
    expect(result.scenario.id).toBe('bad-deploy');
    const d = platform.k8s.getDeployment('api');
    expect(d?.spec.template.spec.containers[0]?.image).toBe(BAD_API_IMAGE);
    const newest = platform.k8s
      .listReplicaSets('api')
      .map((rs) => new Date(rs.metadata.creationTimestamp).getTime())
      .sort((a, b) => b - a)[0];
    const ago = Date.now() - (newest ?? 0);
    expect(ago).toBeGreaterThan(9 * 60_000);
    expect(ago).toBeLessThan(11 * 60_000);
    expect(await health()).toBe('unhealthy');

    // The rollback the diagnosis offers: back to 1.2.3, and the api is healthy again.
    platform.k8s.updateDeployment('api', (dep) => {
      const c = dep.spec.template.spec.containers[0];
      if (c) c.image = 'ghcr.io/dmp/api:1.2.3';
    });
    await platform.world()?.tick();
    expect(await health()).not.toBe('unhealthy');
  });
});
