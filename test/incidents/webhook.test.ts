// POST /pagerduty/webhook: signatures (captured bodies with their real secrets, forged ones, a
// rotation with two), storing before answering, redeliveries, pings, and a missing channel.
import { readFileSync } from 'node:fs';
import { pingEvent, signPagerDuty } from '@dmp-bot/sim/pagerduty-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  event,
  eventually,
  INCIDENTS,
  OLD_WEBHOOK_SECRET,
  page,
  quiet,
  settled,
  startWorld,
  WEBHOOK_SECRET,
  type World,
} from './world.js';

const fixture = (name: string) => readFileSync(new URL(`../../fixtures/pagerduty/${name}`, import.meta.url), 'utf8');
const vectors = JSON.parse(fixture('signature-test-vectors.json')) as {
  vectors: Array<{ secret: string; file: string; valid_signature?: string; invalid_signature_expect_reject?: string }>;
};
const CAPTURED_SECRET = 'HvPtlQNKMPpHSSqJpCdndXfo7HnGXa1pnH6w5axpxLFn9aRBNBGh4e8/HlonK5mz';
const GO_SECRET = 'lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK';

async function storedEvents(w: World): Promise<number> {
  const { rows } = await w.db.client.query<{ n: string }>('SELECT count(*) AS n FROM pd_webhook_events');
  return Number(rows[0]?.n);
}

function post(
  w: World,
  raw: string,
  signature: string | undefined,
  webhookId = crypto.randomUUID(),
): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-webhook-id': webhookId };
  if (signature !== undefined) headers['x-pagerduty-signature'] = signature;
  return fetch(`${w.bots[0]?.url}/pagerduty/webhook`, { method: 'POST', headers, body: raw });
}

