// Incident controls act as the person who pressed them, or not at all: no email or no
// PagerDuty account is refused to the presser alone with nothing sent and nothing changed;
// PAGERDUTY_FROM_EMAIL never stands in; a PagerDuty refusal leaves Slack as it was; a click
// from another post, another workspace or (with INCIDENT_RESPONDERS) another person does nothing.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { blockActionPayload, interactionBody, signSlackRequest } from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DECLARE_SERVICE,
  DECLARE_SEVERITY,
  DECLARE_TITLE,
  DECLARE_VIEW,
  INCIDENT_RESOLVE,
} from '../../src/blocks/incident-ids.js';
import {
  ALICE,
  type BotProcess,
  controls,
  DANA,
  eventually,
  INCIDENTS,
  SIGNING_SECRET,
  settled,
  startWorld,
  type World,
} from '../incidents/world.js';

const NO_MAIL = 'U0NOMAIL01';
const NO_PD = 'U0NOPD0001';

describe('abuse: incident actions as the person who clicked', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({ PAGERDUTY_RETRY_FOR: '1s' });
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
  });

  async function openIncident(title: string): Promise<{ id: string; root: SlackMessage }> {
    const inc = await w.pd.triggerIncident({ title, serviceId: 'PDMPAPI', urgency: 'high' });
    await settled(w);
    const root = await eventually(() => w.roots().find((m) => m.text.includes(title)), 10_000, 'the root post');
    return { id: inc.id, root };
  }

  const current = (root: SlackMessage) => w.slack.message(INCIDENTS, root.ts) as SlackMessage;
  const changes = () => w.pd.requests.filter((r) => r.method !== 'GET');
  /** The newest thing told to `user` alone since `since` ephemerals had been sent. */
  const toldTo = (user: string, since: number) => () =>
    w.slack.ephemerals
      .slice(since)
      .filter((e) => e.user === user)
      .at(-1);
  const ackTimer = async (id: string) =>
    (
      await w.db.client.query(
        `SELECT cancelled_at FROM incident_timers WHERE incident_id = $1 AND kind = 'ack_reminder'`,
        [id],
      )
    ).rows[0] as { cancelled_at: Date | null } | undefined;

  async function press(root: SlackMessage, label: string, user: string, to?: BotProcess) {
    const c = controls(root).find((x) => x.label === label);
    if (!c) throw new Error(`no ${label} on the root`);
    // Escalate lives in the root's "More…" overflow: chosen, not clicked.
    const how = c.type === 'overflow' ? { selected: c.value, overflow: true } : { value: c.value };
    return w.click({
      actionId: c.action_id,
      ...how,
      blockId: c.block_id,
      messageTs: root.ts,
      user,
      ...(to ? { to } : {}),
    });
  }

  /** Slack as it was: PagerDuty untouched, the buttons still there, the reminder still waiting. */
  async function expectNothingChanged(id: string, root: SlackMessage, sentBefore: number) {
    await settled(w);
    expect(changes()).toHaveLength(sentBefore);
    expect(w.pd.requests.some((r) => r.headers.from === 'bot-fallback@example.com')).toBe(false);
    expect(w.pd.incidents.get(id)?.status).toBe('triggered');
    const labels = controls(current(root)).map((c) => c.label);
    expect(labels).toEqual(expect.arrayContaining(['Acknowledge', 'Resolve']));
    expect(w.replies(root.ts).some((m) => /Resolved by|Acknowledged by|Escalated/.test(m.text))).toBe(false);
    expect((await ackTimer(id))?.cancelled_at ?? null).toBeNull();
  }

  for (const [who, user] of [
    ['a member Slack shows no email for', NO_MAIL],
    ['a member with no PagerDuty account', NO_PD],
  ] as const) {
    for (const label of ['Resolve', 'Acknowledge', 'Escalate']) {
      it(`refuses ${label} from ${who}: told alone, nothing sent, nothing changed`, async () => {
        const { id, root } = await openIncident(`${label} by ${user}`);
        const before = changes().length;
        const seen = w.slack.ephemerals.length;
        expect(await press(root, label, user)).toBe(200);
        const told = await eventually(toldTo(user, seen), 10_000, 'the refusal');
        expect(told.text).toContain('no PagerDuty account');
        expect(w.slack.ephemerals.slice(seen).every((e) => e.user === user)).toBe(true);
        await expectNothingChanged(id, root, before);
      });
    }
  }

  it('refuses a declaration from a member with no PagerDuty account: no incident is created', async () => {
    const before = w.pd.requests.filter((r) => r.method === 'POST' && r.path === '/incidents').length;
    const res = await w.submit(
      {
        callback_id: DECLARE_VIEW,
        values: {
          [DECLARE_TITLE]: { value: { type: 'plain_text_input', value: 'Customers see 500s' } },
          [DECLARE_SEVERITY]: { value: { type: 'static_select', selected_option: { value: 'P1' } } },
          [DECLARE_SERVICE]: { value: { type: 'plain_text_input', value: 'PDMPAPI' } },
        },
      },
      NO_PD,
    );
    expect(res.status).toBe(200);
    const dm = await eventually(
      () =>
        w.slack.messages.find((m) => m.channel === NO_PD || (m.channel.startsWith('D') && /PagerDuty/.test(m.text))),
      10_000,
      'the refusal in a DM',
    );
    expect(dm.text).toContain('no PagerDuty account');
    await settled(w);
    expect(w.pd.requests.filter((r) => r.method === 'POST' && r.path === '/incidents')).toHaveLength(before);
  });

  it('acts in PagerDuty with the presser’s own email, and changes Slack once PagerDuty has accepted', async () => {
    const { id, root } = await openIncident('Acknowledged by Alice');
    await press(root, 'Acknowledge', ALICE);
    const put = await eventually(
      () => w.pd.requests.find((r) => r.method === 'PUT' && r.path === `/incidents/${id}`),
      10_000,
      'the PagerDuty call',
    );
    expect(put.headers.from).toBe('alice@example.com');
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Acknowledged by <@U0ALICE01>')),
      10_000,
      'the thread',
    );
    expect(w.pd.incidents.get(id)?.status).toBe('acknowledged');
  });

  it('leaves Slack as it was when PagerDuty refuses the call, and tells the presser', async () => {
    const { id, root } = await openIncident('Refused by PagerDuty');
    // Alice's account is looked up (and remembered), then removed from PagerDuty before she resolves.
    await press(root, 'Escalate', ALICE);
    await eventually(
      () => w.pd.requests.find((r) => r.method === 'PUT' && r.path === `/incidents/${id}`),
      10_000,
      'the escalation',
    );
    await settled(w);
    const alice = w.pd.users.findIndex((u) => u.email === 'alice@example.com');
    const [removed] = w.pd.users.splice(alice, 1);
    try {
      await press(root, 'Resolve', ALICE);
      const warning = await eventually(
        () => w.replies(root.ts).find((m) => m.text.includes('PagerDuty did not take the resolution')),
        15_000,
        'the refusal in the thread',
      );
      expect(warning.text).toContain('Nothing was changed here');
      expect(warning.text).toContain('<@U0ALICE01>');
      await settled(w);
      expect(w.pd.incidents.get(id)?.status).not.toBe('resolved');
      expect(controls(current(root)).map((c) => c.label)).toContain('Resolve');
      expect(w.replies(root.ts).some((m) => m.text.includes('Resolved by'))).toBe(false);
      const pm = await w.db.client.query('SELECT 1 FROM incident_postmortems WHERE incident_id = $1', [id]);
      expect(pm.rowCount).toBe(0);
    } finally {
      if (removed) w.pd.users.push(removed);
    }
  });

  it("refuses a control pressed anywhere but the incident's own post or thread", async () => {
    const { id, root } = await openIncident('Clicked from elsewhere');
    const before = changes().length;
    const seen = w.slack.ephemerals.length;
    const resolve = controls(root).find((c) => c.label === 'Resolve');
    await w.click({
      actionId: INCIDENT_RESOLVE,
      value: resolve?.value ?? id,
      messageTs: '1700000999.000100',
      user: ALICE,
    });
    const told = await eventually(toldTo(ALICE, seen), 10_000, 'the refusal');
    expect(told.text).toContain('not allowed');
    await expectNothingChanged(id, root, before);
  });

  it('refuses a signed click from another workspace', async () => {
    const { id, root } = await openIncident('Clicked from another workspace');
    const before = changes().length;
    const seen = w.slack.ephemerals.length;
    const resolve = controls(root).find((c) => c.label === 'Resolve');
    const bot = w.bots[0] as BotProcess;
    const raw = interactionBody(
      blockActionPayload({
        user: ALICE,
        channel: INCIDENTS,
        messageTs: root.ts,
        actionId: INCIDENT_RESOLVE,
        value: resolve?.value ?? id,
        blockId: resolve?.block_id,
        teamId: 'T0OTHER001',
        responseUrl: w.slack.responseUrl({ channel: INCIDENTS, user: ALICE, messageTs: root.ts }),
      }),
    );
    const res = await fetch(`${bot.url}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest(SIGNING_SECRET, raw),
      body: raw,
    });
    expect(res.status).toBe(200);
    await res.text();
    const told = await eventually(toldTo(ALICE, seen), 10_000, 'the refusal');
    expect(told.text).toContain('workspace I do not serve');
    await expectNothingChanged(id, root, before);
  });

  it('lets only INCIDENT_RESPONDERS press incident controls when it is set', async () => {
    const strict = await w.start({ INCIDENT_RESPONDERS: ALICE });
    try {
      const { id, root } = await openIncident('Responders only');
      const before = changes().length;
      const seen = w.slack.ephemerals.length;
      await press(root, 'Acknowledge', DANA, strict);
      const told = await eventually(toldTo(DANA, seen), 10_000, 'the refusal');
      expect(told.text).toContain('not allowed');
      await expectNothingChanged(id, root, before);
      await press(root, 'Acknowledge', ALICE, strict);
      await eventually(() => w.pd.incidents.get(id)?.status === 'acknowledged', 10_000, 'the responder’s ack');
    } finally {
      await w.stop(strict);
    }
  });
});
