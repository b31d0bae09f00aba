// What anyone may read, and where it is shown: /dmp logs, /dmp pods and /dmp rollout history
// only for the platform's own apps (another name is refused before Kubernetes is asked), and
// the answers that can hold secrets (logs, the audit log, timelines, post-mortems) go to the
// asker alone, never in the channel.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';

describe('abuse: read commands stay in scope', () => {
  let kube: TestKube;
  let t: TestBot;

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    t = await startTestBot({ env: { KUBECONFIG: kube.kubeconfig, DMP_NAMESPACE: 'dmp', CHECK_DEADLINE: '5s' } });
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  for (const text of [
    'logs billing',
    'logs app=billing --since 1h',
    'logs billing --grep card',
    'pods billing',
    'pods app=kube-system',
    'rollout history billing',
    'rollout history deployment/billing',
  ]) {
    it(`refuses \`/dmp ${text}\` and reads nothing`, async () => {
      const before = kube.fake.requests.length;
      const res = await t.slash(text, { user: 'U0MALLORY' });
      expect(res.status).toBe(200);
      expect(allText(res.json)).toContain("is not one of the platform's apps");
      expect(kube.fake.requests.slice(before)).toEqual([]);
    });
  }

  it("still reads the platform's own apps", async () => {
    const before = kube.fake.requests.length;
    const res = await t.slash('pods api', { user: 'U0MALLORY' });
    expect(allText(res.json)).toContain('Pods of api');
    expect(kube.fake.requests.length).toBeGreaterThan(before);
  });

  for (const text of ['logs api --since 1h', 'audit 5', 'incident timeline', 'postmortem 42']) {
    it(`answers \`/dmp ${text}\` to the asker alone`, async () => {
      const res = await t.slash(text);
      expect(res.status).toBe(200);
      const body = res.json as { response_type?: string; text?: string };
      if (body.text?.includes('hourglass')) {
        const late = (await t.slack.waitFor((a) => a.kind === 'response' && a.url === res.responseUrl, 15_000)) as {
          body?: { response_type?: string };
        };
        expect(late.body?.response_type).toBe('ephemeral');
      } else expect(body.response_type).toBe('ephemeral');
    });
  }

  it('answers health in the channel, as before', async () => {
    const res = await t.slash('pods');
    expect((res.json as { response_type?: string }).response_type).toBe('in_channel');
  });
});
