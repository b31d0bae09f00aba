// Restarts and replicas: bot processes on one BOT_DATABASE_URL never post twice for one event,
// never lose one, and fire each timer once; a thread outlives the process that opened it.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  controls,
  event,
  eventually,
  INCIDENTS,
  LEAD,
  page,
  quiet,
  settled,
  startWorld,
  textOf,
  type World,
} from './world.js';

describe('a restart between page and acknowledgement', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('keeps the thread working: the new process acknowledges into the same thread', async () => {
    const first = await w.start();
    const inc = await w.pd.triggerIncident({ title: 'Restart mid-incident', serviceId: 'PDMPAPI', priority: 'P2' });
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('Restart mid-incident')) as SlackMessage;
    await w.stop(first);

    await w.start();
    const ack = controls(w.slack.message(INCIDENTS, root.ts)).find((c) => c.label === 'Acknowledge');
    await w.click({ actionId: ack?.action_id ?? '', value: ack?.value, blockId: ack?.block_id, messageTs: root.ts });
    await eventually(() => w.replies(root.ts).find((m) => m.text.includes('Acknowledged by <@U0ALICE01>')));
    await eventually(() => w.pd.incidents.get(inc.id)?.status === 'acknowledged');
    await settled(w);
    expect(w.roots().filter((m) => m.text.includes('Restart mid-incident'))).toHaveLength(1);
    expect(textOf(w.slack.message(INCIDENTS, root.ts))).toContain('Acknowledged');
    // A PagerDuty-side resolution reaches the same thread through the new process.
    await w.pd.act(inc.id, { status: 'resolved' }, 'dana@example.com');
    await eventually(() => w.replies(root.ts).find((m) => m.text.includes('Resolved by Dana On-Call')));
  });

  it('retries a PagerDuty call that failed with 5xx, with backoff, until it goes through', async () => {
    const inc = await w.pd.triggerIncident({ title: 'PagerDuty errors twice', serviceId: 'PDMPAPI', priority: 'P3' });
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('PagerDuty errors twice')) as SlackMessage;
    w.pd.setFault('error', { times: 2 });
    await w.click({ actionId: 'incident:ack', value: inc.id, messageTs: root.ts });
    await eventually(() => w.pd.incidents.get(inc.id)?.status === 'acknowledged', 12_000, 'the third attempt');
    await settled(w);
    const { rows } = await w.db.client.query(
      `SELECT attempts, status, done_at IS NOT NULL AS done, failed FROM pd_outbox WHERE incident_id = $1`,
      [inc.id],
    );
    // The first try met an error; the second looked at the incident first (the first might have
    // been applied) and met the second error there; the third found it unacknowledged and sent it.
    // (The fake records only the requests its faults let through.)
    expect(rows).toEqual([{ attempts: 3, status: 200, done: true, failed: false }]);
    const incidentCalls = w.pd.requests.filter((r) => r.path === `/incidents/${inc.id}`);
    expect(incidentCalls.filter((r) => r.method === 'PUT')).toHaveLength(1);
    expect(incidentCalls.filter((r) => r.method === 'GET').length).toBeGreaterThanOrEqual(1);
    expect(w.replies(root.ts).filter((m) => m.text.includes('Acknowledged by'))).toHaveLength(1);
    expect(w.replies(root.ts).filter((m) => m.text.includes('did not take'))).toHaveLength(0);
  });

  it('does not lose an acknowledgement PagerDuty could not take before the restart, and sends it once', async () => {
    const inc = await w.pd.triggerIncident({
      title: 'PagerDuty down during ack',
      serviceId: 'PDMPAPI',
      priority: 'P3',
    });
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('PagerDuty down during ack')) as SlackMessage;
    await w.pd.down();
    await w.click({ actionId: 'incident:ack', value: inc.id, messageTs: root.ts });
    await eventually(
      async () => {
        const { rows } = await w.db.client.query(
          `SELECT attempts, error FROM pd_outbox WHERE incident_id = $1 AND kind = 'ack'`,
          [inc.id],
        );
        return rows[0] && rows[0].attempts >= 1 && rows[0].error;
      },
      8_000,
      'a failed attempt',
    );
    for (const p of [...w.bots]) await w.stop(p);
    await w.pd.up();
    await w.start();
    await eventually(
      () => w.pd.incidents.get(inc.id)?.status === 'acknowledged',
      15_000,
      'the acknowledgement to reach PagerDuty',
    );
    await settled(w);
    expect(w.pd.requests.filter((r) => r.method === 'PUT' && r.path === `/incidents/${inc.id}`)).toHaveLength(1);
    expect(w.replies(root.ts).filter((m) => m.text.includes('Acknowledged by'))).toHaveLength(1);
  });
});

