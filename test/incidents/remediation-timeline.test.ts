// A remediation carried out in an incident's thread — pressed, confirmed, done — lands in that
// incident's timeline with its outcome, so the post-mortem tells what was done and how it went.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, eventually, INCIDENTS, restartWorkersFromThread, settled, startWorld, type World } from './world.js';

describe('a remediation in an incident thread', () => {
  let w: World;
  let kube: KubeFake;
  const dir = mkdtempSync(join(tmpdir(), 'inc-rem-'));

  beforeAll(async () => {
    kube = await startKubeFake();
    seedPlatform(kube);
    w = await startWorld({ KUBECONFIG: kube.writeKubeconfig(dir), DMP_OPERATORS: ALICE });
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('records the press and the outcome of a restart confirmed in the thread', async () => {
    const inc = await w.pd.triggerIncident({
      title: 'Workers dead, scans stuck',
      serviceId: 'PDMPWRK',
      urgency: 'high',
    });
    await settled(w);
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Workers dead, scans stuck')),
      10_000,
      'the root',
    );
    const before = kube.listReplicaSets('scan-workers').length;
    await restartWorkersFromThread(w, root, root);
    await eventually(() => kube.listReplicaSets('scan-workers').length > before, 10_000, 'a new ReplicaSet');
    const rows = await eventually(
      async () => {
        const r = (
          await w.db.client.query<{ text: string }>(
            `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'remediation' ORDER BY id`,
            [inc.id],
          )
        ).rows;
        return r.length >= 3 && r;
      },
      15_000,
      'press, confirm and outcome in the timeline',
    );
    const texts = rows.map((r) => r.text).join('\n');
    expect(texts).toMatch(/pressed/);
    const outcome = rows.map((r) => r.text).find((t) => !t.endsWith('pressed'));
    expect(outcome).toMatch(/^Remediation: .*scan-workers/);
    expect(w.slack.topLevel(INCIDENTS).filter((m) => m.text.includes('Workers dead, scans stuck'))).toHaveLength(1);
  }, 40_000);
});
