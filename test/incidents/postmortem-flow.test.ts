// The post-mortem document end to end, against the Kubernetes fake and a real Redis: a page whose
// diagnosis finds two dead workers, command taken and handed over, a restart from the thread that
// brings the workers back, Resolve — and the document names the commanders and when, the
// verification (green), the restart with who ran it and its readings before and after, and the
// dead workers over the incident, drawn as a PNG uploaded beside the file whose numbers are the
// document's.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chartDataOf } from '../helpers/png.js';
import { createTestRedis, REDIS_URL, seedWorkers, type TestRedis } from '../helpers/redis.js';
import {
  ALICE,
  controls,
  eventually,
  INCIDENTS,
  LEAD,
  restartWorkersFromThread,
  settled,
  startWorld,
  type World,
} from './world.js';

const stamp = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19);

describe('the post-mortem document of an incident worked in its thread', () => {
  let w: World;
  let kube: KubeFake;
  let r: TestRedis;
  const dir = mkdtempSync(join(tmpdir(), 'inc-pmflow-'));

  beforeAll(async () => {
    kube = await startKubeFake({ rolloutDelayMs: 1_500 });
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
  const press = async (root: SlackMessage, label: string, user = ALICE) => {
    const b = controls(current(root)).find((c) => c.label === label);
    if (!b) throw new Error(`no ${label} control`);
    return w.click({ actionId: b.action_id, value: b.value, blockId: b.block_id, messageTs: root.ts, user });
  };

  it('names the roles, the verification, the restart with its readings, and charts the dead workers', async () => {
    await seedWorkers(r.redis, { queue: 4, alive: ['worker-1'], dead: ['worker-2', 'worker-3'] });
    const title = 'Workers dead | scans *stuck* (eu-3)';
    const inc = await w.pd.triggerIncident({ title, serviceId: 'PDMPWRK', urgency: 'high' });
    const root = await eventually(() => w.roots().find((m) => m.text.includes('Workers dead')), 10_000, 'the root');
    const diagnosis = await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Scans stuck in pending')),
      20_000,
      'the diagnosis',
    );
    // Command taken, then handed over.
    await press(root, 'Take command', ALICE);
    await eventually(() => JSON.stringify(current(root).blocks).includes(`<@${ALICE}>`), 8_000, 'Alice commands');
    await press(root, 'Take command', LEAD);
    await eventually(() => JSON.stringify(current(root).blocks).includes(`<@${LEAD}>`), 8_000, 'Lee commands');
    // The restart brings the workers back (they register with fresh heartbeats as they start).
    const replicaSets = kube.listReplicaSets('scan-workers').length;
    await restartWorkersFromThread(w, root, diagnosis);
    await eventually(() => kube.listReplicaSets('scan-workers').length > replicaSets, 10_000, 'a new ReplicaSet');
    const now = Math.floor(Date.now() / 1000);
    for (const id of ['worker-1', 'worker-2', 'worker-3']) await r.redis.zadd('worker_heartbeats', now, id);
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.startsWith('Verification after Restart scan-workers')),
      30_000,
      'the verification',
    );
    await settled(w, 20_000);
    await press(root, 'Resolve', ALICE);
    const md = await eventually(
      () => w.slack.files.find((f) => f.thread_ts === root.ts && f.name.endsWith('.md')),
      15_000,
      'the post-mortem file',
    );
    const png = await eventually(
      () => w.slack.files.find((f) => f.thread_ts === root.ts && f.name.endsWith('-dead-workers.png')),
      15_000,
      'the chart',
    );
    await settled(w, 20_000);

    const doc = md.content;
    // The title as written: its Markdown characters escaped, not stripped.
    expect(doc).toContain('# Post-mortem: Workers dead \\| scans \\*stuck\\* (eu-3)');
    // Roles: the hand-over, with its time.
    const roles = (
      await w.db.client.query<{ at: Date }>(
        `SELECT at FROM incident_timeline WHERE incident_id = $1 AND kind = 'role' ORDER BY id`,
        [inc.id],
      )
    ).rows.map((x) => stamp(x.at));
    expect(roles).toHaveLength(2);
    expect(doc).toContain(`- **Commander:** Lee Lead (since ${roles[1]} UTC)`);
    expect(doc).toContain(`| Commander | Alice Ops | ${roles[0]} | ${roles[1]} | Take command |`);
    expect(doc).toContain(`| Commander | Lee Lead | ${roles[1]} | the end | handed over from Alice Ops |`);
    // The verification and the remediation, from what was recorded.
    const vs = (
      await w.db.client.query<{ at: Date; trigger: string; signals: Record<string, number>; actor: unknown }>(
        'SELECT at, trigger, signals, actor FROM incident_verifications WHERE incident_id = $1 ORDER BY id',
        [inc.id],
      )
    ).rows;
    expect(vs.map((v) => [v.trigger, v.signals['Dead workers']])).toEqual([
      ['diagnosis', 2],
      ['remediation', 0],
    ]);
    expect(vs[1]?.actor).toEqual({ source: 'slack', slackId: ALICE });
    const [diagnosedAt, restartedAt] = vs.map((v) => v.at) as [Date, Date];
    const restartAt = stamp(restartedAt);
    expect(doc).toContain(`| ${restartAt} | Restart scan-workers | green: nothing critical | `);
    expect(doc).toMatch(
      new RegExp(
        `\\| ${restartAt} \\| Restart scan-workers \\| Alice Ops \\| Dead workers: critical → ok \\(“2 without a heartbeat for over 5 minutes: worker-2, worker-3” → “[^”]+”\\).*; Dead workers: 2 → 0 workers \\| nothing critical \\|`,
      ),
    );
    // The key signal: its samples in the document, its chart beside it.
    expect(doc).toContain('## Key signal: Dead workers');
    expect(doc).toContain(`![Dead workers over the incident](${png.name})`);
    expect(doc).toContain(`| ${stamp(diagnosedAt)} | 2 | diagnosis |`);
    expect(doc).toContain(`| ${restartAt} | 0 | verification after Restart scan-workers |`);
    expect([...png.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.bytes.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(png.bytes.readUInt32BE(16)).toBeGreaterThanOrEqual(400);
    expect(png.bytes.length).toBeGreaterThan(5_000);
    expect(chartDataOf(png.bytes)).toEqual({
      signal: 'Dead workers',
      unit: 'workers',
      points: [
        { at: diagnosedAt.toISOString(), value: 2, sampledBy: 'diagnosis' },
        { at: restartedAt.toISOString(), value: 0, sampledBy: 'verification after Restart scan-workers' },
      ],
    });
    // The thread's post-mortem names the chart; /dmp postmortem attaches it too.
    const post = w.replies(root.ts).find((m) => m.text.startsWith('Post-mortem for'));
    expect(JSON.stringify(post?.blocks)).toContain(png.name);
    const files = w.slack.files.length;
    await w.slash(`postmortem ${inc.id}`);
    await eventually(
      () => w.slack.files.slice(files).find((f) => f.name === png.name),
      15_000,
      'the chart with /dmp postmortem',
    );
  }, 120_000);
});
