// A two-person approval goes first to the operators on call now in PagerDuty (by DM, told so),
// then to the other operators, and never to the requester.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { type PagerDutyFake, startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../src/blocks/remediation-ids.js';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { ALICE, BOB, CAROL, press, slashShown, until } from '../helpers/remediation.js';

const PD_TOKEN = 'pd-test-token-approvals-0001';

describe('approval requests reach the on-call operator first', () => {
  let kube: TestKube;
  let pd: PagerDutyFake;
  let t: TestBot;

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    pd = await startPagerDutyFake({
      token: PD_TOKEN,
      users: [
        { id: 'PBOB0001', name: 'Bob Ops', email: 'bob@example.com' },
        { id: 'PCAROL01', name: 'Carol Ops', email: 'carol@example.com' },
        { id: 'PALICE01', name: 'Alice Ops', email: 'alice@example.com' },
      ],
      escalationPolicies: [
        { id: 'PEPOPS1', name: 'Ops on-call', levels: [{ userIds: ['PBOB0001'], scheduleId: 'PSCH1' }] },
      ],
      schedules: [{ id: 'PSCH1', name: 'Ops weekly' }],
    });
    t = await startTestBot({
      env: {
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        // Carol is listed before Bob: Bob comes first only because he is on call.
        DMP_OPERATORS: `${ALICE},${CAROL},${BOB}`,
        PAGERDUTY_API_TOKEN: PD_TOKEN,
        PAGERDUTY_API_URL: pd.url,
      },
      slack: {
        users: {
          [ALICE]: { name: 'alice', real_name: 'Alice Ops', email: 'alice@example.com' },
          [BOB]: { name: 'bob', real_name: 'Bob Ops', email: 'bob@example.com' },
          [CAROL]: { name: 'carol', real_name: 'Carol Ops', email: 'carol@example.com' },
        },
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await pd?.close();
    await kube?.close();
  });

  it('DMs the on-call operator first, then the others, never the requester', async () => {
    const { message } = await slashShown(t, 'rollback api');
    const opened = t.slack.callsTo('views.open').length;
    await press(t, message!, 'Confirm');
    const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
    const view = call.args.view as { private_metadata: string };
    const submitted = await t.submit({
      user: ALICE,
      view: {
        callback_id: REASON_MODAL,
        private_metadata: view.private_metadata,
        state: { values: { [REASON_BLOCK]: { [REASON_INPUT]: { type: 'plain_text_input', value: 'bad release' } } } },
      },
    });
    expect(submitted.status).toBe(200);
    const dms = () =>
      t.slack
        .callsTo('chat.postMessage')
        .filter((c) => [ALICE, BOB, CAROL].includes(String(c.args.channel)))
        .map((c) => ({ to: String(c.args.channel), text: String(c.args.text) }));
    await until(() => dms().length >= 2 || undefined, 'the approval DMs');
    const sent = dms();
    expect(sent.map((d) => d.to)).toEqual([BOB, CAROL]);
    expect(sent[0]?.text).toContain('You are on call now');
    expect(sent[1]?.text).not.toContain('on call');
    expect(pd.requests.some((r) => r.path === '/oncalls')).toBe(true);
  });
});

describe('approval requests to an operators group with the requester on call', () => {
  let kube: TestKube;
  let pd: PagerDutyFake;
  let t: TestBot;
  const DAVE = 'U0DAVE001';

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    pd = await startPagerDutyFake({
      token: PD_TOKEN,
      users: [
        { id: 'PALICE01', name: 'Alice Ops', email: 'alice@example.com' },
        { id: 'PCAROL01', name: 'Carol Ops', email: 'carol@example.com' },
        { id: 'PBOB0001', name: 'Bob Ops', email: 'bob@example.com' },
      ],
      // Alice (who asks) is level 1, Carol level 2 of a second policy: both on call now.
      escalationPolicies: [
        { id: 'PEPOPS1', name: 'Ops on-call', levels: [{ userIds: ['PALICE01'], scheduleId: 'PSCH1' }] },
        {
          id: 'PEPDB01',
          name: 'Database on-call',
          levels: [{ userIds: ['PBOB0001'] }, { userIds: ['PCAROL01'], scheduleId: 'PSCH1' }],
        },
      ],
      schedules: [{ id: 'PSCH1', name: 'Ops weekly' }],
    });
    t = await startTestBot({
      env: {
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        // The operators are a user group, as most teams keep them.
        DMP_OPERATORS: 'S0OPSTEAM',
        PAGERDUTY_API_TOKEN: PD_TOKEN,
        PAGERDUTY_API_URL: pd.url,
      },
      slack: {
        usergroups: { S0OPSTEAM: [DAVE, ALICE, CAROL, BOB] },
        users: {
          [ALICE]: { name: 'alice', real_name: 'Alice Ops', email: 'alice@example.com' },
          [BOB]: { name: 'bob', real_name: 'Bob Ops', email: 'bob@example.com' },
          [CAROL]: { name: 'carol', real_name: 'Carol Ops', email: 'carol@example.com' },
          [DAVE]: { name: 'dave', real_name: 'Dave Ops', email: 'dave@example.com' },
        },
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await pd?.close();
    await kube?.close();
  });

  it("DMs the group's on-call members first (any policy, any level), then the rest, never the requester though on call", async () => {
    const { message } = await slashShown(t, 'rollback api');
    const opened = t.slack.callsTo('views.open').length;
    await press(t, message!, 'Confirm');
    const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
    const view = call.args.view as { private_metadata: string };
    const submitted = await t.submit({
      user: ALICE,
      view: {
        callback_id: REASON_MODAL,
        private_metadata: view.private_metadata,
        state: { values: { [REASON_BLOCK]: { [REASON_INPUT]: { type: 'plain_text_input', value: 'bad release' } } } },
      },
    });
    expect(submitted.status).toBe(200);
    const dms = () =>
      t.slack
        .callsTo('chat.postMessage')
        .filter((c) => [ALICE, BOB, CAROL, DAVE].includes(String(c.args.channel)))
        .map((c) => ({ to: String(c.args.channel), text: String(c.args.text) }));
    await until(() => dms().length >= 3 || undefined, 'the approval DMs');
    const sent = dms();
    expect(
      sent
        .slice(0, 2)
        .map((d) => d.to)
        .sort(),
    ).toEqual([BOB, CAROL].sort());
    for (const d of sent.slice(0, 2)) expect(d.text).toContain('You are on call now');
    expect(sent[2]).toMatchObject({ to: DAVE });
    expect(sent[2]?.text).not.toContain('on call');
    expect(sent.map((d) => d.to)).not.toContain(ALICE);
    expect(sent).toHaveLength(3);
  });
});
