import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FakeHttpServer } from '@dmp-bot/sim/http-server';
import { json, parseJson, startHttpServer } from '@dmp-bot/sim/http-server';
import type { PagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import type { WebhookEnvelope } from '@dmp-bot/sim/pagerduty-signing';
import { deliverWebhook, incidentEvent, pingEvent, signPagerDuty } from '@dmp-bot/sim/pagerduty-signing';
import { api } from '@pagerduty/pdjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const corpusDir = new URL('../../fixtures/pagerduty/', import.meta.url);
const corpus = (name: string): string => readFileSync(new URL(name, corpusDir), 'utf8');
const vectors = (
  JSON.parse(corpus('signature-test-vectors.json')) as {
    vectors: Array<{
      secret: string;
      file: string;
      valid_signature?: string;
      invalid_signature_expect_reject?: string;
    }>;
  }
).vectors;

const TOKEN = 'pd-test-token';
const FROM = 'alice@example.com';
// The account's users: the token's owner first, then the requester these tests act as.
const USERS = [
  { id: 'PDMPUSR1', name: 'Dana On-Call', email: 'dana@example.com' },
  { id: 'PALICE01', name: 'alice', email: FROM },
];

describe('pagerduty webhook signing', () => {
  for (const v of vectors.filter((x) => x.valid_signature)) {
    it(`reproduces the published signature of ${v.file}`, () => {
      expect(signPagerDuty(corpus(v.file), [v.secret])).toBe(v.valid_signature);
    });
  }

  it('never produces the signatures the vectors mark as invalid', () => {
    for (const v of vectors.filter((x) => x.invalid_signature_expect_reject)) {
      expect(signPagerDuty(corpus(v.file), [v.secret])).not.toBe(v.invalid_signature_expect_reject);
    }
  });

  it('signs once per secret, comma-separated, during rotation', () => {
    const header = signPagerDuty('{}', ['old', 'new']);
    const parts = header.split(',');
    expect(parts).toHaveLength(2);
    expect(parts[1]).toBe(`v1=${createHmac('sha256', 'new').update('{}').digest('hex')}`);
  });
});

describe('pagerduty webhook envelopes', () => {
  const real = (name: string) => JSON.parse(corpus(name)) as WebhookEnvelope;
  const incident = {
    id: 'Q2CKYRLH85UNN4',
    number: 37,
    title: 'Scans stuck in pending',
    status: 'triggered' as const,
    urgency: 'high' as const,
    priority: { summary: 'P1' },
    service: { id: 'PNE3JZM', summary: 'DMP API' },
    html_url: 'https://dmp.pagerduty.com/incidents/Q2CKYRLH85UNN4',
    assignees: [{ id: 'PVE0ZR9', summary: 'Ben' }],
  };

  it('builds incident events with the same fields as captured ones', () => {
    const captured = real('incident.triggered.aldaviva-captured.signed-raw.json');
    const built = incidentEvent('incident.triggered', incident);
    expect(Object.keys(built.event).sort()).toEqual(Object.keys(captured.event).sort());
    expect(Object.keys(built.event.data).sort()).toEqual(Object.keys(captured.event.data).sort());
    expect(built.event).toMatchObject({ event_type: 'incident.triggered', resource_type: 'incident', client: null });
    expect(built.event.data).toMatchObject({
      id: incident.id,
      number: 37,
      status: 'triggered',
      priority: { summary: 'P1', type: 'priority_reference' },
    });
    expect(built.event.id).toMatch(/^[0-9A-Z]{26}$/);
  });

  it('carries a note as the data of incident.annotated', () => {
    const captured = real('incident.annotated.aldaviva-captured.signed-raw.json');
    const built = incidentEvent('incident.annotated', incident, { note: { content: 'Restarted workers' } });
    expect(Object.keys(built.event.data).sort()).toEqual(Object.keys(captured.event.data).sort());
    expect(built.event.data).toMatchObject({
      type: 'incident_note',
      content: 'Restarted workers',
      incident: { id: incident.id, type: 'incident_reference' },
    });
  });

  it('builds a pagey.ping like the captured one', () => {
    const captured = real('pagey.ping.aldaviva-captured.signed-raw.json');
    expect(Object.keys(pingEvent().event).sort()).toEqual(Object.keys(captured.event).sort());
  });

  it('delivers a webhook with the headers PagerDuty sends', async () => {
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
    const receiver = await startHttpServer((req, res, body) => {
      received.push({ headers: req.headers, body: body.toString('utf8') });
      json(res, 202, {});
    });
    try {
      const event = incidentEvent('incident.acknowledged', { ...incident, status: 'acknowledged' });
      const res = await deliverWebhook(`${receiver.url}/pagerduty/webhook`, event, ['s1', 's2'], { webhookId: 'wh-1' });
      expect(res.status).toBe(202);
      const got = received[0];
      expect(got?.headers['content-type']).toBe('application/json');
      expect(got?.headers['user-agent']).toBe('PagerDuty-Webhook/V3.0');
      expect(got?.headers['x-webhook-id']).toBe('wh-1');
      expect(got?.headers['x-webhook-subscription']).toBeTruthy();
      expect(got?.headers['x-pagerduty-signature']).toBe(signPagerDuty(got?.body ?? '', ['s1', 's2']));
      expect(JSON.parse(got?.body ?? '')).toEqual(event);
    } finally {
      await receiver.close();
    }
  });
});

describe('pagerduty REST fake, through the real pdjs client', () => {
  let pd: PagerDutyFake;
  beforeEach(async () => {
    pd = await startPagerDutyFake({ token: TOKEN, users: USERS });
  });
  afterEach(async () => {
    await pd.close();
  });

  it('acknowledges an incident with PUT /incidents/{id} and records the request', async () => {
    const seeded = pd.seedIncident({ title: 'Scans stuck', priority: 'P1' });
    const res = await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${seeded.id}`,
      method: 'PUT',
      headers: { From: FROM },
      data: { incident: { type: 'incident_reference', status: 'acknowledged' } },
    });
    expect(res.status).toBe(200);
    expect(res.data.incident).toMatchObject({ id: seeded.id, status: 'acknowledged', priority: { name: 'P1' } });
    expect(res.data.incident.acknowledgements[0].acknowledger.summary).toBe('alice');
    expect(pd.incidents.get(seeded.id)?.status).toBe('acknowledged');

    const request = pd.requests.at(-1);
    expect(request).toMatchObject({ method: 'PUT', path: `/incidents/${seeded.id}` });
    expect(request?.headers.authorization).toBe(`Token token=${TOKEN}`);
    expect(request?.headers.accept).toBe('application/vnd.pagerduty+json;version=2');
    expect(request?.headers.from).toBe(FROM);
  });

  it('escalates only to a level the escalation policy has, handing the incident to that level', async () => {
    const seeded = pd.seedIncident({ title: 'Graph timeouts' });
    const put = (level: unknown) =>
      api({
        token: TOKEN,
        url: `${pd.url}/incidents/${seeded.id}`,
        method: 'PUT',
        headers: { From: FROM },
        data: { incident: { type: 'incident_reference', escalation_level: level } },
      });
    // The default policy has two levels: Dana, then alice.
    const up = await put(2);
    expect(up.status).toBe(200);
    expect(up.data.incident.assignments.map((a: { assignee: { id: string } }) => a.assignee.id)).toEqual(['PALICE01']);
    for (const level of [3, 0, 1.5]) {
      const res = await put(level);
      expect(res.status).toBe(400);
      expect(res.data.error.errors[0]).toMatch(/Escalation level must be between 1 and 2/);
    }
    expect(pd.incidents.get(seeded.id)?.escalation_level).toBe(2);
  });

  it('lists the responders a responder request paged on the incident (incidents_responders)', async () => {
    const seeded = pd.seedIncident({ title: 'Queue stalled' });
    const res = await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${seeded.id}/responder_requests`,
      method: 'POST',
      headers: { From: FROM },
      data: {
        requester_id: 'PALICE01',
        message: 'Please join',
        responder_request_targets: [{ responder_request_target: { id: 'PDMPUSR1', type: 'user_reference' } }],
      },
    });
    expect(res.status).toBe(200);
    const got = await api({ token: TOKEN, url: `${pd.url}/incidents/${seeded.id}`, method: 'GET' });
    expect(got.data.incident.incidents_responders).toEqual([
      expect.objectContaining({
        state: 'pending',
        message: 'Please join',
        user: expect.objectContaining({ id: 'PDMPUSR1' }),
        requester: expect.objectContaining({ id: 'PALICE01' }),
      }),
    ]);
  });

  it('refuses a write without a From header, as PagerDuty does', async () => {
    const seeded = pd.seedIncident({ title: 'x' });
    const res = await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${seeded.id}`,
      method: 'PUT',
      data: { incident: { type: 'incident_reference', status: 'acknowledged' } },
    });
    expect(res.status).toBe(400);
    expect(res.data.error.message).toMatch(/From/);
    expect(pd.incidents.get(seeded.id)?.status).toBe('triggered');
  });

  it('refuses a From that is no user of the account, as PagerDuty does, and changes nothing', async () => {
    const seeded = pd.seedIncident({ title: 'x' });
    const res = await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${seeded.id}`,
      method: 'PUT',
      headers: { From: 'guest@elsewhere.example' },
      data: { incident: { type: 'incident_reference', status: 'resolved' } },
    });
    expect(res.status).toBe(400);
    expect(res.data.error.errors).toContain('Requester User Not Found');
    expect(pd.incidents.get(seeded.id)?.status).toBe('triggered');
  });

  it('finds users by email with GET /users?query=', async () => {
    const res = await api({ token: TOKEN, url: `${pd.url}/users?query=${encodeURIComponent(FROM)}` });
    expect(res.status).toBe(200);
    expect(res.data.users.map((u: { email: string }) => u.email)).toEqual([FROM]);
  });

  it('refuses a wrong token with 401 and an error object', async () => {
    const res = await api({ token: 'wrong', url: `${pd.url}/priorities` });
    expect(res.status).toBe(401);
    expect(res.data.error).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
  });

  it('creates an incident with POST /incidents and reads it back', async () => {
    const created = await api({
      token: TOKEN,
      url: `${pd.url}/incidents`,
      method: 'POST',
      headers: { From: FROM },
      data: {
        incident: {
          type: 'incident',
          title: 'API down',
          service: { id: pd.services[0]?.id, type: 'service_reference' },
          urgency: 'high',
          body: { type: 'incident_body', details: 'health check failing' },
        },
      },
    });
    expect(created.status).toBe(201);
    const id = created.data.incident.id as string;
    expect(created.data.incident.html_url).toContain(id);
    const read = await api({ token: TOKEN, url: `${pd.url}/incidents/${id}` });
    expect(read.data.incident).toMatchObject({ title: 'API down', status: 'triggered', urgency: 'high' });

    const missing = await api({ token: TOKEN, url: `${pd.url}/incidents/QNOPE` });
    expect(missing.status).toBe(404);
  });

  it('adds and lists notes', async () => {
    const seeded = pd.seedIncident({ title: 'x' });
    const posted = await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${seeded.id}/notes`,
      method: 'POST',
      headers: { From: FROM },
      data: { note: { content: 'Restarted scan-workers' } },
    });
    expect(posted.status).toBe(201);
    const listed = await api({ token: TOKEN, url: `${pd.url}/incidents/${seeded.id}/notes` });
    expect(listed.data.notes.map((n: { content: string }) => n.content)).toEqual(['Restarted scan-workers']);
  });

  it('serves priorities P1 to P5, services, the token owner and on-calls with emails on request', async () => {
    const priorities = await api({ token: TOKEN, url: `${pd.url}/priorities` });
    expect(priorities.data.priorities.map((p: { name: string }) => p.name)).toEqual(['P1', 'P2', 'P3', 'P4', 'P5']);
    const services = await api({ token: TOKEN, url: `${pd.url}/services` });
    expect(services.data.services.length).toBeGreaterThan(0);
    const me = await api({ token: TOKEN, url: `${pd.url}/users/me` });
    expect(me.data.user.email).toContain('@');
    const oncalls = await api({ token: TOKEN, url: `${pd.url}/oncalls`, data: { 'include[]': ['users'] } });
    expect(oncalls.data.oncalls[0].user.email).toContain('@');
  });

  it('resolves several incidents at once with PUT /incidents', async () => {
    const a = pd.seedIncident({ title: 'a' });
    const b = pd.seedIncident({ title: 'b' });
    const res = await api({
      token: TOKEN,
      url: `${pd.url}/incidents`,
      method: 'PUT',
      headers: { From: FROM },
      data: { incidents: [a, b].map((i) => ({ id: i.id, type: 'incident_reference', status: 'resolved' })) },
    });
    expect(res.status).toBe(200);
    expect(res.data.incidents.map((i: { status: string }) => i.status)).toEqual(['resolved', 'resolved']);
  });

  it('refuses to acknowledge a resolved incident', async () => {
    const seeded = pd.seedIncident({ title: 'x', status: 'resolved' });
    const res = await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${seeded.id}`,
      method: 'PUT',
      headers: { From: FROM },
      data: { incident: { type: 'incident_reference', status: 'acknowledged' } },
    });
    expect(res.status).toBe(400);
  });
});

