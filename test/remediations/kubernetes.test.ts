// The Kubernetes remediations end to end against the Kubernetes fake (which applies patches and
// runs a deployment controller as the API server does): restart, rollback, rollout status and
// log rotation through the exec API. The two-person rule is off here, as configuration allows.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../src/blocks/remediation-ids.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import {
  ALICE,
  auditRows,
  buttonsOf,
  CHANNEL,
  press,
  slashShown,
  textOf,
  thread,
  until,
} from '../helpers/remediation.js';

describe('Kubernetes remediations', () => {
  let kube: TestKube;
  let t: TestBot;

  const image = (name: string) => kube.fake.getDeployment(name)?.spec.template.spec.containers[0]?.image;
  const patches = (name: string) =>
    kube.fake.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith(`/deployments/${name}`));

  /** Confirms a high-risk preview: the reason modal, submitted by the same operator (rule off). */
  async function confirmWithReason(message: Parameters<typeof press>[1], reason: string): Promise<void> {
    const opened = t.slack.callsTo('views.open').length;
    await press(t, message, 'Confirm');
    const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
    const view = call.args.view as { private_metadata: string };
    const res = await t.submit({
      user: ALICE,
      view: {
        callback_id: REASON_MODAL,
        private_metadata: view.private_metadata,
        state: { values: { [REASON_BLOCK]: { [REASON_INPUT]: { type: 'plain_text_input', value: reason } } } },
      },
    });
    expect(res.status).toBe(200);
  }

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    t = await startTestBot({
      env: {
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        DMP_OPERATORS: ALICE,
        TWO_PERSON_RULE: 'off',
        ROLLOUT_POLL_INTERVAL: '50ms',
        ROLLOUT_TIMEOUT: '3s',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  it('restarts scan-workers as kubectl does: restartedAt stamped, a new ReplicaSet, the rollout followed, no second operator', async () => {
    const rsBefore = kube.fake.listReplicaSets('scan-workers').map((rs) => rs.metadata.name);
    const { message } = await slashShown(t, 'restart scan-workers');
    expect(textOf(message)).toContain('rolling restart of 3 pods');
    expect(textOf(message)).not.toContain('second operator');
    const startedAt = Date.now();
    await press(t, message!, 'Confirm');
    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith('Restart scan-workers:')),
      'the restart outcome',
    );
    expect(outcome.text).toContain('deployment "scan-workers" successfully rolled out');

    const d = kube.fake.getDeployment('scan-workers');
    const restartedAt = d?.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt'] ?? '';
    expect(restartedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(restartedAt) - startedAt)).toBeLessThan(60_000);
    const patch = patches('scan-workers').at(-1);
    expect(patch?.contentType).toContain('application/strategic-merge-patch+json');
    expect(patch?.body).toEqual({
      spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
    });
    const rsAfter = kube.fake.listReplicaSets('scan-workers');
    expect(rsAfter).toHaveLength(rsBefore.length + 1);
    const newest = rsAfter.at(-1);
    expect(rsBefore).not.toContain(newest?.metadata.name);
    expect(newest?.spec.replicas).toBe(3);
    expect(d?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('refuses to restart a paused deployment and changes nothing', async () => {
    kube.fake.updateDeployment('scan-workers', (d) => {
      d.spec.paused = true;
    });
    const before = patches('scan-workers').length;
    const { json } = await slashShown(t, 'restart scan-workers');
    expect(allText(json)).toContain('paused');
    expect(allText(json)).not.toContain('Confirm');
    expect(patches('scan-workers')).toHaveLength(before);
    kube.fake.updateDeployment('scan-workers', (d) => {
      d.spec.paused = false;
    });
  });

  it('shows the rollout history and rolls api back to a given revision exactly as kubectl rollout undo does', async () => {
    const { message } = await slashShown(t, 'rollback api 1');
    const text = textOf(message);
    expect(text).toContain('api: revision 3 → 1 (image ghcr.io/dmp/api:1.2.1');
    expect(text).toContain('revision 2 (ghcr.io/dmp/api:1.2.2; release 1.2.2: webhook retry backoff (deploy #431))');
    const rs1 = kube.fake
      .listReplicaSets('api')
      .find((rs) => rs.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1');
    const before = kube.fake.getDeployment('api');

    await confirmWithReason(message!, 'back to the release before the JWT change');
    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith('Roll back api to revision 1: rolled back')),
      'the rollback outcome',
    );
    expect(outcome.text).toContain('successfully rolled out');
    expect(image('api')).toBe('ghcr.io/dmp/api:1.2.1');

    // kubectl's patch: one JSON patch replacing the template (no pod-template-hash) and the annotations.
    const patch = patches('api').at(-1);
    expect(patch?.contentType).toContain('application/json-patch+json');
    const ops = patch?.body as Array<{ op: string; path: string; value: Record<string, unknown> }>;
    expect(ops.map((o) => `${o.op} ${o.path}`)).toEqual(['replace /spec/template', 'replace /metadata/annotations']);
    const template = ops[0]?.value as { metadata: { labels: Record<string, string> } };
    expect(template.metadata.labels).toEqual({ app: 'api' });
    const annotations = ops[1]?.value as Record<string, string>;
    expect(annotations['kubernetes.io/change-cause']).toBe(rs1?.metadata.annotations?.['kubernetes.io/change-cause']);
    expect(annotations['deployment.kubernetes.io/revision']).toBe(
      before?.metadata.annotations?.['deployment.kubernetes.io/revision'],
    );
    expect(annotations).not.toHaveProperty('deployment.kubernetes.io/desired-replicas');
    const rows = await auditRows(t, 'rollback-deployment');
    expect(rows.at(-1)).toMatchObject({ outcome: 'ok', reason: 'back to the release before the JWT change' });
  });

  it('does nothing when the template already matches the revision asked for', async () => {
    const current = kube.fake.getDeployment('api')?.metadata.annotations?.['deployment.kubernetes.io/revision'];
    const before = patches('api').length;
    const { json } = await slashShown(t, `rollback api ${current}`);
    expect(allText(json)).toContain('nothing to do');
    expect(allText(json)).toContain(`already matches revision ${current}`);
    expect(patches('api')).toHaveLength(before);
  });

  it('refuses a revision that is not in the history', async () => {
    const { json } = await slashShown(t, 'rollback api 99');
    expect(allText(json)).toContain('Unable to find revision 99');
  });

  it('reports a rollout that exceeds its progress deadline as failed', async () => {
    kube.fake.failNextRollout();
    // restartedAt has one-second resolution: a restart in the same second as the last one changes nothing.
    await new Promise((r) => setTimeout(r, 1_000 - (Date.now() % 1_000) + 50));
    const { message } = await slashShown(t, 'restart scan-workers');
    await press(t, message!, 'Confirm');
    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith('Restart scan-workers:')),
      'the failed outcome',
    );
    expect(outcome.text).toContain('ProgressDeadlineExceeded');
    await until(
      () => textOf(t.slack.message(CHANNEL, message!.ts)).includes('Failed'),
      'the confirmation marked failed',
    );
    expect((await auditRows(t, 'restart-deployment')).at(-1)?.outcome).toBe('error');
  });

  it('rotates the logs of a pod through the exec API: df before, logrotate -f, df after', async () => {
    const pod = kube.fake.pods('api')[0]?.metadata.name as string;
    const { message } = await slashShown(t, `logrotate ${pod}`);
    expect(textOf(message)).toContain('78%');
    expect(textOf(message)).toContain('/var/log');
    await press(t, message!, 'Confirm');
    const outcome = await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith(`Rotate logs in ${pod}:`)),
      'the rotation outcome',
    );
    expect(outcome.text).toContain('logs rotated');
    expect(textOf(outcome)).toContain('31%');
    const execs = kube.fake.requests.filter((r) => r.path.endsWith(`/pods/${pod}/exec`)).map((r) => r.query.command);
    expect(execs).toEqual([
      ['df', '-h', '/var/log'],
      ['logrotate', '-f', '/etc/logrotate.conf'],
      ['df', '-h', '/var/log'],
    ]);
    expect(buttonsOf(t.slack.message(CHANNEL, message!.ts))).toEqual([]);
  });

  it('execs only into pods of the platform’s deployments: another app’s pod is refused and nothing runs in it', async () => {
    kube.fake.addDeployment({ name: 'billing', image: 'billing:4.1.0', replicas: 1 });
    const pod = kube.fake.pods('billing')[0]?.metadata.name as string;
    expect(pod).toBeTruthy();
    const { json } = await slashShown(t, `logrotate ${pod}`);
    expect(allText(json)).toContain('is not one of the platform');
    expect(kube.fake.requests.filter((r) => r.path.includes(`/pods/${pod}/exec`))).toEqual([]);
  });

  it('refuses a pod name that is not a Kubernetes name before anything runs', async () => {
    const before = kube.fake.requests.length;
    const { json } = await slashShown(t, 'logrotate "api; rm -rf /"');
    expect(allText(json)).toContain('must be a Kubernetes name');
    expect(kube.fake.requests.length).toBe(before);
  });
});
