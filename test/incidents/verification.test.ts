// Verified mitigation and the recent-deploy call-out, against the Kubernetes fake and a real
// Redis: a restart that brings the dead workers back is verified ("Dead workers: critical →
// ok"), one that does not is said to leave them critical and makes Resolve ask first; the
// post-mortem's time to mitigate is the first verification that found nothing critical; and a
// deploy ten minutes before the page is called out first in the diagnosis with its Rollback.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/duration.js';
import { createTestRedis, REDIS_URL, seedWorkers, type TestRedis } from '../helpers/redis.js';
import {
  ALICE,
  controls,
  eventually,
  INCIDENTS,
  restartWorkersFromThread,
  settled,
  startWorld,
  textOf,
  type World,
} from './world.js';

describe('verification after a remediation, and recent deployments', () => {
  let w: World;
  let kube: KubeFake;
  let r: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'inc-verify-'));

  beforeAll(async () => {
    // A rollout takes a few seconds, as the real one does: the new workers register meanwhile.
    kube = await startKubeFake({ rolloutDelayMs: 2_500 });
    seedPlatform(kube);
    r = await createTestRedis();
    w = await startWorld({
      KUBECONFIG: kube.writeKubeconfig(dir),
      DMP_OPERATORS: ALICE,
      DMP_REDIS_URL: REDIS_URL,
      DMP_REDIS_PREFIX: r.prefix,
      ROLLOUT_POLL_INTERVAL: '200ms',
      CHECK_DEADLINE: '3s',
    });
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
    await kube?.close();
    await r?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  const current = (root: SlackMessage): SlackMessage => w.slack.message(INCIDENTS, root.ts) as SlackMessage;
  const replyWith = (root: SlackMessage, text: string, ms = 20_000) =>
    eventually(() => w.replies(root.ts).find((m) => m.text.includes(text)), ms, `a reply with "${text}"`);

  async function deadWorkers(): Promise<void> {
    await r.redis.del('workers', 'worker_heartbeats', 'scan_queue');
    await seedWorkers(r.redis, { queue: 4, alive: ['worker-1'], dead: ['worker-2', 'worker-3'] });
  }

  /** The workers the new pods run register with fresh heartbeats, as they do on start. */
  async function workersBack(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    for (const id of ['worker-1', 'worker-2', 'worker-3']) await r.redis.zadd('worker_heartbeats', now, id);
  }

  async function pageAndRestart(title: string, fix: boolean) {
    const inc = await w.pd.triggerIncident({ title, serviceId: 'PDMPWRK', urgency: 'high' });
    const root = await eventually(() => w.roots().find((m) => m.text.includes(title)), 10_000, 'the root');
    const diagnosis = await replyWith(root, 'Scans stuck in pending');
    expect(textOf(diagnosis)).toContain('Dead workers');
    const before = kube.listReplicaSets('scan-workers').length;
    await restartWorkersFromThread(w, root, diagnosis);
    await eventually(() => kube.listReplicaSets('scan-workers').length > before, 10_000, 'a new ReplicaSet');
    if (fix) await workersBack();
    const verification = await replyWith(root, 'Verification after', 30_000);
    return { inc, root, verification };
  }

  it('verifies a restart that brings the dead workers back, and the post-mortem times the mitigation by it', async () => {
    await deadWorkers();
    const { inc, root, verification } = await pageAndRestart('Workers dead, scans stuck (eu-1)', true);
    expect(verification.text).toMatch(/^Verification after Restart scan-workers/);
    expect(verification.text).toContain('Dead workers: critical → ok');
    expect(verification.text).toContain('Nothing critical');

    const v = await eventually(
      async () =>
        (
          await w.db.client.query<{ at: Date; changes: unknown; critical: boolean }>(
            `SELECT at, changes, critical FROM incident_verifications WHERE incident_id = $1 AND trigger = 'remediation'`,
            [inc.id],
          )
        ).rows[0],
      10_000,
      'the verification recorded',
    );
    expect(v?.critical).toBe(false);
    expect(v?.changes).toEqual(expect.arrayContaining([{ check: 'Dead workers', before: 'critical', after: 'ok' }]));
    // The timeline records it once the reply is out.
    const timeline = await eventually(
      async () => {
        const rows = (
          await w.db.client.query<{ text: string }>(
            `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'verification'`,
            [inc.id],
          )
        ).rows.map((x) => x.text);
        return rows.length ? rows : undefined;
      },
      10_000,
      'the verification in the timeline',
    );
    expect(timeline.join('\n')).toContain('Dead workers: critical → ok');

    // Not critical any more: Resolve resolves at once, and the post-mortem times the mitigation.
    const resolve = controls(current(root)).find((c) => c.label === 'Resolve');
    await w.click({
      actionId: resolve?.action_id ?? '',
      value: resolve?.value,
      blockId: resolve?.block_id,
      messageTs: root.ts,
    });
    await replyWith(root, 'Resolved by');
    await settled(w, 20_000);
    const [row] = (
      await w.db.client.query<{ triggered_at: Date; acknowledged_at: Date | null; resolved_at: Date }>(
        'SELECT triggered_at, acknowledged_at, resolved_at FROM incidents WHERE id = $1',
        [inc.id],
      )
    ).rows;
    const file = await eventually(
      () => w.slack.files.find((f) => f.thread_ts === root.ts && f.name.endsWith('.md')),
      10_000,
      'the post-mortem file',
    );
    const toMitigate = formatDuration((v?.at.getTime() ?? 0) - (row?.triggered_at.getTime() ?? 0));
    expect(file.content).toContain(`**Time to mitigate:** ${toMitigate} (first verification with nothing critical)`);
    expect(file.content).toContain(
      `**Time to resolve:** ${formatDuration((row?.resolved_at.getTime() ?? 0) - (row?.triggered_at.getTime() ?? 0))}`,
    );
    expect(file.content).toContain('## Remediations (verified by the bot)');
    expect(file.content).toMatch(/Restart scan-workers \| .*Dead workers: critical → ok.* \| nothing critical/);
    const pmPost = w.replies(root.ts).find((m) => m.text.startsWith('Post-mortem for'));
    expect(textOf(pmPost)).toContain('Time to mitigate');
    expect(textOf(pmPost)).toContain(toMitigate);
  }, 120_000);

  it('says a restart that leaves them dead did not fix it, and Resolve then asks for confirmation with the reason', async () => {
    await deadWorkers();
    const { inc, root, verification } = await pageAndRestart('Workers dead again, scans stuck (eu-2)', false);
    expect(verification.text).toContain('Verification after Restart scan-workers');
    expect(verification.text).not.toContain('Dead workers: critical → ok');
    expect(verification.text).toMatch(/Still wrong: .*Dead workers \(critical\): 2 without a heartbeat/);
    expect(verification.text).toContain('Still critical');

    const views = w.slack.views.size;
    const resolve = controls(current(root)).find((c) => c.label === 'Resolve');
    await w.click({
      actionId: resolve?.action_id ?? '',
      value: resolve?.value,
      blockId: resolve?.block_id,
      messageTs: root.ts,
    });
    const modal = await eventually(
      () => [...w.slack.views.values()].slice(views).find((v) => v.callback_id === 'incident_resolve_confirm'),
      8_000,
      'the confirmation',
    );
    expect(JSON.stringify(modal.blocks)).toContain('Dead workers');
    // Nothing resolved yet: only the confirmation does it.
    const state = async () =>
      (await w.db.client.query<{ pd_status: string }>('SELECT pd_status FROM incidents WHERE id = $1', [inc.id]))
        .rows[0]?.pd_status;
    expect(await state()).not.toBe('resolved');
    expect(w.pd.requests.some((q) => q.method === 'PUT' && q.path === `/incidents/${inc.id}`)).toBe(false);

    await w.submit({ callback_id: 'incident_resolve_confirm', private_metadata: inc.id, values: {} });
    await eventually(async () => (await state()) === 'resolved', 10_000, 'resolved after confirming');
    const confirmed = await eventually(
      async () =>
        (
          await w.db.client.query<{ text: string }>(
            `SELECT text FROM incident_timeline WHERE incident_id = $1 AND text LIKE 'Resolved although the latest verification was critical%'`,
            [inc.id],
          )
        ).rows[0],
      10_000,
      'the confirmed resolution in the timeline',
    );
    expect(confirmed.text).toContain('Dead workers');
  }, 120_000);

  it('calls out a deploy ten minutes before the page first, with its Rollback button', async () => {
    kube.updateDeployment(
      'api',
      (d) => {
        const c = d.spec.template.spec.containers[0];
        if (c) c.image = 'ghcr.io/dmp/api:1.2.4';
        d.metadata.annotations = {
          ...d.metadata.annotations,
          'kubernetes.io/change-cause': 'release 1.2.4 (deploy #460)',
        };
      },
      { at: new Date(Date.now() - 10 * 60_000) },
    );
    await w.pd.triggerIncident({
      title: 'Authentication failures: 401 rate above 5%',
      serviceId: 'PDMPWRK',
      urgency: 'high',
    });
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Authentication failures: 401')),
      10_000,
      'the root',
    );
    const diagnosis = await eventually(
      () => w.replies(root.ts).find((m) => textOf(m).includes('Automatic diagnosis')),
      20_000,
      'the automatic diagnosis',
    );
    const blocks = (diagnosis.blocks ?? []) as Array<{ type: string; text?: { text?: string } }>;
    const firstFinding = blocks.find((b) => b.type === 'section' && b.text?.text && !b.text.text.startsWith('*Next'));
    expect(firstFinding?.text?.text).toContain('Recent deployments');
    expect(firstFinding?.text?.text).toContain('api revision 4');
    expect(firstFinding?.text?.text).toContain('10m before the page');
    const rollback = controls(diagnosis).find((c) => c.label.startsWith('Rollback api'));
    expect(rollback?.label).toBe('Rollback api to revision 3');
    expect(JSON.parse(rollback?.value ?? '{}')).toEqual({
      remedy: 'rollback-deployment',
      params: { deployment: 'api', revision: 3 },
    });
    // It goes through the safety layer: a preview with Confirm, nothing rolled back yet.
    const revisionBefore = kube.getDeployment('api')?.metadata.annotations?.['deployment.kubernetes.io/revision'];
    await w.click({
      actionId: rollback?.action_id ?? '',
      value: rollback?.value,
      blockId: rollback?.block_id,
      messageTs: diagnosis.ts,
      threadTs: root.ts,
    });
    await eventually(
      () => w.replies(root.ts).find((m) => controls(m).some((c) => c.label === 'Confirm') && textOf(m).includes('api')),
      10_000,
      'the rollback preview',
    );
    expect(kube.getDeployment('api')?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe(revisionBefore);
  }, 60_000);
});
