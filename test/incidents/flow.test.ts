// An incident from page to resolution through its one thread in #incidents: the root message and
// its buttons, the automatic diagnosis, acknowledgement from Slack and from PagerDuty (never
// echoed twice), escalation, reassignment, priority, notes both ways, mitigation, resolution,
// declaring by hand, and the status views.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { blockActionPayload, interactionBody, signSlackRequest } from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DECLARE_DESCRIPTION,
  DECLARE_SERVICE,
  DECLARE_SEVERITY,
  DECLARE_TITLE,
  DECLARE_VIEW,
} from '../../src/blocks/incident-ids.js';
import {
  ALICE,
  controls,
  DANA,
  event,
  eventually,
  INCIDENTS,
  page,
  SIGNING_SECRET,
  settled,
  startWorld,
  textOf,
  type World,
} from './world.js';

describe('an incident thread in #incidents', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({
      ESCALATION_CONTACTS: JSON.stringify({
        engineering_lead: 'U0LEAD0001',
        dba: 'S0DBATEAM1',
        security: 'U0SECURE01',
      }),
    });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const rootOf = (title: string): SlackMessage | undefined => w.roots().find((m) => m.text.includes(title));
  const current = (root: SlackMessage): SlackMessage => w.slack.message(INCIDENTS, root.ts) as SlackMessage;
  const button = (root: SlackMessage, label: string) => controls(current(root)).find((c) => c.label === label);
  const press = async (root: SlackMessage, label: string, user = ALICE) => {
    const b = button(root, label);
    if (!b) throw new Error(`no ${label} button on ${root.text}`);
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
  // A wait, not a time limit: the resolve path loads the chart libraries on first use, which on
  // two loaded cores can take seconds.
  const replyWith = (root: SlackMessage, text: string) =>
    eventually(() => w.replies(root.ts).find((m) => m.text.includes(text)), 20_000, `a reply with "${text}"`);
  const count = (root: SlackMessage, text: string) => w.replies(root.ts).filter((m) => m.text.includes(text)).length;

  it('posts one root message with title, service, severity, status, age, link and the five controls, then "Investigating" and the diagnosis', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Scans stuck in pending', serviceId: 'PDMPWRK', urgency: 'high' });
    await settled(w);
    const roots = w.roots().filter((m) => m.text.includes('Scans stuck in pending'));
    expect(roots).toHaveLength(1);
    const root = roots[0] as SlackMessage;
    const text = textOf(root);
    expect(text).toContain('Scans stuck in pending');
    expect(text).toContain('DMP Scan Workers');
    expect(text).toContain('P2'); // high urgency, no priority
    expect(text).toContain('Triggered');
    expect(text).toContain('*Age*');
    expect(text).toContain(`https://dmp.pagerduty.com/incidents/${inc.id}`);
    const labels = controls(root).map((c) => c.label);
    expect(labels).toEqual(
      expect.arrayContaining(['Acknowledge', 'Run diagnosis', 'Escalate', 'Mitigated', 'Resolve']),
    );
    expect(controls(root).find((c) => c.label === 'Run diagnosis')?.initial).toBe(`${inc.id}|scans-stuck`);
    const thread = w.replies(root.ts);
    expect(thread[0]?.text).toBe('Investigating: Scans stuck in pending');
    // The matching diagnosis ran at once and its findings are in the thread.
    expect(
      thread.some((m) => textOf(m).includes('Scans stuck in pending:') && textOf(m).includes('Automatic diagnosis')),
    ).toBe(true);
    const timeline = (
      await w.db.client.query('SELECT kind FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id', [inc.id])
    ).rows.map((r) => r.kind);
    expect(timeline).toEqual(['triggered', 'diagnosis']);
  });

  it("Acknowledge calls PagerDuty with the clicker's email and posts once, even when PagerDuty echoes it back", async () => {
    const inc = await w.pd.triggerIncident({ title: 'API returns 504 on graph', serviceId: 'PDMPAPI', priority: 'P1' });
    await settled(w);
    const root = rootOf('API returns 504 on graph') as SlackMessage;
    expect(controls(root).find((c) => c.label === 'Run diagnosis')?.initial).toBe(`${inc.id}|graph-timeout`);
    expect(await press(root, 'Acknowledge')).toBe(200);
    const reply = await replyWith(root, 'Acknowledged by');
    expect(reply.text).toMatch(/Acknowledged by <@U0ALICE01> after \d+s/);
    await eventually(() => w.pd.requests.find((r) => r.method === 'PUT' && r.path === `/incidents/${inc.id}`));
    const put = w.pd.requests.filter((r) => r.method === 'PUT' && r.path === `/incidents/${inc.id}`);
    expect(put).toHaveLength(1);
    expect(put[0]?.headers.from).toBe('alice@example.com');
    expect(put[0]?.headers.authorization).toMatch(/^Token token=/);
    expect(put[0]?.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    expect(w.pd.incidents.get(inc.id)?.status).toBe('acknowledged');
    // PagerDuty's webhook for the bot's own acknowledgement arrives and is stored, but not posted again.
    await eventually(() =>
      w.pd.deliveries.some((d) => d.event.event.event_type === 'incident.acknowledged' && d.status === 200),
    );
    await settled(w);
    expect(count(root, 'Acknowledged by')).toBe(1);
    const updated = current(root);
    expect(textOf(updated)).toContain('Acknowledged');
    expect(controls(updated).map((c) => c.label)).not.toContain('Acknowledge');
    expect(w.slack.callsTo('chat.update').some((c) => c.args.ts === root.ts)).toBe(true);
    // A second click changes nothing and tells the clicker why.
    await w.click({ actionId: 'incident:ack', value: inc.id, messageTs: root.ts, user: DANA });
    await eventually(() => w.slack.ephemerals.find((e) => e.user === DANA && e.text.includes('already acknowledged')));
    expect(w.pd.requests.filter((r) => r.method === 'PUT' && r.path === `/incidents/${inc.id}`)).toHaveLength(1);
  });

  it("never falls back to PAGERDUTY_FROM_EMAIL: without the clicker's email the act is refused to them alone", async () => {
    const inc = await w.pd.triggerIncident({
      title: 'Webhook deliveries failing',
      serviceId: 'PDMPAPI',
      urgency: 'low',
    });
    await settled(w);
    const root = rootOf('Webhook deliveries failing') as SlackMessage;
    expect(controls(root).find((c) => c.label === 'Run diagnosis')?.initial).toBe(`${inc.id}|webhooks`);
    const before = w.pd.requests.filter((r) => r.method !== 'GET').length;
    await press(root, 'Acknowledge', 'U0NOMAIL01');
    const told = await eventually(() => w.slack.ephemerals.find((e) => e.user === 'U0NOMAIL01'));
    expect(told.text).toContain('no PagerDuty account');
    await settled(w);
    expect(w.pd.requests.filter((r) => r.method !== 'GET').length).toBe(before);
    expect(w.pd.requests.some((r) => r.headers.from === 'bot-fallback@example.com')).toBe(false);
    expect(w.pd.incidents.get(inc.id)?.status).toBe('triggered');
    expect(controls(current(root)).some((c) => c.label === 'Acknowledge')).toBe(true);
  });

  it('an acknowledgement made in PagerDuty updates the thread and the root without calling PagerDuty back', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Users cannot log in', serviceId: 'PDMPAPI', priority: 'P2' });
    await settled(w);
    const root = rootOf('Users cannot log in') as SlackMessage;
    expect(controls(root).find((c) => c.label === 'Run diagnosis')?.initial).toBe(`${inc.id}|auth-failures`);
    const before = w.pd.requests.filter((r) => r.method !== 'GET').length;
    await w.pd.act(inc.id, { status: 'acknowledged' }, 'eli@example.com');
    const reply = await replyWith(root, 'Acknowledged by');
    expect(reply.text).toMatch(/Acknowledged by Eli Backup after \d+s/);
    await settled(w);
    expect(count(root, 'Acknowledged by')).toBe(1);
    expect(w.pd.requests.filter((r) => r.method !== 'GET').length).toBe(before);
    expect(textOf(current(root))).toContain('Eli Backup');
  });

  it('syncs escalation, reassignment, priority and notes both ways, each posted once', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Database replication lag', serviceId: 'PDMPAPI', priority: 'P3' });
    await settled(w);
    const root = rootOf('Database replication lag') as SlackMessage;
    // A database incident brings the DBA group in from the start, in a reply of its own (one
    // thing per reply), and runs the fitting diagnosis.
    const opening = w.replies(root.ts);
    expect(opening[0]?.text).toBe('Investigating: Database replication lag');
    expect(opening[1]?.text).toBe(':busts_in_silhouette: Bringing in <!subteam^S0DBATEAM1> (Database admin).');
    expect(controls(root).find((c) => c.label === 'Run diagnosis')?.initial).toBe(`${inc.id}|db-replication`);

    // Escalate from Slack (double-clicked): PagerDuty moves to level 2 once; its echo is not posted again.
    await Promise.all([press(root, 'Escalate'), press(root, 'Escalate')]);
    await replyWith(root, 'Escalated by <@U0ALICE01>');
    await eventually(() =>
      w.pd.requests.find(
        (r) =>
          r.method === 'PUT' &&
          (r.body as { incident?: { escalation_level?: number } }).incident?.escalation_level === 2,
      ),
    );
    await eventually(() =>
      w.pd.deliveries.some((d) => d.event.event.event_type === 'incident.escalated' && d.status === 200),
    );
    await settled(w);
    expect(count(root, 'Escalated by')).toBe(1);
    expect(
      w.pd.requests.filter(
        (r) =>
          r.method === 'PUT' &&
          r.path === `/incidents/${inc.id}` &&
          JSON.stringify(r.body).includes('escalation_level'),
      ),
    ).toHaveLength(1);

    // Reassigned in PagerDuty: posted with the new assignee.
    await w.pd.act(inc.id, { assigneeIds: ['PDMPUSR2'] }, 'dana@example.com');
    await replyWith(root, 'Reassigned to Eli Backup by Dana On-Call');

    // Priority raised in PagerDuty: severity follows.
    await w.pd.act(inc.id, { priorityId: 'PPRI001' }, 'dana@example.com');
    await replyWith(root, 'severity P3 → P1');
    await eventually(() => textOf(current(root)).includes('P1 ·'));

    // Severity changed from Slack: PagerDuty gets the matching priority id; the echo is not posted again.
    const sev = button(root, 'Change severity');
    await w.click({
      actionId: sev?.action_id ?? '',
      blockId: sev?.block_id,
      messageTs: root.ts,
      selected: `${inc.id}|P2`,
    });
    await replyWith(root, 'severity P1 → P2');
    await eventually(() =>
      w.pd.requests.find(
        (r) =>
          r.method === 'PUT' &&
          (r.body as { incident?: { priority?: { id?: string } } }).incident?.priority?.id === 'PPRI002',
      ),
    );
    await settled(w);
    expect(count(root, 'Priority changed')).toBe(2);

    // A note written in PagerDuty comes into the thread.
    await w.deliver(
      event('incident.annotated', page({ id: inc.id, title: inc.title }), {
        agent: { id: 'PDMPUSR1', summary: 'Dana On-Call' },
        note: { content: 'Replica restarted at 10:02' },
      }),
    );
    await replyWith(root, 'Note from Dana On-Call in PagerDuty: Replica restarted at 10:02');

    // A :pushpin: message in the thread becomes a PagerDuty note and a timeline entry, and is not echoed back.
    await w.say(':pushpin: Lag back under 1s after the restart', root.ts);
    await eventually(() => w.pd.requests.find((r) => r.method === 'POST' && r.path === `/incidents/${inc.id}/notes`));
    const note = w.pd.requests.find((r) => r.method === 'POST' && r.path === `/incidents/${inc.id}/notes`);
    expect(note?.body).toEqual({ note: { content: 'Lag back under 1s after the restart' } });
    expect(note?.headers.from).toBe('alice@example.com');
    await eventually(() =>
      w.pd.deliveries.some(
        (d) =>
          d.event.event.event_type === 'incident.annotated' &&
          JSON.stringify(d.event).includes('Lag back') &&
          d.status === 200,
      ),
    );
    await settled(w);
    expect(w.replies(root.ts).filter((m) => m.text.includes('Lag back under 1s'))).toHaveLength(0); // the bot posts nothing back
    const pinned = (
      await w.db.client.query(`SELECT text, actor FROM incident_timeline WHERE incident_id = $1 AND kind = 'pinned'`, [
        inc.id,
      ])
    ).rows;
    expect(pinned).toEqual([
      {
        text: 'Pinned: Lag back under 1s after the restart',
        actor: { source: 'slack', slackId: ALICE, name: 'Alice Ops' },
      },
    ]);
  });

  it('Run diagnosis, Reassign and remediation buttons in the thread are done and recorded', async () => {
    const inc = await w.pd.triggerIncident({
      title: 'Workers restarting in a loop',
      serviceId: 'PDMPWRK',
      priority: 'P3',
    });
    await settled(w);
    const root = rootOf('Workers restarting in a loop') as SlackMessage;
    const select = button(root, 'Run diagnosis');
    await w.click({
      actionId: select?.action_id ?? '',
      blockId: select?.block_id,
      messageTs: root.ts,
      selected: `${inc.id}|health`,
    });
    const report = await eventually(() =>
      w.replies(root.ts).find((m) => textOf(m).includes('Diagnosis requested by <@U0ALICE01>')),
    );
    expect(textOf(report)).toContain('Platform health');

    const picker = button(root, 'Reassign to…');
    // A users_select sends the picked user; the world's click helper sends options, so build it by hand.
    const payload = blockActionPayload({
      user: ALICE,
      channel: INCIDENTS,
      messageTs: root.ts,
      actionId: picker?.action_id ?? '',
      responseUrl: w.slack.responseUrl({}),
    }) as { actions: unknown[] };
    payload.actions = [
      {
        type: 'users_select',
        action_id: picker?.action_id,
        block_id: picker?.block_id,
        selected_user: DANA,
        action_ts: '1700000000.000001',
      },
    ];
    const raw = interactionBody(payload);
    await fetch(`${w.bots[0]?.url}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest(SIGNING_SECRET, raw),
      body: raw,
    });
    await replyWith(root, 'Reassigned to <@U0DANA001> by <@U0ALICE01>');
    await eventually(() =>
      w.pd.requests.find((r) => r.method === 'PUT' && JSON.stringify(r.body).includes('assignments')),
    );
    const put = w.pd.requests.find((r) => r.method === 'PUT' && JSON.stringify(r.body).includes('assignments'));
    expect(put?.body).toEqual({
      incident: { type: 'incident_reference', assignments: [{ assignee: { id: 'PDMPUSR1', type: 'user_reference' } }] },
    });
    await eventually(() =>
      w.pd.deliveries.some((d) => d.event.event.event_type === 'incident.reassigned' && d.status === 200),
    );
    await settled(w);
    expect(count(root, 'Reassigned to')).toBe(1);

    // A remediation button pressed in the thread (Restart, here) lands in the incident's timeline.
    await w.click({
      actionId: 'remedy:restart-deployment:0',
      value: JSON.stringify({ remedy: 'restart-deployment', params: { deployment: 'scan-workers' } }),
      messageTs: report.ts,
      threadTs: root.ts,
    });
    await eventually(
      async () =>
        (
          await w.db.client.query(
            `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'remediation'`,
            [inc.id],
          )
        ).rows[0],
    );
    const kinds = (
      await w.db.client.query('SELECT kind FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id', [inc.id])
    ).rows.map((r) => r.kind);
    expect(kinds).toEqual(expect.arrayContaining(['triggered', 'diagnosis', 'button', 'reassigned', 'remediation']));
  });

  it('Mitigated and Resolve carry the incident to its post-mortem, in Slack and in PagerDuty', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Queue depth growing', serviceId: 'PDMPWRK', priority: 'P2' });
    await settled(w);
    const root = rootOf('Queue depth growing') as SlackMessage;
    await press(root, 'Mitigated', DANA);
    await replyWith(root, 'Mitigated by <@U0DANA001>');
    await eventually(() =>
      w.pd.requests.find(
        (r) =>
          r.method === 'POST' &&
          r.path === `/incidents/${inc.id}/notes` &&
          JSON.stringify(r.body).includes('Mitigated'),
      ),
    );
    await eventually(() => textOf(current(root)).includes('Mitigated'));
    await press(root, 'Resolve', DANA);
    await replyWith(root, 'Resolved by <@U0DANA001>');
    await eventually(() => w.slack.files.find((f) => f.thread_ts === root.ts && f.name.endsWith('.md')));
    await eventually(() => w.pd.incidents.get(inc.id)?.status === 'resolved');
    const put = w.pd.requests.find((r) => r.method === 'PUT' && r.path === `/incidents/${inc.id}`);
    expect(put?.headers.from).toBe('dana@example.com');
    expect(put?.body).toEqual({ incident: { type: 'incident_reference', status: 'resolved' } });
    await settled(w);
    expect(count(root, 'Resolved by')).toBe(1);
    const file = w.slack.files.find((f) => f.thread_ts === root.ts && f.name.endsWith('.md'));
    expect(file?.content).toContain('# Post-mortem: Queue depth growing');
    for (const part of [
      '## Summary',
      '## Impact',
      '## Timeline (UTC)',
      '## Root cause',
      '## Action items',
      '## Learnings',
      'Time to acknowledge',
      'Time to resolve',
    ]) {
      expect(file?.content).toContain(part);
    }
    expect(file?.content).toContain('Mitigated: fix or workaround applied');
    const pmPost = w.replies(root.ts).find((m) => m.text.startsWith('Post-mortem for Queue depth growing'));
    expect(controls(pmPost).map((c) => c.label)).toContain('Fill in');
    expect(controls(current(root)).map((c) => c.label)).not.toContain('Resolve');
  });

  it('declares an incident from a modal: PagerDuty creates it, and its thread opens with the description', async () => {
    const res = await w.slash('incident declare');
    expect(res.status).toBe(200);
    const open = (await w.slack.waitFor((a) => a.kind === 'call' && a.method === 'views.open')) as unknown as {
      args: {
        view: {
          callback_id: string;
          blocks: Array<{ block_id?: string; element?: { options?: Array<{ value: string }> } }>;
        };
      };
    };
    expect(open.args.view.callback_id).toBe(DECLARE_VIEW);
    const services = open.args.view.blocks
      .find((b) => b.block_id === DECLARE_SERVICE)
      ?.element?.options?.map((o) => o.value);
    expect(services).toEqual(['PDMPAPI', 'PDMPWRK']);
    const values = {
      [DECLARE_TITLE]: { value: { type: 'plain_text_input', value: 'Customers report missing graphs' } },
      [DECLARE_SEVERITY]: { value: { type: 'static_select', selected_option: { value: 'P2' } } },
      [DECLARE_SERVICE]: { value: { type: 'static_select', selected_option: { value: 'PDMPAPI' } } },
      [DECLARE_DESCRIPTION]: {
        value: { type: 'plain_text_input', value: 'Three tenants see empty dependency graphs since 09:40' },
      },
    };
    const submitted = await w.submit({ callback_id: DECLARE_VIEW, values, id: 'VDECLARE0001' });
    expect(submitted.status).toBe(200);
    // The same form submitted again declares once.
    await w.submit({ callback_id: DECLARE_VIEW, values, id: 'VDECLARE0001' });
    const root = await eventually(
      () => rootOf('Customers report missing graphs'),
      8_000,
      "the declared incident's thread",
    );
    await replyWith(root, 'Investigating: Three tenants see empty dependency graphs since 09:40');
    const created = w.pd.requests.filter((r) => r.method === 'POST' && r.path === '/incidents');
    expect(created).toHaveLength(1);
    expect(created[0]?.headers.from).toBe('alice@example.com');
    expect(created[0]?.body).toMatchObject({
      incident: {
        type: 'incident',
        title: 'Customers report missing graphs',
        service: { id: 'PDMPAPI', type: 'service_reference' },
        priority: { id: 'PPRI002' },
      },
    });
    await settled(w);
    expect(w.roots().filter((m) => m.text.includes('Customers report missing graphs'))).toHaveLength(1);
    const kinds = (
      await w.db.client.query(
        `SELECT kind, actor FROM incident_timeline t JOIN incidents i ON i.id = t.incident_id WHERE i.title = 'Customers report missing graphs' AND kind = 'declared'`,
      )
    ).rows;
    expect(kinds).toEqual([{ kind: 'declared', actor: { source: 'slack', slackId: ALICE, name: 'Alice Ops' } }]);
  });

  it('a bad declaration is answered in the modal', async () => {
    const res = await w.submit({
      callback_id: DECLARE_VIEW,
      values: {
        [DECLARE_TITLE]: { value: { type: 'plain_text_input', value: 'x' } },
        [DECLARE_SEVERITY]: { value: { type: 'static_select', selected_option: { value: 'P2' } } },
        [DECLARE_SERVICE]: { value: { type: 'plain_text_input', value: "'; DROP TABLE incidents;--" } },
      },
    });
    const body = JSON.parse(res.body) as { response_action: string; errors: Record<string, string> };
    expect(body.response_action).toBe('errors');
    expect(Object.keys(body.errors).sort()).toEqual([DECLARE_SERVICE, DECLARE_TITLE].sort());
  });

  it('/dmp incident status and the App Home tab list open incidents with severity, age, owner and state', async () => {
    const res = await w.slash('incident status');
    const text = JSON.stringify(res.json);
    expect(text).toContain('Open incidents');
    expect(text).toContain('Database replication lag');
    expect(text).toContain('API returns 504 on graph');
    expect(text).not.toContain('Queue depth growing'); // resolved
    expect(text).toMatch(/age \d+/);
    expect(text).toContain('owner');
    expect(text).toContain('Acknowledged');
    expect(
      await w.event({
        type: 'app_home_opened',
        user: ALICE,
        channel: 'D0ALICE01',
        tab: 'home',
        event_ts: '1700000000.000100',
      }),
    ).toBe(200);
    const home = (await w.slack.waitFor((a) => a.kind === 'call' && a.method === 'views.publish')) as unknown as {
      args: { user_id: string; view: unknown };
    };
    expect(home.args.user_id).toBe(ALICE);
    expect(JSON.stringify(home.args.view)).toContain('Database replication lag');
  });

  it('/dmp incident timeline shows every step with its time and actor', async () => {
    const { rows } = await w.db.client.query(`SELECT id FROM incidents WHERE title = 'Database replication lag'`);
    const res = await w.slash(`incident timeline ${rows[0]?.id}`);
    const text = JSON.stringify(res.json);
    for (const part of [
      'Triggered in PagerDuty',
      'Escalated from Slack',
      'Reassigned in PagerDuty',
      'Priority changed in PagerDuty',
      'Note in PagerDuty',
      'Pinned: Lag back',
      'Diagnosis',
    ]) {
      expect(text).toContain(part);
    }
    expect(text).toContain('<@U0ALICE01>');
    expect(text).toMatch(/`\d\d:\d\d:\d\d`/);
  });
});
