// Incident roles through the thread: Take command on the root, a hand-over (root, timeline, the
// previous commander told, the new one briefed by DM), `/dmp incident lead|comms`, the commander
// nudge once for a P1/P2 nobody leads, and the roles in the post-mortem.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE,
  controls,
  DANA,
  eventually,
  INCIDENTS,
  LEAD,
  settled,
  startWorld,
  textOf,
  type World,
} from './world.js';

describe('incident roles', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({ COMMANDER_NUDGE: '2s', INCIDENT_LEAD_AFTER: '1h' });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const current = (root: SlackMessage): SlackMessage => w.slack.message(INCIDENTS, root.ts) as SlackMessage;
  const rootOf = (title: string) =>
    eventually(() => w.roots().find((m) => m.text.includes(title)), 8_000, `the root of "${title}"`);
  const takeCommand = async (root: SlackMessage, user: string) => {
    const b = controls(current(root)).find((c) => c.label === 'Take command');
    if (!b) throw new Error('no Take command button');
    return w.click({ actionId: b.action_id, value: b.value, blockId: b.block_id, messageTs: root.ts, user });
  };
  const dmsTo = (user: string) =>
    w.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.channel === user)
      .map((c) => String(c.args.text));
  const timeline = async (id: string) =>
    (
      await w.db.client.query<{ text: string; actor: { slackId?: string } | null }>(
        `SELECT text, actor FROM incident_timeline WHERE incident_id = $1 AND kind = 'role' ORDER BY id`,
        [id],
      )
    ).rows;

  it('shows nobody as commander until Take command, then the presser; a second press by another is a hand-over', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Graph cache misses', urgency: 'low' });
    await settled(w);
    const root = await rootOf('Graph cache misses');
    expect(textOf(current(root))).toContain('*Commander*\\nnobody yet');
    expect(controls(current(root)).map((c) => c.label)).toContain('Take command');

    expect(await takeCommand(root, ALICE)).toBe(200);
    await eventually(() => textOf(current(root)).includes(`*Commander*\\n<@${ALICE}>`), 8_000, 'Alice on the root');
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes(`<@${ALICE}> is the commander`)),
      8_000,
      'the thread told',
    );
    // The commander's brief: the incident's state, in a DM.
    await eventually(() => dmsTo(ALICE).find((t) => t.includes('You are the commander of')), 8_000, "Alice's DM");
    // The button stays for hand-overs.
    expect(controls(current(root)).map((c) => c.label)).toContain('Take command');

    // Pressing it again changes nothing and says so.
    await takeCommand(root, ALICE);
    await eventually(
      () => w.slack.ephemerals.find((e) => e.user === ALICE && e.text.includes('already the commander')),
      8_000,
      'the refusal',
    );

    expect(await takeCommand(root, DANA)).toBe(200);
    await eventually(() => textOf(current(root)).includes(`*Commander*\\n<@${DANA}>`), 8_000, 'Dana on the root');
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Hand-over') && m.text.includes(`<@${ALICE}>`)),
      8_000,
      'the hand-over in the thread',
    );
    await eventually(() => dmsTo(ALICE).find((t) => t.includes('no longer the commander')), 8_000, 'Alice told');
    await settled(w);
    const entries = await timeline(inc.id);
    expect(entries.map((e) => e.text)).toEqual([
      'Alice Ops is commander (Take command)',
      'Commander handed over from Alice Ops to Dana On-Call',
    ]);
    expect(entries[1]?.actor?.slackId).toBe(DANA);
    const [row] = (await w.db.client.query('SELECT commander FROM incidents WHERE id = $1', [inc.id])).rows;
    expect(row.commander.slackId).toBe(DANA);
    // Only one hand-over reply, however often the worker looks.
    expect(w.replies(root.ts).filter((m) => m.text.includes('Hand-over'))).toHaveLength(1);
  });

  it('/dmp incident lead and comms assign the roles, shown on the root; a bad mention is told', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Webhook deliveries failing', urgency: 'low' });
    await settled(w);
    const root = await rootOf('Webhook deliveries failing');
    // Typed as a person types it; Slack sends the mention with its id (should_escape: true).
    const lead = await w.slash(w.slack.commandText(`incident lead @lee ${inc.id}`), ALICE);
    expect(lead.status).toBe(200);
    const comms = await w.slash(`incident comms <@${DANA}> ${inc.id}`, ALICE);
    expect(comms.status).toBe(200);
    await eventually(
      () =>
        textOf(current(root)).includes(`*Commander*\\n<@${LEAD}>`) &&
        textOf(current(root)).includes(`*Comms*\\n<@${DANA}>`),
      8_000,
      'both roles on the root',
    );
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes(`<@${DANA}> is the comms lead (assigned by <@${ALICE}>)`)),
      8_000,
      'the comms lead announced',
    );
    await eventually(() => dmsTo(LEAD).find((t) => t.includes('You are the commander of')), 8_000, "Lee's brief");
    const texts = (await timeline(inc.id)).map((e) => e.text);
    expect(texts).toContain('lee is commander (assigned by alice)');
    expect(texts).toContain('U0DANA001 is comms lead (assigned by alice)');

    const bad = await w.slash(w.slack.commandText(`incident lead @nobody ${inc.id}`), ALICE);
    expect(bad.body).toContain('takes a Slack mention');
    expect(bad.body).toContain('`@nobody` is no one Slack knows');
    // An email Slack knows names the person too (Slack sends it as a mailto link).
    await w.slash(w.slack.commandText(`incident comms lee@example.com ${inc.id}`), ALICE);
    await eventually(() => textOf(current(root)).includes(`*Comms*\\n<@${LEAD}>`), 8_000, 'Lee the comms lead');
    const [row] = (await w.db.client.query('SELECT commander FROM incidents WHERE id = $1', [inc.id])).rows;
    expect(row.commander.slackId).toBe(LEAD);
  });

  it('a P2 nobody commands gets one reminder after COMMANDER_NUDGE, mentioning the on-call; a commanded one none', async () => {
    const unled = await w.pd.triggerIncident({ title: 'API latency high', urgency: 'high' });
    await settled(w);
    const root = await rootOf('API latency high');
    const nudge = await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('has no commander')),
      15_000,
      'the nudge',
    );
    expect(nudge.text).toContain(`<@${DANA}>`); // the PagerDuty assignee, found in Slack by email
    expect(nudge.text).toContain('Take command');

    // Led before it became a P2: its nudge, due at once when the severity rises, finds a commander.
    const led = await w.pd.triggerIncident({ title: 'Queue depth rising', urgency: 'low' });
    await settled(w);
    const ledRoot = await rootOf('Queue depth rising');
    await takeCommand(ledRoot, ALICE);
    await eventually(() => textOf(current(ledRoot)).includes(`*Commander*\\n<@${ALICE}>`), 8_000, 'Alice commands');
    const sev = controls(current(ledRoot)).find((c) => c.label === 'Change severity');
    await w.click({
      actionId: sev?.action_id ?? '',
      blockId: sev?.block_id,
      messageTs: ledRoot.ts,
      selected: `${led.id}|P2`,
    });
    await eventually(
      async () => {
        const rows = (
          await w.db.client.query(
            `SELECT fired_at FROM incident_timers WHERE incident_id = $1 AND kind = 'commander_nudge'`,
            [led.id],
          )
        ).rows;
        return rows[0]?.fired_at ? true : undefined;
      },
      15_000,
      'the P2 nudge timer to fire',
    );
    await settled(w);
    expect(w.replies(ledRoot.ts).filter((m) => m.text.includes('has no commander'))).toHaveLength(0);
    expect(w.replies(root.ts).filter((m) => m.text.includes('has no commander'))).toHaveLength(1);
    expect(unled.id).not.toBe(led.id);
  });

  it('the commander escalates to the next level as themselves; anyone else is refused while someone commands', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Scan results missing', urgency: 'low' });
    await settled(w);
    const root = await rootOf('Scan results missing');
    const escalate = (user: string) => {
      const c = controls(current(root)).find((x) => x.label === 'Escalate');
      if (!c) throw new Error('no Escalate on the root');
      return w.click({
        actionId: c.action_id,
        selected: c.value,
        overflow: true,
        blockId: c.block_id,
        messageTs: root.ts,
        user,
      });
    };
    await takeCommand(root, ALICE);
    await eventually(() => textOf(current(root)).includes(`*Commander*\\n<@${ALICE}>`), 8_000, 'Alice commands');
    const puts = () => w.pd.requests.filter((r) => r.method === 'PUT' && r.path === `/incidents/${inc.id}`);

    expect(await escalate(DANA)).toBe(200);
    const refusal = await eventually(
      () => w.slack.ephemerals.find((e) => e.user === DANA && e.text.includes('not allowed')),
      8_000,
      'the refusal',
    );
    expect(refusal.text).toContain(`commander (<@${ALICE}>) only`);
    expect(refusal.text).toContain('permission');
    await settled(w);
    expect(puts()).toHaveLength(0);
    expect(w.pd.incidents.get(inc.id)?.escalation_level).toBe(1);

    expect(await escalate(ALICE)).toBe(200);
    await eventually(
      () =>
        w.replies(root.ts).find((m) => m.text.includes(`Escalated by <@${ALICE}> to escalation level 2 (commander)`)),
      8_000,
      'the escalation in the thread',
    );
    await settled(w);
    expect(puts().map((r) => [r.headers.from, r.body])).toEqual([
      ['alice@example.com', { incident: { type: 'incident_reference', escalation_level: 2 } }],
    ]);
    expect(w.pd.incidents.get(inc.id)?.escalation_level).toBe(2);
    // PagerDuty gave it to level 2's on-call.
    expect(w.pd.incidents.get(inc.id)?.assignees.map((u) => u.id)).toEqual(['PDMPUSR2']);
    const [entry] = (
      await w.db.client.query<{ text: string }>(
        `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'escalated' AND source = 'slack'`,
        [inc.id],
      )
    ).rows;
    expect(entry?.text).toBe('Escalated from Slack to escalation level 2 (commander) (Escalate button)');
  });

  it('the post-mortem names who held which role', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Storage full', urgency: 'low' });
    await settled(w);
    const root = await rootOf('Storage full');
    await takeCommand(root, ALICE);
    await eventually(() => textOf(current(root)).includes(`*Commander*\\n<@${ALICE}>`), 8_000, 'Alice commands');
    await takeCommand(root, DANA);
    await eventually(() => textOf(current(root)).includes(`*Commander*\\n<@${DANA}>`), 8_000, 'Dana took over');
    await w.slash(w.slack.commandText(`incident comms @lee ${inc.id}`), DANA);
    await eventually(() => textOf(current(root)).includes(`*Comms*\\n<@${LEAD}>`), 8_000, 'Lee the comms lead');
    await w.pd.act(inc.id, { status: 'resolved' }, 'dana@example.com');
    await settled(w);
    const doc = await eventually(
      async () =>
        (await w.db.client.query('SELECT document FROM incident_postmortems WHERE incident_id = $1', [inc.id])).rows[0]
          ?.document as string | undefined,
      10_000,
      'the post-mortem',
    );
    expect(doc).toContain('## Roles');
    // Who holds each role at the end, then each take-over and hand-over with its time.
    expect(doc).toContain('**Commander:** Dana On-Call');
    expect(doc).toContain('**Comms lead:** lee');
    const when = String.raw`- \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC: `;
    expect(doc).toMatch(new RegExp(`${when}Alice Ops is commander \\(Take command\\)`));
    expect(doc).toMatch(new RegExp(`${when}Commander handed over from Alice Ops to Dana On-Call`));
    expect(doc).toMatch(new RegExp(`${when}lee is comms lead \\(assigned by dana\\)`));
  });

  it('the App Home tells its viewer they are on call until when, and which incidents they lead', async () => {
    const published = w.slack.callsTo('views.publish').length;
    expect(
      await w.event({
        type: 'app_home_opened',
        user: DANA,
        channel: 'D0DANA001',
        tab: 'home',
        event_ts: '1700000000.000200',
      }),
    ).toBe(200);
    const home = await eventually(() => w.slack.callsTo('views.publish')[published], 8_000, 'the App Home');
    expect(home.args.user_id).toBe(DANA);
    const view = JSON.stringify(home.args.view);
    // Dana is level 1 of the fake's one escalation policy, and took command of "Graph cache misses" above.
    expect(view).toMatch(/You are on call for \*DMP on-call\* \(level 1\) until <!date\^\d+\^/);
    expect(view).toContain('You are the commander of *Graph cache misses*');
    expect(view).not.toContain('You are the commander of *Storage full*'); // Alice's, and resolved
  });
});
