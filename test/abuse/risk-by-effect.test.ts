// Risk judged by what an action would do, however it was asked for: terminating every query a
// preview listed is "terminate all" (ticked, named or left unpicked), scaling to zero, and a
// rollback of api each need a reason (and a second operator); scaling past SCALE_MAX is refused.
// Each way of asking goes through the signed Slack receiver, against real PostgreSQL backends
// and the Kubernetes fake, and nothing is terminated or patched before the reason.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pickBlockId } from '../../src/blocks/remediation.js';
import { REASON_MODAL, REMEDIATION_PICK } from '../../src/blocks/remediation-ids.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ALICE, button, press, slashShown, textOf, thread, tick, until } from '../helpers/remediation.js';

interface Sleeper {
  pid: number;
  client: pg.Client;
  done: Promise<string>;
}

describe('abuse: risk is judged by effect', () => {
  let db: TestDatabase;
  let kube: TestKube;
  let t: TestBot;
  let sleepers: Sleeper[] = [];

  async function sleep(n: number): Promise<Sleeper[]> {
    const started = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const client = new pg.Client({ connectionString: db.url, application_name: `export-${i}` });
        await client.connect();
        client.on('error', () => {});
        const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
        const done = client.query('SELECT pg_sleep(120)').then(
          () => 'finished',
          (err: Error) => err.message,
        );
        return { pid, client, done };
      }),
    );
    await until(
      async () =>
        (
          await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'active'`, [
            started.map((s) => s.pid),
          ])
        ).rowCount === n,
      'the sleeping backends',
    );
    sleepers.push(...started);
    return started;
  }

  const alive = async (pids: number[]) =>
    (await db.client.query('SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1)', [pids])).rowCount;

  const row = async (id: string) =>
    (
      await t.bot.deps.store.query<{ state: string; high_risk: boolean; params: Record<string, unknown> }>(
        'SELECT state, high_risk, params FROM remediation_actions WHERE id = $1',
        [id],
      )
    )[0];

  /** Presses Confirm and expects the reason form, with the action held back (pending, high risk). */
  async function expectReasonAsked(message: SlackMessage, state?: Record<string, Record<string, unknown>>) {
    const id = button(message, 'Confirm').value;
    const opened = t.slack.callsTo('views.open').length;
    expect((await press(t, message, 'Confirm', ALICE, state)).status).toBe(200);
    const call = await until(() => t.slack.callsTo('views.open').slice(opened)[0], 'the reason form');
    const view = call.args.view as { callback_id: string; private_metadata: string };
    expect(view.callback_id).toBe(REASON_MODAL);
    expect(view.private_metadata).toContain(id);
    expect(await row(id)).toMatchObject({ state: 'pending', high_risk: true });
  }

  /** A diagnosis reply's remedy button, as Slack would send it with whatever value it carries. */
  async function remedyButton(remedy: string, params: Record<string, unknown>, messageTs: string) {
    const before = t.slack.messages.length;
    const res = await t.click({
      actionId: `remedy:${remedy}:1`,
      value: JSON.stringify({ remedy, params }),
      messageTs,
      user: ALICE,
    });
    expect(res.status).toBe(200);
    return until(
      () => t.slack.messages.slice(before).find((m) => m.thread_ts === messageTs),
      'the preview from the button',
    );
  }

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    kube = await startTestKube();
    seedPlatform(kube.fake);
    t = await startTestBot({
      env: {
        DMP_DATABASE_URL: db.url,
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        DMP_OPERATORS: ALICE,
        SCALE_MIN: '0',
      },
    });
  });

  afterEach(async () => {
    for (const s of sleepers) {
      await db.client.query('SELECT pg_terminate_backend($1)', [s.pid]).catch(() => {});
      await s.client.end().catch(() => {});
    }
    sleepers = [];
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
    await db?.drop();
  });

  describe('terminating every listed query is terminate all', () => {
    it('when every box is ticked before Confirm', async () => {
      const backends = await sleep(2);
      const { message } = await slashShown(t, 'db terminate 0');
      const id = button(message, 'Confirm').value;
      const values = backends.map((b) => String(b.pid));
      expect((await tick(t, message!, pickBlockId(id), REMEDIATION_PICK, values)).status).toBe(200);
      await until(
        async () => ((await row(id))?.params.selected as number[] | undefined)?.length === 2,
        'the pick to be kept',
      );
      await expectReasonAsked(message!);
      expect(await alive(backends.map((b) => b.pid))).toBe(2);
    });

    it('when the Confirm press carries every box ticked in its state', async () => {
      const backends = await sleep(2);
      const { message } = await slashShown(t, 'db terminate 0');
      const id = button(message, 'Confirm').value;
      await expectReasonAsked(message!, {
        [pickBlockId(id)]: {
          [REMEDIATION_PICK]: {
            type: 'checkboxes',
            selected_options: backends.map((b) => ({
              text: { type: 'plain_text', text: `pid ${b.pid}` },
              value: String(b.pid),
            })),
          },
        },
      });
      expect(await alive(backends.map((b) => b.pid))).toBe(2);
    });

    it('when the command names every listed pid', async () => {
      const backends = await sleep(2);
      const { message } = await slashShown(t, `db terminate 0 ${backends.map((b) => b.pid).join(' ')}`);
      expect(textOf(message)).toContain('High risk');
      await expectReasonAsked(message!);
      expect(await alive(backends.map((b) => b.pid))).toBe(2);
    });

    it('when nothing is picked, from the command or a diagnosis button', async () => {
      const backends = await sleep(1);
      const { message } = await slashShown(t, 'db terminate 0');
      expect(textOf(message)).toContain('High risk');
      await expectReasonAsked(message!);
      const shown = await remedyButton('terminate-queries', { minutes: 0 }, '1700000555.000100');
      expect(textOf(shown)).toContain('High risk');
      await expectReasonAsked(shown);
      expect(await alive(backends.map((b) => b.pid))).toBe(1);
    });

    it('while naming some of them is not, and a pid the preview did not list is never a target', async () => {
      const [a, b] = (await sleep(2)) as [Sleeper, Sleeper];
      const { message } = await slashShown(t, `db terminate 0 ${a.pid}`);
      expect(textOf(message)).not.toContain('High risk');
      await press(t, message!, 'Confirm');
      await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('Terminate queries')),
        'the termination outcome',
      );
      expect(await a.done).toMatch(/administrator command/);
      expect(await alive([b.pid])).toBe(1);

      const stranger = await t.slash('db terminate 0 999999');
      expect(allText(stranger.json)).toContain('None of the pids named');
      expect(allText(stranger.json)).not.toContain('Confirm');
      expect(await alive([b.pid])).toBe(1);
    });
  });

  describe('scaling to zero is high risk', () => {
    const scalePatches = () =>
      kube.fake.requests.filter(
        (r) => r.method === 'PATCH' && r.path.split('?')[0]?.endsWith('/deployments/scan-workers/scale'),
      );

    for (const text of ['scale scan-workers 0', 'scale scan-workers --replicas=0', 'scale scan-workers 00']) {
      it(`from the command \`/dmp ${text}\``, async () => {
        const before = scalePatches().length;
        const { message } = await slashShown(t, text);
        expect(textOf(message)).toContain('High risk');
        await expectReasonAsked(message!);
        expect(scalePatches()).toHaveLength(before);
        expect(kube.fake.getDeployment('scan-workers')?.spec.replicas).toBe(3);
      });
    }

    it('from a diagnosis button carrying 0 (as a number or a string)', async () => {
      const before = scalePatches().length;
      for (const [i, replicas] of [0, '0'].entries()) {
        const shown = await remedyButton(
          'scale-deployment',
          { deployment: 'scan-workers', replicas },
          `170000060${i}.000100`,
        );
        expect(textOf(shown)).toContain('High risk');
        await expectReasonAsked(shown);
      }
      expect(scalePatches()).toHaveLength(before);
    });

    it('and scaling past SCALE_MAX is refused every way, with nothing patched', async () => {
      const before = scalePatches().length;
      for (const text of ['scale scan-workers 21', 'scale scan-workers --replicas=500']) {
        const res = await t.slash(text, { user: ALICE });
        expect(allText(res.json)).toContain('outside the allowed range');
        expect(allText(res.json)).not.toContain('Confirm');
      }
      const ephemerals = t.slack.ephemerals.length;
      await t.click({
        actionId: 'remedy:scale-deployment:1',
        value: JSON.stringify({ remedy: 'scale-deployment', params: { deployment: 'scan-workers', replicas: 999 } }),
        messageTs: '1700000700.000100',
        user: ALICE,
      });
      const told = await until(() => t.slack.ephemerals.slice(ephemerals)[0], 'the refusal');
      expect(told.text).toContain('outside the allowed range');
      expect(scalePatches()).toHaveLength(before);
    });
  });

  describe('rolling api back is high risk', () => {
    const apiPatches = () =>
      kube.fake.requests.filter((r) => r.method === 'PATCH' && r.path.split('?')[0]?.endsWith('/deployments/api'));

    for (const text of ['rollback api', 'rollback api 1', 'rollback api --to-revision=2']) {
      it(`from the command \`/dmp ${text}\``, async () => {
        const before = apiPatches().length;
        const { message } = await slashShown(t, text);
        expect(textOf(message)).toContain('High risk');
        await expectReasonAsked(message!);
        expect(apiPatches()).toHaveLength(before);
      });
    }

    it('from a button', async () => {
      const before = apiPatches().length;
      const shown = await remedyButton('rollback-deployment', { deployment: 'api' }, '1700000800.000100');
      expect(textOf(shown)).toContain('High risk');
      await expectReasonAsked(shown);
      expect(apiPatches()).toHaveLength(before);
    });
  });
});
