// The fault suite for the Kubernetes API: down, hung, answering garbage or errors. The
// bot names it on its own line within the deadline and recovers when it returns.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';

describe('faults: the Kubernetes API', () => {
  let kube: KubeFake;
  let t: TestBot;
  const dir = mkdtempSync(join(tmpdir(), 'kube-'));
  const workerLine = (json: unknown) => /\*Worker deployment\*: ([^"]*)/.exec(allText(json))?.[1] ?? '';

  beforeAll(async () => {
    kube = await startKubeFake();
    seedPlatform(kube);
    t = await startTestBot({ env: { KUBECONFIG: kube.writeKubeconfig(dir), CHECK_DEADLINE: '1s' } });
  });
  afterAll(async () => {
    await t?.close();
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the worker deployment when the API answers', async () => {
    expect(workerLine((await t.slash('scans stuck')).json)).toMatch(/^scan-workers: 3\/3 ready/);
  });

  for (const fault of ['hang', 'error', 'garbage'] as const) {
    it(`says so within the deadline when the API is ${fault === 'hang' ? 'hung' : `answering ${fault}`}, then recovers`, async () => {
      kube.setFault(fault);
      try {
        // The check deadline is 1 s; a hung API without one would hold the reply for good: the
        // reply names the deadline's outcome (timed out) rather than waiting.
        const res = await t.slash('scans stuck');
        expect(workerLine(res.json)).toMatch(
          fault === 'hang' ? /timed out/ : /Kubernetes|failed|HTTP|500|unexpected|JSON/i,
        );
        expect(res.body).not.toMatch(/node_modules|\bat \w+ \(/);
      } finally {
        kube.setFault('none');
      }
      expect(workerLine((await t.slash('scans stuck')).json)).toMatch(/^scan-workers: 3\/3 ready/);
    });
  }

  it('says "unreachable" when the API is down, then recovers on the same address', async () => {
    await kube.down();
    try {
      expect(workerLine((await t.slash('scans stuck')).json)).toMatch(/unreachable/);
    } finally {
      await kube.up();
    }
    expect(workerLine((await t.slash('scans stuck')).json)).toMatch(/^scan-workers: 3\/3 ready/);
  });
});
