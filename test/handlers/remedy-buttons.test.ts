// The runbook's "Scans Stuck in Pending" resolutions carried out from the diagnosis reply itself:
// its Restart, Scale and Mark-failed buttons lead to a preview in the reply's thread, a
// confirmation, and the change on the real platform (Kubernetes fake, PostgreSQL).

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCAN_FAIL_MODAL, SCAN_ID_BLOCK, SCAN_ID_INPUT } from '../../src/blocks/remediation-ids.js';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { createTestRedis, REDIS_URL, seedWorkers, type TestRedis } from '../helpers/redis.js';
import { ALICE, buttonsOf, press, slashShown, textOf, thread, until } from '../helpers/remediation.js';

describe('the scans-stuck reply’s remedy buttons', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let kube: TestKube;
  let t: TestBot;
  let diagnosis: SlackMessage;
  const oldest = '6f1c1b7e-0000-4000-8000-000000000001';

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    redis = await createTestRedis();
    kube = await startTestKube();
    seedPlatform(kube.fake);
    await db.client.query(
      `INSERT INTO repositories (id, tenant_id, name) VALUES ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', 'acme/api')`,
    );
    await db.client.query(
      `INSERT INTO scans (id, repository_id, status, created_at) VALUES ($1, '11111111-1111-4111-8111-111111111111', 'pending', now() - interval '30 minutes')`,
      [oldest],
    );
    await db.client.query(
      `INSERT INTO scans (id, repository_id, status, created_at) VALUES ('6f1c1b7e-0000-4000-8000-000000000002', '11111111-1111-4111-8111-111111111111', 'pending', now() - interval '10 minutes')`,
    );
    await seedWorkers(redis.redis, { queue: 42, alive: ['worker-1'], dead: ['worker-3'] });
    t = await startTestBot({
      env: {
        DMP_DATABASE_URL: db.url,
        DMP_REDIS_URL: REDIS_URL,
        DMP_REDIS_PREFIX: redis.prefix,
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        DMP_OPERATORS: ALICE,
        ROLLOUT_POLL_INTERVAL: '50ms',
        ROLLOUT_TIMEOUT: '5s',
      },
    });
    const shown = await slashShown(t, 'scans stuck');
    diagnosis = shown.message!;
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  const previewIn = (label: string) =>
    until(
      () =>
        thread(t, diagnosis.ts).find(
          (m) => m.text.startsWith(`Confirm: ${label}`) && buttonsOf(m).some((b) => b.label === 'Confirm'),
        ),
      `the preview of ${label}`,
    );

  it('restarts the workers from the Restart button, with no second operator', async () => {
    await press(t, diagnosis, /^Restart/);
    const preview = await previewIn('Restart scan-workers');
    await press(t, preview, 'Confirm');
    const outcome = await until(
      () => thread(t, diagnosis.ts).find((m) => m.text.startsWith('Restart scan-workers:')),
      'the restart outcome',
    );
    expect(outcome.text).toContain('successfully rolled out');
    expect(
      kube.fake.getDeployment('scan-workers')?.spec.template.metadata.annotations?.[
        'kubectl.kubernetes.io/restartedAt'
      ],
    ).toBeTruthy();
  });

  it('scales the workers from the Scale button to the number it names', async () => {
    const label = (buttonsOf(diagnosis).find((b) => b.label.startsWith('Scale'))?.label ?? '').replace(/^Scale /, '');
    expect(label).toBe('scan-workers to 5');
    await press(t, diagnosis, /^Scale/);
    const preview = await previewIn('Scale scan-workers to 5');
    expect(textOf(preview)).toContain('replicas 3 → 5');
    await press(t, preview, 'Confirm');
    await until(
      () => thread(t, diagnosis.ts).find((m) => m.text.startsWith('Scale scan-workers to 5:')),
      'the scale outcome',
    );
    expect(kube.fake.getDeployment('scan-workers')?.spec.replicas).toBe(5);
  });

  it('marks the oldest stuck scan failed from the Mark failed button, through its modal', async () => {
    const opened = t.slack.callsTo('views.open').length;
    await press(t, diagnosis, /^Mark .*failed/);
    const call = await until(() => t.slack.callsTo('views.open')[opened], 'the modal');
    const view = call.args.view as {
      callback_id: string;
      private_metadata: string;
      blocks: Array<{ type: string; block_id?: string; element?: { initial_value?: string } }>;
    };
    expect(view.callback_id).toBe(SCAN_FAIL_MODAL);
    const first = view.blocks.find((b) => b.type === 'input');
    expect(first?.block_id).toBe(SCAN_ID_BLOCK);
    expect(first?.element?.initial_value).toBe(oldest);
    const res = await t.submit({
      user: ALICE,
      view: {
        callback_id: SCAN_FAIL_MODAL,
        private_metadata: view.private_metadata,
        state: { values: { [SCAN_ID_BLOCK]: { [SCAN_ID_INPUT]: { type: 'plain_text_input', value: oldest } } } },
      },
    });
    expect(res.status).toBe(200);
    await until(
      () => thread(t, diagnosis.ts).find((m) => m.text.includes(`scan ${oldest} marked failed`)),
      'the outcome',
    );
    const row = (await db.client.query('SELECT status, error_message FROM scans WHERE id = $1', [oldest])).rows[0];
    expect(row).toEqual({ status: 'failed', error_message: 'Timeout - manual intervention' });
  });
});