describe('pagerduty fake echoing changes as signed webhooks', () => {
  let pd: PagerDutyFake;
  let bot: FakeHttpServer;
  const received: Array<{ signature: string; body: string; event: WebhookEnvelope['event'] }> = [];
  const secrets = ['whsec-1'];

  beforeEach(async () => {
    received.length = 0;
    pd = await startPagerDutyFake({ token: TOKEN, users: USERS });
    bot = await startHttpServer((req, res, body) => {
      const envelope = parseJson(body) as WebhookEnvelope;
      received.push({
        signature: String(req.headers['x-pagerduty-signature']),
        body: body.toString('utf8'),
        event: envelope.event,
      });
      json(res, 200, {});
    });
    pd.webhookTarget = { url: `${bot.url}/pagerduty/webhook`, secrets };
  });
  afterEach(async () => {
    await pd.close();
    await bot.close();
  });

  it('sends incident.triggered, then acknowledged with the From user as agent, in order', async () => {
    const inc = await pd.triggerIncident({ title: 'Scans stuck', priority: 'P2' });
    await api({
      token: TOKEN,
      url: `${pd.url}/incidents/${inc.id}`,
      method: 'PUT',
      headers: { From: FROM },
      data: { incident: { type: 'incident_reference', status: 'acknowledged' } },
    });
    await pd.settled();
    expect(received.map((r) => r.event.event_type)).toEqual(['incident.triggered', 'incident.acknowledged']);
    const ack = received[1];
    expect(ack?.event.agent).toMatchObject({ summary: 'alice', type: 'user_reference' });
    expect(ack?.event.data).toMatchObject({ id: inc.id, status: 'acknowledged', priority: { summary: 'P2' } });
    expect(ack?.signature).toBe(signPagerDuty(ack?.body ?? '', secrets));
    expect(pd.deliveries.every((d) => d.status === 200)).toBe(true);
  });

  it('sends no event when nothing changes (a repeated acknowledgement)', async () => {
    const inc = pd.seedIncident({ title: 'x' });
    await pd.act(inc.id, { status: 'acknowledged' }, FROM);
    await pd.act(inc.id, { status: 'acknowledged' }, FROM);
    expect(received.map((r) => r.event.event_type)).toEqual(['incident.acknowledged']);
  });

  it('announces priority, reassignment, escalation, notes, resolution and reopening', async () => {
    const inc = pd.seedIncident({ title: 'x' });
    const p1 = pd.priorities[0]?.id ?? '';
    await pd.act(inc.id, { priorityId: p1 });
    await pd.act(inc.id, { assigneeIds: [pd.users[1]?.id ?? ''] });
    await pd.act(inc.id, { escalationLevel: 2 });
    await pd.act(inc.id, { status: 'resolved', resolution: 'workers restarted' });
    await pd.act(inc.id, { status: 'triggered' });
    expect(received.map((r) => r.event.event_type)).toEqual([
      'incident.priority_updated',
      'incident.reassigned',
      'incident.escalated',
      'incident.resolved',
      'incident.annotated',
      'incident.reopened',
    ]);
    expect(received[4]?.event.data).toMatchObject({
      type: 'incident_note',
      content: 'Resolution Note: workers restarted',
    });
  });

  it('records a failed delivery instead of throwing when the bot is down', async () => {
    await bot.down();
    await pd.triggerIncident({ title: 'x' });
    expect(pd.deliveries[0]?.error).toBeTruthy();
    await bot.up();
  });
});
