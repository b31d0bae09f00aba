// The abuse suite's PagerDuty half: oversized, unsigned, wrongly signed and malformed bodies
// on /pagerduty/webhook are refused with the right status and store nothing.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../helpers/bot.js';

const SECRET = 'pd-abuse-secret-0001';
const sign = (raw: string, secret = SECRET) => `v1=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe('abuse: bodies on /pagerduty/webhook', () => {
  let t: TestBot;
  const stored = async () =>
    (await t.bot.deps.store.query<{ n: number }>('SELECT count(*)::int AS n FROM pd_webhook_events'))[0]?.n ?? 0;
  const send = (raw: string, headers: Record<string, string>) =>
    t
      .post('/pagerduty/webhook', raw, { 'content-type': 'application/json', ...headers })
      .catch(() => ({ status: 413, body: '' }));

  beforeAll(async () => {
    t = await startTestBot({ env: { PAGERDUTY_WEBHOOK_SECRETS: SECRET, INCIDENTS_CHANNEL: 'C0INCIDENTS' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a body over the size limit, signed or not', async () => {
    const raw = JSON.stringify({
      event: { id: 'E1', event_type: 'incident.triggered', data: { title: 'x'.repeat(2 * 1024 * 1024) } },
    });
    expect((await send(raw, { 'x-pagerduty-signature': sign(raw) })).status).toBe(413);
    expect(await stored()).toBe(0);
  });

  it('refuses no signature, a signature by an unknown secret, and a malformed one with 401', async () => {
    const raw = JSON.stringify({
      event: {
        id: 'E2',
        event_type: 'incident.triggered',
        resource_type: 'incident',
        occurred_at: new Date().toISOString(),
        data: { id: 'P1', type: 'incident', title: 'Forged' },
      },
    });
    const attempts: Array<Record<string, string>> = [
      {},
      { 'x-pagerduty-signature': sign(raw, 'someone-elses-secret') },
      { 'x-pagerduty-signature': 'v1=zz' },
      { 'x-pagerduty-signature': `v0=${sign(raw).slice(3)}` },
    ];
    for (const headers of attempts) {
      expect((await send(raw, headers)).status).toBe(401);
    }
    expect(await stored()).toBe(0);
    expect(t.slack.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(0);
  });

  it('answers a signed body that is not a PagerDuty event with a 4xx and stores nothing', async () => {
    for (const raw of ['{not json', '[]', '{"event":"nope"}', '"a string"']) {
      const res = await send(raw, { 'x-pagerduty-signature': sign(raw) });
      expect(res.status, raw).toBeGreaterThanOrEqual(400);
      expect(res.status, raw).toBeLessThan(500);
    }
    expect(await stored()).toBe(0);
  });
});
