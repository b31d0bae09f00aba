// An incident carried from page to resolution with the public kept informed: the Status page
// modal opens a Statuspage incident, Mitigated moves it to monitoring, Resolve to resolved with
// its components operational again; Post update reaches the thread, PagerDuty and the status
// page; the update cadence reminds once a period; a refused call is said in the thread.
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { type StatuspageFake, startStatuspageFake } from '@dmp-bot/sim/statuspage';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, controls, DANA, eventually, INCIDENTS, settled, startWorld, textOf, type World } from './world.js';

const SP_KEY = 'sp-key-incidents-0001';
const SP_PAGE = 'pgdmp0001';
const COMPONENTS = { workers: 'cmpworkers', queue: 'cmpqueue01', api: 'cmpapi0001' };

describe('the status page and stakeholder updates of an incident', () => {
  let w: World;
  let sp: StatuspageFake;

  beforeAll(async () => {
    sp = await startStatuspageFake({
      apiKey: SP_KEY,
      pageId: SP_PAGE,
      components: { cmpworkers: 'Scan workers', cmpqueue01: 'Scan queue', cmpapi0001: 'API' },
    });
    w = await startWorld({
      STATUSPAGE_API_URL: sp.apiUrl,
      STATUSPAGE_API_KEY: SP_KEY,
      STATUSPAGE_PAGE_ID: SP_PAGE,
      STATUSPAGE_COMPONENTS: JSON.stringify(COMPONENTS),
      // Long enough that the cadence test below is the only one to see a reminder.
      UPDATE_CADENCE: JSON.stringify({ P1: '1h', P2: '1h' }),
    });
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
    await sp?.close();
  });

  const current = (root: SlackMessage): SlackMessage => w.slack.message(INCIDENTS, root.ts) as SlackMessage;
  const press = async (root: SlackMessage, label: string, user = ALICE) => {
    const b = controls(current(root)).find((c) => c.label === label);
    if (!b) throw new Error(`no ${label} control on ${root.text}`);
    // An option of the root's More… overflow is pressed by choosing it.
    if (b.type === 'overflow')
      return w.click({
        actionId: b.action_id,
        blockId: b.block_id,
        messageTs: root.ts,
        user,
        selected: b.value,
        overflow: true,
      });
    return w.click({ actionId: b.action_id, value: b.value, blockId: b.block_id, messageTs: root.ts, user });
  };
  const replyWith = (root: SlackMessage, text: string, ms = 15_000) =>
    eventually(() => w.replies(root.ts).find((m) => m.text.includes(text)), ms, `a reply with "${text}"`);
  const openedView = (callbackId: string, before: number) =>
    eventually(
      () => [...w.slack.views.values()].slice(before).find((v) => v.callback_id === callbackId),
      8_000,
      `the ${callbackId} modal`,
    );
  const input = (value: string) => ({ value: { type: 'plain_text_input', value } });
  const select = (value: string) => ({ value: { type: 'static_select', selected_option: { value } } });
  const spCalls = () => sp.requests.filter((r) => r.method !== 'GET');

  async function page(title: string): Promise<{ id: string; root: SlackMessage }> {
    const inc = await w.pd.triggerIncident({ title, serviceId: 'PDMPWRK', urgency: 'high' });
    const root = await eventually(() => w.roots().find((m) => m.text.includes(title)), 10_000, 'the root');
    return { id: inc.id, root };
  }

  it('carries page → status page → mitigated → resolved, with each Statuspage call checked', async () => {
    const { id, root } = await page('Scans stuck in pending: scan_queue backed up on dmp-redis-7');
    await eventually(() => controls(current(root)).some((c) => c.label === 'Status page'), 8_000, 'the control');
    expect(controls(current(root)).map((c) => c.label)).toEqual(expect.arrayContaining(['Status page', 'Post update']));

    const views = w.slack.views.size;
    await press(root, 'Status page');
    const modal = await openedView('incident_status_page', views);
    const shown = JSON.stringify(modal.blocks);
    // The public name comes from the procedure's template, not the internal alert title.
    expect(shown).toContain('Delays processing scans');
    expect(shown).toContain('degraded_performance');
    await w.submit({
      callback_id: 'incident_status_page',
      private_metadata: id,
      values: {
        sp_name: input('Delays processing scans'),
        sp_status: select('investigating'),
        sp_body: input('New scans are waiting longer than usual. We are investigating.'),
        'sp_component:workers': select('partial_outage'),
        'sp_component:queue': select('degraded_performance'),
        'sp_component:api': select('operational'),
      },
    });
    const opened = await replyWith(root, 'Status page incident opened');
    expect(textOf(opened)).toContain('investigating');
    expect(controls(opened).map((c) => c.label)).toContain('Correct status page');

    const [create] = spCalls();
    expect(create?.method).toBe('POST');
    expect(create?.path).toBe(`/v1/pages/${SP_PAGE}/incidents`);
    expect(create?.headers.authorization).toBe(`OAuth ${SP_KEY}`);
    expect(create?.body).toEqual({
      incident: {
        name: 'Delays processing scans',
        status: 'investigating',
        body: 'New scans are waiting longer than usual. We are investigating.',
        component_ids: expect.arrayContaining(['cmpworkers', 'cmpqueue01']),
        components: { cmpworkers: 'partial_outage', cmpqueue01: 'degraded_performance' },
      },
    });
    const spId = [...sp.incidents.values()][0]?.id as string;
    expect(sp.components.get('cmpworkers')?.status).toBe('partial_outage');

    await press(root, 'Mitigated', DANA);
    await eventually(() => sp.incidents.get(spId)?.status === 'monitoring', 15_000, 'the page in monitoring');
    const patch = spCalls().find((r) => r.method === 'PATCH' && r.status === 200);
    expect(patch?.path).toBe(`/v1/pages/${SP_PAGE}/incidents/${spId}`);
    expect(patch?.body).toMatchObject({ incident: { status: 'monitoring' } });
    await replyWith(root, 'Status page updated');
    await replyWith(root, 'Verification after Mitigated');

    await press(root, 'Resolve', DANA);
    await eventually(() => sp.incidents.get(spId)?.status === 'resolved', 15_000, 'the page resolved');
    expect([...sp.components.values()].every((c) => c.status === 'operational')).toBe(true);
    const resolvedPatch = spCalls()
      .filter((r) => r.method === 'PATCH' && r.status === 200)
      .at(-1);
    expect(resolvedPatch?.body).toMatchObject({
      incident: { status: 'resolved', components: { cmpworkers: 'operational', cmpqueue01: 'operational' } },
    });
    await settled(w);
    const timeline = (
      await w.db.client.query<{ text: string }>(
        `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind IN ('status_page', 'verification') ORDER BY id`,
        [id],
      )
    ).rows.map((r) => r.text);
    expect(timeline.some((t) => t.startsWith('Status page incident opened: investigating'))).toBe(true);
    expect(timeline.some((t) => t.startsWith('Status page updated: monitoring'))).toBe(true);
    expect(timeline.some((t) => t.startsWith('Status page updated: resolved'))).toBe(true);
    expect(timeline.some((t) => t.startsWith('Verification after Mitigated'))).toBe(true);
    // The three calls went out a second apart at least in the fake's eyes: none was refused for pace in the end.
    expect(sp.incidents.get(spId)?.incident_updates.map((u) => u.status)).toEqual([
      'resolved',
      'monitoring',
      'investigating',
    ]);
  }, 90_000);

  it('sends a Post update to the thread, to PagerDuty as a status update and to the open status page', async () => {
    const { id, root } = await page('Workers dead: scans stuck for tenant acme');
    await eventually(() => controls(current(root)).some((c) => c.label === 'Post update'), 8_000, 'the control');
    let views = w.slack.views.size;
    await press(root, 'Status page');
    await openedView('incident_status_page', views);
    await w.submit({
      callback_id: 'incident_status_page',
      private_metadata: id,
      values: {
        sp_name: input('Delays processing scans'),
        sp_status: select('identified'),
        sp_body: input('We found the cause.'),
        'sp_component:workers': select('degraded_performance'),
      },
    });
    await replyWith(root, 'Status page incident opened');
    const spId = [...sp.incidents.values()].find((i) =>
      i.incident_updates.some((u) => u.body === 'We found the cause.'),
    )?.id as string;

    views = w.slack.views.size;
    await press(root, 'Post update', DANA);
    const modal = await openedView('incident_post_update', views);
    expect(JSON.stringify(modal.blocks)).toContain('PagerDuty');
    const message = 'Workers are restarting; scans will catch up within 20 minutes.';
    await w.submit(
      { callback_id: 'incident_post_update', private_metadata: id, values: { update_message: input(message) } },
      DANA,
    );
    const reply = await replyWith(root, 'Update from');
    expect(textOf(reply)).toContain(message);
    expect(textOf(reply)).toContain('<@U0DANA001>');
    const pdUpdate = await eventually(() => w.pd.statusUpdates.get(id)?.[0], 15_000, 'the PagerDuty status update');
    expect(pdUpdate.message).toBe(message);
    const statusUpdateCall = w.pd.requests.find((r) => r.path === `/incidents/${id}/status_updates`);
    expect(statusUpdateCall?.headers.from).toBe('dana@example.com');
    await eventually(
      () => sp.incidents.get(spId)?.incident_updates.some((u) => u.body === message && u.status === 'identified'),
      15_000,
      'the update on the status page',
    );
    const [entry] = (
      await w.db.client.query<{ text: string }>(
        `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'status_update' ORDER BY id`,
        [id],
      )
    ).rows;
    expect(entry?.text).toContain(message);
    expect(entry?.text).toContain('PagerDuty');
    expect(entry?.text).toContain('the status page');

    // PagerDuty announces the update back (incident.status_update_published): the echo is
    // recorded as a confirmation, and the update stays in the thread once.
    await eventually(
      () =>
        w.pd.deliveries.some(
          (d) => d.event.event.event_type === 'incident.status_update_published' && d.status === 200,
        ),
      15_000,
      "PagerDuty's status update webhook",
    );
    await settled(w);
    expect(w.replies(root.ts).filter((m) => textOf(m).includes(message))).toHaveLength(1);
    const confirmed = await w.db.client.query(
      `SELECT 1 FROM incident_timeline WHERE incident_id = $1 AND text = 'Confirmed in PagerDuty: status update published'`,
      [id],
    );
    expect(confirmed.rows).toHaveLength(1);
  }, 90_000);

  it('posts a status update made in PagerDuty itself in the thread once', async () => {
    const { id, root } = await page('Graph queries time out for tenant initech');
    await settled(w);
    const message = 'Query planner fix deployed; graphs load again for most tenants.';
    await w.pd.publishStatusUpdate(id, message, 'eli@example.com');
    const reply = await replyWith(root, message);
    expect(textOf(reply)).toContain('Eli Backup');
    await settled(w);
    expect(w.replies(root.ts).filter((m) => textOf(m).includes(message))).toHaveLength(1);
    const [entry] = (
      await w.db.client.query<{ text: string }>(
        `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'status_update' ORDER BY id`,
        [id],
      )
    ).rows;
    expect(entry?.text).toBe(`Status update: ${message}`);
  }, 90_000);

  it('retries through a 429 (after its Retry-After) and a 500, and the change still lands once', async () => {
    const { id, root } = await page('Scans stuck: queue not draining (us-2)');
    await eventually(() => controls(current(root)).some((c) => c.label === 'Status page'), 8_000, 'the control');
    const views = w.slack.views.size;
    await press(root, 'Status page');
    await openedView('incident_status_page', views);
    const from = sp.requests.length;
    sp.rateLimitNext(1, 1);
    await w.submit({
      callback_id: 'incident_status_page',
      private_metadata: id,
      values: {
        sp_name: input('Delays processing scans'),
        sp_status: select('investigating'),
        sp_body: input('Queue not draining.'),
        'sp_component:queue': select('degraded_performance'),
      },
    });
    await replyWith(root, 'Status page incident opened');
    const creates = sp.requests.slice(from).filter((r) => r.method === 'POST');
    expect(creates.map((r) => r.status)).toEqual([429, 201]);
    const spId = [...sp.incidents.values()].find((i) =>
      i.incident_updates.some((u) => u.body === 'Queue not draining.'),
    )?.id as string;

    // Statuspage answers 500 once: the monitoring change is retried and lands.
    sp.http.setFault('error', { times: 1 });
    await press(root, 'Mitigated', DANA);
    await eventually(() => sp.incidents.get(spId)?.status === 'monitoring', 20_000, 'monitoring after a retry');
    expect(sp.incidents.get(spId)?.incident_updates.filter((u) => u.status === 'monitoring')).toHaveLength(1);
    const [row] = (
      await w.db.client.query<{ attempts: number; failed: boolean }>(
        `SELECT attempts, failed FROM statuspage_outbox WHERE incident_id = $1 AND args->>'reason' = 'mitigated'`,
        [id],
      )
    ).rows;
    expect(row).toEqual({ attempts: 2, failed: false });
  }, 90_000);

  it('says in the thread when Statuspage refuses a call', async () => {
    const { id, root } = await page('Scans stuck: worker-9 silent');
    const views = w.slack.views.size;
    await eventually(() => controls(current(root)).some((c) => c.label === 'Status page'), 8_000, 'the control');
    await press(root, 'Status page');
    await openedView('incident_status_page', views);
    const before = sp.incidents.size;
    // A component id Statuspage does not know: configured wrong, refused with 422.
    sp.components.delete('cmpapi0001');
    try {
      await w.submit({
        callback_id: 'incident_status_page',
        private_metadata: id,
        values: {
          sp_name: input('Delays processing scans'),
          sp_status: select('investigating'),
          sp_body: input('Investigating.'),
          'sp_component:api': select('major_outage'),
        },
      });
      const warning = await replyWith(root, 'The status page did not take the new status page incident');
      expect(textOf(warning)).toContain('HTTP 422');
      expect(textOf(warning)).not.toContain(SP_KEY);
      expect(sp.incidents.size).toBe(before);
    } finally {
      sp.components.set('cmpapi0001', { id: 'cmpapi0001', name: 'API', status: 'operational' });
    }
  }, 60_000);
});