describe('two replicas on one database', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('post one thread when both receive the same webhook at once', async () => {
    const [a, b] = w.bots;
    const trigger = event('incident.triggered', page({ id: 'QREPLICAS00001', title: 'Both replicas got it' }));
    const answers = await Promise.all([
      w.deliver(trigger, { to: a, webhookId: 'wh-r-1' }),
      w.deliver(trigger, { to: b, webhookId: 'wh-r-2' }),
    ]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    expect(
      (await Promise.all(answers.map((r) => r.json() as Promise<{ status: string }>))).map((j) => j.status).sort(),
    ).toEqual(['duplicate', 'stored']);
    await quiet(w);
    const roots = w.roots().filter((m) => m.text.includes('Both replicas got it'));
    expect(roots).toHaveLength(1);
    const thread = w.replies(roots[0]?.ts ?? '');
    expect(thread.filter((m) => m.text.startsWith('Investigating:'))).toHaveLength(1);
    expect(thread.filter((m) => textOf(m).includes('Automatic diagnosis'))).toHaveLength(1);
  });

  it('share a burst of pages between them: one thread each, none twice, none lost', async () => {
    const incidents = Array.from({ length: 12 }, (_, n) =>
      page({ id: `QBURST${String(n).padStart(8, '0')}`, title: `Burst page ${n}` }),
    );
    // Each page and its redelivery go to different replicas.
    await Promise.all(
      incidents.flatMap((inc, n) => {
        const ev = event('incident.triggered', inc);
        return [w.deliver(ev, { to: w.bots[n % 2] }), w.deliver(ev, { to: w.bots[(n + 1) % 2] })];
      }),
    );
    await settled(w, 20_000);
    for (let n = 0; n < incidents.length; n++) {
      const roots = w
        .roots()
        .filter(
          (m) =>
            m.text.includes(`Burst page ${n} `) ||
            m.text.endsWith(`Burst page ${n}`) ||
            m.text.includes(`Burst page ${n} —`),
        );
      expect(roots, `Burst page ${n}`).toHaveLength(1);
      expect(w.replies(roots[0]?.ts ?? '').filter((m) => m.text.startsWith('Investigating:'))).toHaveLength(1);
    }
    const { rows } = await w.db.client.query(`SELECT count(*)::int AS n FROM incident_outbox WHERE kind = 'root'`);
    expect(rows[0]?.n).toBe(w.roots().length);
  });
});

describe('response-target timers', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({
      RESPONSE_TARGETS: JSON.stringify({ P2: '2s', P4: '1s' }),
      INCIDENT_LEAD_AFTER: '3s',
      POSTMORTEM_DUE: '2s',
      ESCALATION_CONTACTS: JSON.stringify({ engineering_lead: LEAD, dba: 'S0DBATEAM1' }),
    });
  });

  afterEach(async () => {
    for (const p of [...w.bots]) await w.stop(p);
  });

  afterAll(async () => {
    await w?.close();
  });

  const rootOf = (title: string) => w.roots().find((m) => m.text.includes(title)) as SlackMessage;
  const count = (root: SlackMessage, text: string) => w.replies(root.ts).filter((m) => m.text.includes(text)).length;

  it('remind the on-call once past the target and bring the lead in after the lead delay, with two replicas running', async () => {
    await w.start();
    await w.start();
    await w.pd.triggerIncident({ title: 'Database pool saturated', serviceId: 'PDMPAPI', urgency: 'high' });
    await w.pd.triggerIncident({ title: 'Acknowledged in time', serviceId: 'PDMPAPI', urgency: 'high' });
    await settled(w);
    const late = rootOf('Database pool saturated');
    const quick = rootOf('Acknowledged in time');
    await w.click({
      actionId: 'incident:ack',
      value: controls(quick).find((c) => c.label === 'Acknowledge')?.value,
      messageTs: quick.ts,
    });
    const reminder = await eventually(
      () => w.replies(late.ts).find((m) => m.text.includes('not acknowledged after 2s')),
      6_000,
      'the reminder',
    );
    // The on-call is the PagerDuty assignee, found in Slack by email.
    expect(reminder.text).toContain('<@U0DANA001>');
    const lead = await eventually(
      () => w.replies(late.ts).find((m) => m.text.includes('unresolved after 3s')),
      6_000,
      'the lead escalation',
    );
    expect(lead.text).toContain(`<@${LEAD}> (Engineering lead)`);
    expect(lead.text).toContain('<!subteam^S0DBATEAM1> (Database admin)');
    await new Promise((r) => setTimeout(r, 2_500));
    expect(count(late, 'not acknowledged after')).toBe(1);
    expect(count(late, 'unresolved after')).toBe(1);
    expect(count(quick, 'not acknowledged after')).toBe(0);
    const { rows } = await w.db.client.query(
      `SELECT kind, fired_at IS NOT NULL AS fired FROM incident_timers t JOIN incidents i ON i.id = t.incident_id WHERE i.title = 'Database pool saturated' AND kind NOT IN ('update_reminder', 'commander_nudge') ORDER BY kind`,
    );
    expect(rows).toEqual([
      { kind: 'ack_reminder', fired: true },
      { kind: 'lead_escalation', fired: true },
    ]);
  });

  it('survive a restart: a timer due while no bot ran fires once when one starts', async () => {
    const first = await w.start();
    await w.pd.triggerIncident({ title: 'Low urgency while down', serviceId: 'PDMPWRK', urgency: 'low' });
    await settled(w);
    const root = rootOf('Low urgency while down');
    await w.stop(first);
    await new Promise((r) => setTimeout(r, 1_500));
    expect(count(root, 'not acknowledged after')).toBe(0);
    await w.start();
    await w.start();
    await eventually(() => count(root, 'not acknowledged after 1s') === 1, 6_000, 'the reminder after the restart');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(count(root, 'not acknowledged after')).toBe(1);
    expect(count(root, 'unresolved after')).toBe(0); // P4: no lead escalation
  });

  it('remind about the post-mortem before it is due, once each', async () => {
    await w.start();
    const inc = await w.pd.triggerIncident({ title: 'Post-mortem reminders', serviceId: 'PDMPWRK', priority: 'P3' });
    await settled(w);
    await w.pd.act(inc.id, { status: 'resolved' }, 'dana@example.com');
    const root = rootOf('Post-mortem reminders');
    await eventually(() => count(root, 'the post-mortem is due') === 2, 6_000, 'two post-mortem reminders');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(count(root, 'post-mortem is due')).toBe(2);
    expect(count(root, 'not acknowledged after')).toBe(0);
  });
});
