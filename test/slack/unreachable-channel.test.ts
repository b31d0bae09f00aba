// No message without a reader: a high-risk remediation requested in a private channel the bot
// is not in. The channel refuses the bot's posts (not_in_channel, and a private channel cannot
// be joined), so the approval request goes to each eligible operator by DM, Approve and all, and
// the rollout's progress and outcome reach the requester by DM.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../src/blocks/remediation-ids.js';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { ALICE, BOB, buttonsOf, CAROL, press, textOf, until } from '../helpers/remediation.js';

const PRIVATE = 'G0SECRET01';

describe('a remediation asked for in a private channel the bot is not in', () => {
  let kube: TestKube;
  let t: TestBot;

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    t = await startTestBot({
      env: {
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        DMP_OPERATORS: `${ALICE},${BOB},S0OPS0001`,
        ROLLOUT_POLL_INTERVAL: '50ms',
        ROLLOUT_TIMEOUT: '5s',
      },
      slack: {
        usergroups: { S0OPS0001: [CAROL] },
        channels: { [PRIVATE]: { name: 'ops-private', is_private: true, member: false } },
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  const dms = (user: string) => t.slack.messages.filter((m) => m.channel === user);

  it('DMs the approval request to every other operator, and the progress and outcome to the requester', async () => {
    // The command's reply is shown through response_url (Slack allows that in any channel).
    const res = await t.slash('rollback api', { user: ALICE, channel: PRIVATE });
    expect(res.status).toBe(200);
    const before = t.slack.messages.length;
    await fetch(res.responseUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(res.json),
    });
    const preview = t.slack.messages.slice(before).find((m) => m.via === 'response_url');
    expect(preview?.channel).toBe(PRIVATE);

    const opened = t.slack.callsTo('views.open').length;
    await press(t, preview!, 'Confirm', ALICE);
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

    // The channel refused the request: Bob and Carol (the group's member) each get it by DM; Alice does not.
    const toBob = await until(
      () => dms(BOB).find((m) => buttonsOf(m).some((b) => b.label === 'Approve')),
      "the request in Bob's DMs",
    );
    expect(textOf(toBob)).toContain('bad release');
    await until(
      () => dms(CAROL).find((m) => buttonsOf(m).some((b) => b.label === 'Approve')),
      "the request in Carol's DMs",
    );
    expect(dms(ALICE).some((m) => buttonsOf(m).some((b) => b.label === 'Approve'))).toBe(false);
    expect(t.slack.callsTo('conversations.join').some((c) => c.args.channel === PRIVATE)).toBe(true);

    await press(t, toBob, 'Approve', BOB);
    const outcome = await until(
      () => dms(ALICE).find((m) => m.text.startsWith('Roll back api: rolled back')),
      "the outcome in Alice's DMs",
      15_000,
    );
    expect(outcome.text).toContain('revision 3 → 2');
    expect(kube.fake.getDeployment('api')?.spec.template.spec.containers[0]?.image).toBe('ghcr.io/dmp/api:1.2.2');
    // The rollout's progress lines came along too.
    expect(dms(ALICE).some((m) => m.text.includes('following the rollout'))).toBe(true);
  });
});