describe('PagerDuty webhooks: signatures and storage', () => {
  let w: World;

  beforeAll(async () => {
    // The captured bodies were signed with their authors' secrets; the bot knows those too, as during a rotation.
    w = await startWorld({
      PAGERDUTY_WEBHOOK_SECRETS: [WEBHOOK_SECRET, OLD_WEBHOOK_SECRET, CAPTURED_SECRET, GO_SECRET].join(','),
    });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('accepts every captured PagerDuty body with its real signature, and refuses the tampered ones', async () => {
    for (const v of vectors.vectors) {
      const raw = fixture(v.file);
      if (v.valid_signature) {
        const res = await post(w, raw, v.valid_signature);
        expect(res.status, v.file).toBe(200);
      }
      if (v.invalid_signature_expect_reject) {
        const before = await storedEvents(w);
        const res = await post(w, `${raw}`, v.invalid_signature_expect_reject);
        expect(res.status, v.file).toBe(401);
        expect(await storedEvents(w)).toBe(before);
      }
    }
    await settled(w);
    // The captured trigger (priority null, urgency low) opened one thread, acknowledged and resolved by Ben.
    const roots = w.roots();
    const captured = roots.find((m) => m.text.includes('Test'));
    expect(captured?.text).toContain('[P4]');
    const thread = w.replies(captured?.ts ?? '');
    expect(thread.some((m) => m.text.includes('Acknowledged by Ben'))).toBe(true);
    expect(thread.some((m) => m.text.includes('Resolved by Ben'))).toBe(true);
    expect(thread.some((m) => m.text.includes("Note from Ben in PagerDuty: Resolution Note: I'm resolving it"))).toBe(
      true,
    );
  });

  it('refuses a forged signature with 401 and stores nothing', async () => {
    const before = await storedEvents(w);
    const body = JSON.stringify(event('incident.triggered', page({ id: 'QFORGED000001', title: 'Forged page' })));
    const forged = await post(w, body, signPagerDuty(body, ['not-the-secret']));
    const missing = await post(w, body, undefined);
    const garbage = await post(w, body, 'v1=zzzz, v0=abc');
    const tampered = await post(w, body.replace('Forged page', 'Tampered page'), signPagerDuty(body, [WEBHOOK_SECRET]));
    expect([forged.status, missing.status, garbage.status, tampered.status]).toEqual([401, 401, 401, 401]);
    expect(await storedEvents(w)).toBe(before);
    await quiet(w);
    expect(w.roots().some((m) => m.text.includes('Forged') || m.text.includes('Tampered'))).toBe(false);
  });

  it('accepts a rotated secret: two signatures, one of them by the new secret', async () => {
    const incident = page({ id: 'QROTATION00001', title: 'Rotation page' });
    const res = await w.deliver(event('incident.triggered', incident), {
      secrets: ['secret-not-known-yet', WEBHOOK_SECRET],
    });
    expect(res.status).toBe(200);
    const old = await w.deliver(
      event('incident.annotated', incident, { note: { content: 'signed by the old secret only' } }),
      { secrets: [OLD_WEBHOOK_SECRET] },
    );
    expect(old.status).toBe(200);
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('Rotation page'));
    expect(root).toBeDefined();
    expect(w.replies(root?.ts ?? '').some((m) => m.text.includes('signed by the old secret only'))).toBe(true);
  });

  it('answers a redelivery 2xx and changes nothing', async () => {
    const incident = page({ id: 'QREDELIVERY001', title: 'Redelivered page' });
    const trigger = event('incident.triggered', incident);
    const first = await w.deliver(trigger, { webhookId: 'wh-redelivery-1' });
    expect(first.status).toBe(200);
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('Redelivered page'));
    const before = {
      roots: w.roots().length,
      replies: w.replies(root?.ts ?? '').length,
      events: await storedEvents(w),
      calls: w.slack.calls.length,
    };
    // The same delivery again, and the same event in a new delivery.
    const again = await w.deliver(trigger, { webhookId: 'wh-redelivery-1' });
    const resent = await w.deliver(trigger, { webhookId: 'wh-redelivery-2' });
    expect(again.status).toBe(200);
    expect(resent.status).toBe(200);
    expect(await again.json()).toEqual({ status: 'duplicate' });
    await quiet(w);
    expect(w.roots().length).toBe(before.roots);
    expect(w.replies(root?.ts ?? '').length).toBe(before.replies);
    expect(await storedEvents(w)).toBe(before.events);
    expect(w.slack.calls.length).toBe(before.calls);
  });

  it('answers pagey.ping 2xx and posts nothing', async () => {
    const calls = w.slack.calls.length;
    const res = await w.deliver(pingEvent());
    expect(res.status).toBe(200);
    await quiet(w);
    expect(w.slack.calls.length).toBe(calls);
  });

  it('stores the event before answering, and answers 5xx when it cannot store', async () => {
    const incident = page({ id: 'QSTOREFIRST001', title: 'Stored before the answer' });
    const ev = event('incident.triggered', incident);
    const res = await w.deliver(ev);
    expect(res.status).toBe(200);
    const { rows } = await w.db.client.query('SELECT event_type FROM pd_webhook_events WHERE event_id = $1', [
      ev.event.id,
    ]);
    expect(rows).toEqual([{ event_type: 'incident.triggered' }]);
    // The bot store refuses writes: PagerDuty is told to retry, and nothing is half-stored.
    await w.db.client.query('ALTER TABLE pd_webhook_events RENAME TO pd_webhook_events_away');
    try {
      const refused = await w.deliver(
        event('incident.triggered', page({ id: 'QSTOREFAIL0001', title: 'Could not store' })),
      );
      expect(refused.status).toBeGreaterThanOrEqual(500);
    } finally {
      await w.db.client.query('ALTER TABLE pd_webhook_events_away RENAME TO pd_webhook_events');
    }
    await settled(w);
  });

  it('answers a malformed body with a valid signature 400', async () => {
    const raw = '{"event": "not an object"}';
    const res = await post(w, raw, signPagerDuty(raw, [WEBHOOK_SECRET]));
    expect(res.status).toBe(400);
  });
});

describe('PagerDuty webhooks without INCIDENTS_CHANNEL', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({ INCIDENTS_CHANNEL: '' });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('stores the event, posts no thread, and says why in the log', async () => {
    const incident = page({ id: 'QNOCHANNEL0001', title: 'Nowhere to post' });
    const res = await w.deliver(event('incident.triggered', incident));
    expect(res.status).toBe(200);
    await eventually(
      () => w.bots[0]?.logs.some((l) => l.includes('INCIDENTS_CHANNEL is not set')),
      5_000,
      'the log line',
    );
    // The line is logged inside the event's transaction: wait for it to commit before looking.
    await settled(w);
    expect(w.slack.callsTo('chat.postMessage')).toHaveLength(0);
    const { rows } = await w.db.client.query('SELECT id FROM incidents');
    expect(rows).toEqual([{ id: 'QNOCHANNEL0001' }]);
    expect(w.slack.messages.filter((m) => m.channel === INCIDENTS)).toHaveLength(0);
  });

  it('refuses /dmp incident declare with a clear sentence', async () => {
    const res = await w.slash('incident declare');
    expect(res.status).toBe(200);
    expect(JSON.stringify(res.json)).toContain('INCIDENTS_CHANNEL is not set');
  });
});