describe('stakeholder update reminders', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({ UPDATE_CADENCE: JSON.stringify({ P1: '2s', P2: '2s' }) });
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('reminds once per period, naming the acknowledger, and counts the next period from an update', async () => {
    const inc = await w.pd.triggerIncident({
      title: 'Scans stuck behind dead workers',
      serviceId: 'PDMPWRK',
      urgency: 'high',
    });
    const root = await eventually(() => w.roots().find((m) => m.text.includes('Scans stuck behind dead workers')));
    await w.click({ actionId: 'incident:ack', value: inc.id, messageTs: root.ts, user: DANA });
    const reminders = () => w.replies(root.ts).filter((m) => m.text.includes('no stakeholder update'));
    await eventually(() => reminders().length >= 2, 20_000, 'two reminders');
    const timer = async () =>
      (
        await w.db.client.query<{ due_at: Date; fired_at: Date | null }>(
          `SELECT due_at, fired_at FROM incident_timers WHERE incident_id = $1 AND kind = 'update_reminder'`,
          [inc.id],
        )
      ).rows[0];
    const [received] = (
      await w.db.client.query<{ received_at: Date }>('SELECT received_at FROM incidents WHERE id = $1', [inc.id])
    ).rows;
    // Each period's reminder moves the one timer on by exactly one period: never two in one.
    // Read in one statement, so a reminder firing meanwhile cannot split them.
    const [state] = (
      await w.db.client.query<{ n: number; due_at: Date }>(
        `SELECT (SELECT count(*)::int FROM incident_timeline WHERE incident_id = $1 AND kind = 'reminder' AND text LIKE 'Stakeholder update due%') AS n,
                (SELECT due_at FROM incident_timers WHERE incident_id = $1 AND kind = 'update_reminder') AS due_at`,
        [inc.id],
      )
    ).rows;
    const n = state?.n ?? 0;
    expect(n).toBeGreaterThanOrEqual(2);
    expect(state?.due_at.getTime()).toBe((received?.received_at.getTime() ?? 0) + (n + 1) * 2000);
    expect(reminders().length).toBeLessThanOrEqual(n + 1);
    const last = reminders().at(-1);
    expect(last?.text).toContain('update');
    expect(textOf(last)).toContain('<@U0DANA001>');

    // An update resets the count: the next reminder is one period after it.
    await w.submit(
      {
        callback_id: 'incident_post_update',
        private_metadata: inc.id,
        values: { update_message: { value: { type: 'plain_text_input', value: 'Restarting the workers now.' } } },
      },
      DANA,
    );
    const update = await eventually(
      async () =>
        (
          await w.db.client.query<{ at: Date }>(
            `SELECT at FROM incident_timeline WHERE incident_id = $1 AND kind = 'status_update' ORDER BY id DESC LIMIT 1`,
            [inc.id],
          )
        ).rows[0],
      10_000,
      'the update in the timeline',
    );
    const after = await timer();
    // A reminder that fired meanwhile found the update and moved on from it too.
    expect(after?.due_at.getTime()).toBe((update?.at.getTime() ?? 0) + 2000);
  }, 60_000);
});
