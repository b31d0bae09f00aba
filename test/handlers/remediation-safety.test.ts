// The safety layer end to end, through signed Slack requests into the real receiver and the
// Kubernetes fake: operators only, a preview before any change, once-only confirmation, the
// two-person rule for high-risk actions, expiry, cancellation, and every step in the audit log.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../src/blocks/remediation-ids.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import {
  ALICE,
  auditRows,
  BOB,
  button,
  buttonsOf,
  CAROL,
  CHANNEL,
  MALLORY,
  press,
  slashShown,
  textOf,
  thread,
  toldTo,
  until,
} from '../helpers/remediation.js';

describe('remediation safety, over signed Slack requests', () => {
  let kube: TestKube;
  let t: TestBot;

  const replicas = (name: string) => kube.fake.getDeployment(name)?.spec.replicas;
  const scalePatches = () =>
    kube.fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/scan-workers/scale'));

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
      slack: { usergroups: { S0OPS0001: [CAROL] } },
    });
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  it('refuses a non-operator, says why, changes nothing and records the refusal', async () => {
    const before = kube.fake.requests.length;
    const { json } = await slashShown(t, 'scale scan-workers 8', MALLORY);
    expect(allText(json)).toMatch(/not allowed/);
    expect(allText(json)).toMatch(/operators only/);
    expect(allText(json)).not.toContain('Confirm');
    expect(replicas('scan-workers')).toBe(3);
    expect(kube.fake.requests.slice(before).filter((r) => r.method !== 'GET')).toEqual([]);
    const refused = (await auditRows(t, 'scale-deployment')).filter((r) => r.user_id === MALLORY);
    expect(refused.map((r) => r.outcome)).toEqual(['refused']);
  });

  it("refuses a non-operator's press of an operator's Confirm", async () => {
    const { message } = await slashShown(t, 'scale scan-workers 6');
    expect(message).toBeDefined();
    const res = await press(t, message!, 'Confirm', MALLORY);
    expect(res.status).toBe(200);
    await until(() => toldTo(t, MALLORY).includes('not allowed'), 'the refusal');
    expect(toldTo(t, MALLORY)).toMatch(/operators only.*permission/);
    expect(replicas('scan-workers')).toBe(3);
    expect(buttonsOf(t.slack.message(CHANNEL, message!.ts)).map((b) => b.label)).toEqual(['Confirm', 'Cancel']);
    await press(t, message!, 'Cancel');
  });

  it('previews "replicas 3 → 8" and runs a double-clicked Confirm exactly once', async () => {
    const { message } = await slashShown(t, 'scale scan-workers 8');
    expect(textOf(message)).toContain('scan-workers: replicas 3 → 8');
    expect(buttonsOf(message).map((b) => b.label)).toEqual(['Confirm', 'Cancel']);
    expect(replicas('scan-workers')).toBe(3);
    const patchesBefore = scalePatches().length;

    const [a, b] = await Promise.all([press(t, message!, 'Confirm'), press(t, message!, 'Confirm')]);
    expect([a.status, b.status]).toEqual([200, 200]);

    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.includes('scaled')),
      'the outcome in the thread',
    );
    expect(outcome.text).toContain('replicas 3 → 8');
    expect(replicas('scan-workers')).toBe(8);
    expect(scalePatches().length - patchesBefore).toBe(1);
    expect(scalePatches().at(-1)?.contentType).toContain('application/merge-patch+json');
    expect(scalePatches().at(-1)?.body).toEqual({ spec: { replicas: 8 } });
    // The confirmation can no longer be pressed and says who did it.
    const updated = await until(() => {
      const m = t.slack.message(CHANNEL, message!.ts);
      return m && textOf(m).includes('Done') ? m : undefined;
    }, 'the updated confirmation');
    expect(buttonsOf(updated)).toEqual([]);
    expect(textOf(updated)).toContain(`confirmed by <@${ALICE}>`);
    expect(thread(t, message!.ts).filter((m) => m.text.includes('scaled'))).toHaveLength(1);
    await until(() => toldTo(t, ALICE).includes('already'), 'the second press told it was already done');
    const outcomes = (await auditRows(t, 'scale-deployment')).filter((r) => r.outcome === 'ok');
    expect(outcomes).toHaveLength(1);
    expect(outcomes[0]?.text).toContain('replicas 3 → 8');
  });

  it('refuses a replica count outside SCALE_MIN–SCALE_MAX without a preview', async () => {
    const { json } = await slashShown(t, 'scale scan-workers 50');
    expect(allText(json)).toContain('outside the allowed range 1–20');
    expect(allText(json)).not.toContain('Confirm');
  });

  it('refuses a deployment that is not the platform’s', async () => {
    const { json } = await slashShown(t, 'scale kube-dns 2');
    expect(allText(json)).toContain('not one of the platform');
  });

  it('lets a member of an operator user group act (resolved through usergroups.users.list)', async () => {
    const { message } = await slashShown(t, 'scale scan-workers 4', CAROL);
    expect(textOf(message)).toContain('replicas 8 → 4');
    expect(t.slack.callsTo('usergroups.users.list').some((c) => c.args.usergroup === 'S0OPS0001')).toBe(true);
    const asPosted = structuredClone(message!);
    await press(t, message!, 'Cancel', CAROL);
    await until(() => textOf(t.slack.message(CHANNEL, message!.ts)).includes('Cancelled'), 'the cancellation');
    expect(buttonsOf(t.slack.message(CHANNEL, message!.ts))).toEqual([]);
    await press(t, asPosted, 'Confirm', CAROL);
    await until(() => toldTo(t, CAROL).includes('cancelled'), 'the note that it was cancelled');
    expect(replicas('scan-workers')).toBe(8);
    expect((await auditRows(t, 'scale-deployment')).some((r) => r.outcome === 'cancelled' && r.user_id === CAROL)).toBe(
      true,
    );
  });

  it('does nothing when the confirmation has expired', async () => {
    const { message } = await slashShown(t, 'scale scan-workers 2');
    const id = button(message, 'Confirm').value;
    // Five minutes pass.
    await t.bot.deps.store.query(
      `UPDATE remediation_actions SET expires_at = now() - interval '1 second' WHERE id = $1`,
      [id],
    );
    const before = scalePatches().length;
    await press(t, message!, 'Confirm');
    const updated = await until(() => {
      const m = t.slack.message(CHANNEL, message!.ts);
      return m && textOf(m).includes('expired') ? m : undefined;
    }, 'the expired confirmation');
    expect(buttonsOf(updated)).toEqual([]);
    expect(replicas('scan-workers')).toBe(8);
    expect(scalePatches().length).toBe(before);
    expect((await auditRows(t, 'scale-deployment')).at(-1)?.outcome).toBe('expired');
  });

  it('posts the preview in the thread of the diagnosis whose Scale button was pressed', async () => {
    const diagnosisTs = '1700000999.000100';
    await t.click({
      actionId: 'remedy:scale-deployment:1',
      value: JSON.stringify({ remedy: 'scale-deployment', params: { deployment: 'scan-workers', replicas: 5 } }),
      messageTs: diagnosisTs,
      user: BOB,
      text: 'Scale scan-workers to 5',
    });
    const preview = await until(
      () => thread(t, diagnosisTs).find((m) => buttonsOf(m).some((b) => b.label === 'Confirm')),
      'the preview in the thread',
    );
    expect(textOf(preview)).toContain('replicas 8 → 5');
    // A second press of the same diagnosis button while the first preview waits starts nothing new.
    await t.click({
      actionId: 'remedy:scale-deployment:1',
      value: JSON.stringify({ remedy: 'scale-deployment', params: { deployment: 'scan-workers', replicas: 5 } }),
      messageTs: diagnosisTs,
      user: BOB,
    });
    await until(() => toldTo(t, BOB).includes('already waiting'), 'the duplicate note');
    expect(thread(t, diagnosisTs).filter((m) => buttonsOf(m).length)).toHaveLength(1);
    await press(t, preview, 'Confirm', BOB);
    await until(
      () => thread(t, diagnosisTs).find((m) => m.text.includes('scaled')),
      'the outcome in the diagnosis thread',
    );
    expect(replicas('scan-workers')).toBe(5);
  });

  describe('two-person rule: rolling back api', () => {
    it('asks for a reason, refuses the requester’s own approval, and runs on a second operator’s', async () => {
      const imageBefore = kube.fake.getDeployment('api')?.spec.template.spec.containers[0]?.image;
      expect(imageBefore).toBe('ghcr.io/dmp/api:1.2.3');
      const { message } = await slashShown(t, 'rollback api');
      expect(textOf(message)).toContain('api: revision 3 → 2 (image ghcr.io/dmp/api:1.2.2');
      expect(textOf(message)).toContain('second operator');

      const opened = t.slack.callsTo('views.open').length;
      await press(t, message!, 'Confirm');
      const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
      const view = call.args.view as { callback_id: string; private_metadata: string };
      expect(view.callback_id).toBe(REASON_MODAL);
      const submitted = await t.submit({
        user: ALICE,
        view: {
          callback_id: REASON_MODAL,
          private_metadata: view.private_metadata,
          state: {
            values: {
              [REASON_BLOCK]: {
                [REASON_INPUT]: { type: 'plain_text_input', value: 'JWT rotation in 1.2.3 broke logins' },
              },
            },
          },
        },
      });
      expect(submitted.status).toBe(200);

      const request = await until(
        () => thread(t, message!.ts).find((m) => buttonsOf(m).some((b) => b.label === 'Approve')),
        'the approval request',
      );
      expect(textOf(request)).toContain('JWT rotation in 1.2.3 broke logins');
      // The confirmation is updated just after the request is posted: wait for it, not race it.
      await until(
        () => buttonsOf(t.slack.message(CHANNEL, message!.ts)).length === 0,
        'the confirmation without its buttons',
      );

      await press(t, request, 'Approve', ALICE);
      await until(
        () => toldTo(t, ALICE).includes('not allowed to approve your own request'),
        'the refusal of the own approval',
      );
      expect(kube.fake.getDeployment('api')?.spec.template.spec.containers[0]?.image).toBe('ghcr.io/dmp/api:1.2.3');
      expect(
        (await auditRows(t, 'rollback-deployment')).some(
          (r) => r.outcome === 'refused' && r.user_id === ALICE && /two-person/.test(r.reason ?? ''),
        ),
      ).toBe(true);

      await press(t, request, 'Approve', BOB);
      const outcome = await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('Roll back api: rolled back')),
        'the rollback outcome',
        15_000,
      );
      expect(outcome.text).toContain('revision 3 → 2');
      expect(outcome.text).toContain('successfully rolled out');
      expect(kube.fake.getDeployment('api')?.spec.template.spec.containers[0]?.image).toBe('ghcr.io/dmp/api:1.2.2');
      const approval = t.slack.message(CHANNEL, request.ts);
      expect(buttonsOf(approval)).toEqual([]);
      expect(textOf(approval)).toContain(`Approved by <@${BOB}>`);
      const rows = await auditRows(t, 'rollback-deployment');
      expect(rows.map((r) => r.outcome)).toEqual(expect.arrayContaining(['previewed', 'refused', 'approved', 'ok']));
      expect(rows.find((r) => r.outcome === 'ok')?.reason).toBe('JWT rotation in 1.2.3 broke logins');
    });
  });
});
