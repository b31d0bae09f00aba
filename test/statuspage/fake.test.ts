// The Statuspage fake answers as Statuspage does: the OAuth key, the page and component ids,
// incident create and patch, and 401/404/422/429 when a request is wrong or too fast.
import { type StatuspageFake, startStatuspageFake } from '@dmp-bot/sim/statuspage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const KEY = 'sp-key-test-0001';
const PAGE = 'pg0test01';

describe('the Statuspage fake', () => {
  let sp: StatuspageFake;
  // A clock the test moves: one second per step, so the rate limit is exercised on purpose only.
  let clock = Date.parse('2026-01-05T10:00:00.000Z');
  const tick = () => {
    clock += 1000;
  };

  beforeAll(async () => {
    sp = await startStatuspageFake({
      apiKey: KEY,
      pageId: PAGE,
      components: { cmpwork1: 'Scan workers', cmpqueu1: 'Scan queue' },
      now: () => new Date(clock),
    });
  });
  afterAll(async () => {
    await sp?.close();
  });

  const call = async (method: string, path: string, body?: unknown, key: string | null = KEY) => {
    tick();
    const res = await fetch(new URL(path, sp.apiUrl), {
      method,
      headers: {
        ...(key ? { authorization: `OAuth ${key}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
  };

  it('refuses a missing or unknown key with 401', async () => {
    expect((await call('GET', `pages/${PAGE}/incidents`, undefined, null)).status).toBe(401);
    expect((await call('GET', `pages/${PAGE}/incidents`, undefined, 'wrong')).status).toBe(401);
    expect(sp.incidents.size).toBe(0);
  });

  it('answers 404 for another page and an unknown incident', async () => {
    expect((await call('POST', 'pages/otherpage/incidents', { incident: { name: 'x' } })).status).toBe(404);
    expect((await call('PATCH', `pages/${PAGE}/incidents/nosuch`, { incident: { status: 'resolved' } })).status).toBe(
      404,
    );
  });

  it('refuses unknown component ids and status words with 422, creating nothing', async () => {
    const bad = await call('POST', `pages/${PAGE}/incidents`, {
      incident: {
        name: 'Delays',
        status: 'investigating',
        component_ids: ['nope'],
        components: { nope: 'major_outage' },
      },
    });
    expect(bad.status).toBe(422);
    const word = await call('POST', `pages/${PAGE}/incidents`, {
      incident: { name: 'Delays', status: 'on fire', components: { cmpwork1: 'major_outage' } },
    });
    expect(word.status).toBe(422);
    expect(sp.incidents.size).toBe(0);
    expect(sp.components.get('cmpwork1')?.status).toBe('operational');
  });

  it('creates an incident, moves its components, and patches it to monitoring and resolved', async () => {
    const created = await call('POST', `pages/${PAGE}/incidents`, {
      incident: {
        name: 'Delays processing scans',
        status: 'investigating',
        body: 'We are investigating.',
        component_ids: ['cmpwork1', 'cmpqueu1'],
        components: { cmpwork1: 'partial_outage', cmpqueu1: 'degraded_performance' },
      },
    });
    expect(created.status).toBe(201);
    const id = String(created.json.id);
    expect(created.json).toMatchObject({ name: 'Delays processing scans', status: 'investigating', impact: 'major' });
    expect(String(created.json.shortlink)).toMatch(/^https:\/\//);
    expect(sp.components.get('cmpwork1')?.status).toBe('partial_outage');

    const monitoring = await call('PATCH', `pages/${PAGE}/incidents/${id}`, {
      incident: { status: 'monitoring', body: 'A fix is in place.' },
    });
    expect(monitoring.status).toBe(200);
    expect(sp.incidents.get(id)?.status).toBe('monitoring');
    expect(sp.incidents.get(id)?.monitoring_at).not.toBeNull();

    const resolved = await call('PATCH', `pages/${PAGE}/incidents/${id}`, {
      incident: {
        status: 'resolved',
        body: 'Resolved.',
        components: { cmpwork1: 'operational', cmpqueu1: 'operational' },
      },
    });
    expect(resolved.status).toBe(200);
    const inc = sp.incidents.get(id);
    expect(inc?.status).toBe('resolved');
    expect(inc?.incident_updates.map((u) => u.status)).toEqual(['resolved', 'monitoring', 'investigating']);
    expect([...sp.components.values()].every((c) => c.status === 'operational')).toBe(true);
  });

  it('allows one request a second per key: a second within the same second gets 429 with Retry-After', async () => {
    tick();
    const first = await fetch(new URL(`pages/${PAGE}/incidents`, sp.apiUrl), {
      headers: { authorization: `OAuth ${KEY}` },
    });
    const second = await fetch(new URL(`pages/${PAGE}/incidents`, sp.apiUrl), {
      headers: { authorization: `OAuth ${KEY}` },
    });
    expect(first.status).toBe(200);
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(0);
    tick();
    const later = await fetch(new URL(`pages/${PAGE}/incidents`, sp.apiUrl), {
      headers: { authorization: `OAuth ${KEY}` },
    });
    expect(later.status).toBe(200);
  });
});
