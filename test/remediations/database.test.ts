// The database remediations against real PostgreSQL, end to end through Slack: marking a stuck
// scan failed through its modal (a hostile scan ID is refused inline and the table survives),
// terminating a real pg_sleep backend, and maintenance outside a transaction with progress.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REASON_MODAL,
  REMEDIATION_PICK,
  SCAN_FAIL_MODAL,
  SCAN_ID_BLOCK,
  SCAN_ID_INPUT,
} from '../../src/blocks/remediation-ids.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import {
  ALICE,
  auditRows,
  button,
  buttonsOf,
  CHANNEL,
  press,
  slashShown,
  textOf,
  thread,
  tick,
  until,
} from '../helpers/remediation.js';

const REPO = '11111111-1111-4111-8111-111111111111';
const STUCK = '6f1c1b7e-0000-4000-8000-000000000001';
const STUCK_2 = '6f1c1b7e-0000-4000-8000-000000000002';
const DONE = '6f1c1b7e-0000-4000-8000-0000000000d0';

describe('database remediations', () => {
  let db: TestDatabase;
  let t: TestBot;

  const scan = async (id: string) =>
    (
      await db.client.query<{ status: string; error_message: string | null; updated_at: Date }>(
        'SELECT status, error_message, updated_at FROM scans WHERE id = $1',
        [id],
      )
    ).rows[0];

  /** Submits the mark-scan-failed modal with `scanId` in its first input. */
  const submitScan = (privateMetadata: string, scanId: string, viewId = 'V0SCANFAIL1') =>
    t.submit({
      user: ALICE,
      view: {
        id: viewId,
        callback_id: SCAN_FAIL_MODAL,
        private_metadata: privateMetadata,
        state: { values: { [SCAN_ID_BLOCK]: { [SCAN_ID_INPUT]: { type: 'plain_text_input', value: scanId } } } },
      },
    });

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    await db.client.query(
      `INSERT INTO repositories (id, tenant_id, name) VALUES ($1, '22222222-2222-4222-8222-222222222222', 'acme/api')`,
      [REPO],
    );
    for (const id of [STUCK, STUCK_2]) {
      await db.client.query(
        `INSERT INTO scans (id, repository_id, status, created_at, updated_at) VALUES ($1, $2, 'pending', now() - interval '20 minutes', now() - interval '20 minutes')`,
        [id, REPO],
      );
    }
    await db.client.query(`INSERT INTO scans (id, repository_id, status) VALUES ($1, $2, 'completed')`, [DONE, REPO]);
    await db.client.query(`INSERT INTO nodes (scan_id, name) SELECT $1, 'pkg-' || g FROM generate_series(1, 500) g`, [
      STUCK,
    ]);
    t = await startTestBot({
      env: {
        DMP_DATABASE_URL: db.url,
        DMP_OPERATORS: ALICE,
        MAINTENANCE_PROGRESS_INTERVAL: '150ms',
        MAINTENANCE_TIMEOUT: '20s',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  describe('mark a scan failed', () => {
    it("rejects '; DROP TABLE scans;-- in the modal's first input with response_action errors, and the table stays", async () => {
      const res = await t.slash('scan fail');
      expect(res.status).toBe(200);
      const open = await until(() => t.slack.callsTo('views.open').at(-1), 'the modal');
      const view = open.args.view as {
        callback_id: string;
        private_metadata: string;
        blocks: Array<{ type: string; block_id?: string }>;
      };
      expect(view.callback_id).toBe(SCAN_FAIL_MODAL);
      expect(view.blocks.find((b) => b.type === 'input')?.block_id).toBe(SCAN_ID_BLOCK);

      const countBefore = (await db.client.query('SELECT count(*)::int AS n FROM scans')).rows[0].n;
      const bad = await submitScan(view.private_metadata, "'; DROP TABLE scans;--");
      expect(bad.status).toBe(200);
      const answer = bad.json as { response_action: string; errors: Record<string, string> };
      expect(answer.response_action).toBe('errors');
      expect(Object.keys(answer.errors)).toEqual([SCAN_ID_BLOCK]);
      expect(answer.errors[SCAN_ID_BLOCK]).toContain('not a scan ID');
      expect((await db.client.query(`SELECT to_regclass('public.scans') IS NOT NULL AS present`)).rows[0].present).toBe(
        true,
      );
      expect((await db.client.query('SELECT count(*)::int AS n FROM scans')).rows[0].n).toBe(countBefore);
      expect((await scan(STUCK))?.status).toBe('pending');
    });

    it('marks a typed scan failed on one submission, once however often the form is submitted', async () => {
      await t.slash('scan fail');
      const open = await until(() => t.slack.callsTo('views.open').at(-1), 'the modal');
      const meta = (open.args.view as { private_metadata: string }).private_metadata;
      expect((await scan(STUCK))?.status).toBe('pending');

      const results = await Promise.all([
        submitScan(meta, STUCK.toUpperCase(), 'V0SCANFAIL2'),
        submitScan(meta, STUCK, 'V0SCANFAIL2'),
      ]);
      expect(results.map((r) => r.status)).toEqual([200, 200]);
      const outcome = await until(
        () => t.slack.messages.find((m) => m.text.includes(`scan ${STUCK} marked failed`)),
        'the outcome',
      );
      expect(outcome.channel).toBe(CHANNEL);
      const row = await scan(STUCK);
      expect(row).toMatchObject({ status: 'failed', error_message: 'Timeout - manual intervention' });
      expect(Date.now() - new Date(row!.updated_at).getTime()).toBeLessThan(60_000);
      // Every listener has finished (no second outcome still on its way) before counting.
      expect(await t.bot.built.inflight.drain(10_000)).toBe(true);
      expect(t.slack.messages.filter((m) => m.text.includes(`scan ${STUCK}`))).toHaveLength(1);
      expect((await auditRows(t, 'mark-scan-failed')).filter((r) => r.outcome === 'ok')).toHaveLength(1);
    });

    it('refuses a scan that is no longer pending or running, and one that does not exist', async () => {
      const meta = JSON.stringify({ c: CHANNEL, s: DONE });
      const done = await submitScan(meta, DONE, 'V0SCANFAIL3');
      expect((done.json as { errors: Record<string, string> }).errors[SCAN_ID_BLOCK]).toContain(
        'completed, not pending or running',
      );
      expect((await scan(DONE))?.status).toBe('completed');
      const missing = await submitScan(meta, '6f1c1b7e-0000-4000-8000-00000000ffff', 'V0SCANFAIL3');
      expect((missing.json as { errors: Record<string, string> }).errors[SCAN_ID_BLOCK]).toContain('There is no scan');
    });

    it("opens from the diagnosis's Mark failed button with the scan shown, and answers in its thread", async () => {
      const diagnosisTs = '1700000888.000100';
      await t.click({
        actionId: 'remedy:mark-scan-failed:2',
        value: JSON.stringify({ remedy: 'mark-scan-failed', params: { scanId: STUCK_2 } }),
        messageTs: diagnosisTs,
        user: ALICE,
      });
      const open = await until(
        () => t.slack.callsTo('views.open').find((c) => JSON.stringify(c.args.view).includes(STUCK_2)),
        'the modal with the scan',
      );
      const view = open.args.view as { private_metadata: string; blocks: unknown[]; submit: { text: string } };
      expect(allText(view.blocks)).toContain('status: pending');
      expect(view.submit.text).toBe('Mark failed');
      const res = await submitScan(view.private_metadata, STUCK_2, 'V0SCANFAIL4');
      expect(res.body).toBe('');
      await until(
        () => thread(t, diagnosisTs).find((m) => m.text.includes(`scan ${STUCK_2} marked failed`)),
        'the outcome in the diagnosis thread',
      );
      expect((await scan(STUCK_2))?.status).toBe('failed');
    });
  });

  describe('terminate long-running queries', () => {
    it('lists a real pg_sleep backend (not the bot’s own) and terminates the one picked', async () => {
      // A second long query, left alone: picking one of two is not "terminate all" (high risk).
      const bystander = new pg.Client({ connectionString: db.url, application_name: 'bystander' });
      await bystander.connect();
      bystander.on('error', () => {});
      const bystanderPid = (await bystander.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const bystanding = bystander.query('SELECT pg_sleep(60)').catch(() => undefined);
      const victim = new pg.Client({ connectionString: db.url, application_name: 'report-export' });
      await victim.connect();
      victim.on('error', () => {});
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const sleeping = victim.query('SELECT pg_sleep(60) /* nightly export */').then(
        () => 'finished',
        (err: Error) => err.message,
      );
      await until(
        async () =>
          (
            await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'active'`, [
              [pid, bystanderPid],
            ])
          ).rowCount === 2,
        'the sleeping backends',
      );

      const { message } = await slashShown(t, 'db terminate 0');
      const text = textOf(message);
      expect(text).toContain(`pid ${pid}`);
      expect(text).toContain('pg_sleep(60)');
      expect(text).not.toContain('dmp-bot');
      const id = button(message, 'Confirm').value;

      await press(t, message!, 'Confirm', ALICE, {
        [`remediation_pick:${id}`]: {
          [REMEDIATION_PICK]: {
            type: 'checkboxes',
            selected_options: [{ text: { type: 'plain_text', text: `pid ${pid}` }, value: String(pid) }],
          },
        },
      });
      const outcome = await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('Terminate queries')),
        'the termination outcome',
      );
      expect(textOf(outcome)).toContain(`pid ${pid}: terminated`);
      expect(outcome.text).toContain('terminated 1 of 1 backend');
      expect(await sleeping).toMatch(/terminating connection due to administrator command/);
      expect((await db.client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount).toBe(0);
      expect(textOf(outcome)).not.toContain(`pid ${bystanderPid}`);
      expect((await db.client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [bystanderPid])).rowCount).toBe(1);
      await db.client.query('SELECT pg_terminate_backend($1)', [bystanderPid]);
      await bystanding;
      await victim.end().catch(() => {});
      await bystander.end().catch(() => {});
    });

    it('terminates only the backend ticked in the checkboxes, and leaves the other one alone', async () => {
      const victims = await Promise.all(
        ['export-a', 'export-b'].map(async (name) => {
          const c = new pg.Client({ connectionString: db.url, application_name: name });
          await c.connect();
          c.on('error', () => {});
          const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
          const done = c.query('SELECT pg_sleep(4)').then(
            () => 'finished',
            (err: Error) => err.message,
          );
          return { c, pid, done };
        }),
      );
      const [a, b] = victims as [(typeof victims)[0], (typeof victims)[0]];
      await until(
        async () =>
          (
            await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = ANY($1) AND state = 'active'`, [
              [a.pid, b.pid],
            ])
          ).rowCount === 2,
        'both backends',
      );
      const { message } = await slashShown(t, 'db terminate 0');
      const id = button(message, 'Confirm').value;
      expect((await tick(t, message!, `remediation_pick:${id}`, REMEDIATION_PICK, [String(b.pid)])).status).toBe(200);
      await until(async () => {
        const rows = await t.bot.deps.store.query<{ params: { selected?: number[] } }>(
          'SELECT params FROM remediation_actions WHERE id = $1',
          [id],
        );
        return rows[0]?.params.selected?.length === 1;
      }, 'the pick to be kept');
      await press(t, message!, 'Confirm');
      const outcome = await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('Terminate queries')),
        'the termination outcome',
      );
      expect(textOf(outcome)).toContain(`pid ${b.pid}: terminated`);
      expect(textOf(outcome)).not.toContain(`pid ${a.pid}`);
      expect(await b.done).toMatch(/administrator command/);
      expect(await a.done).toBe('finished');
      await Promise.all(victims.map((v) => v.c.end().catch(() => {})));
    });

    it('treats terminating all of them as high risk: a reason first, nothing terminated yet', async () => {
      const victim = new pg.Client({ connectionString: db.url, application_name: 'report-export' });
      await victim.connect();
      victim.on('error', () => {});
      const pid = (await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      const sleeping = victim.query('SELECT pg_sleep(3)').catch(() => undefined);
      await until(
        async () =>
          (await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid])).rowCount,
        'the sleeping backend',
      );
      const { message } = await slashShown(t, 'db terminate 0');
      expect(textOf(message)).toContain('second operator');
      const opened = t.slack.callsTo('views.open').length;
      await press(t, message!, 'Confirm');
      const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
      expect((call.args.view as { callback_id: string }).callback_id).toBe(REASON_MODAL);
      expect((await db.client.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount).toBe(1);
      await press(t, message!, 'Cancel');
      await sleeping;
      await victim.end();
    });
  });

  describe('maintenance', () => {
    it('creates the missing idx_nodes_scan CONCURRENTLY, with started, still running and finished in the thread', async () => {
      await db.client.query('DROP INDEX idx_nodes_scan');
      const { message } = await slashShown(t, 'db index');
      expect(textOf(message)).toContain('CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_nodes_scan ON nodes (scan_id)');

      // Another session holds a lock the concurrent build must wait for, so it runs a while.
      const holder = new pg.Client({ connectionString: db.url });
      await holder.connect();
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE nodes IN SHARE ROW EXCLUSIVE MODE');
      await press(t, message!, 'Confirm');
      await until(() => thread(t, message!.ts).find((m) => m.text.includes('still running after')), 'a progress line');
      await holder.query('COMMIT');
      await holder.end();

      const outcome = await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('Create idx_nodes_scan:')),
        'the outcome',
      );
      expect(outcome.text).toContain('database maintenance finished');
      const lines = thread(t, message!.ts).map((m) => m.text);
      expect(lines.some((l) => l.includes('started'))).toBe(true);
      expect(lines.some((l) => /finished in \d/.test(l))).toBe(true);
      const idx = await db.client.query(
        `SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = 'idx_nodes_scan'`,
      );
      expect(idx.rows).toEqual([{ indisvalid: true }]);
    });

    it('says there is nothing to do when the index exists', async () => {
      const { json } = await slashShown(t, 'db index');
      expect(allText(json)).toContain('already exists');
      expect(buttonsOf(json as { blocks?: unknown[] })).toEqual([]);
    });

    it('runs one maintenance at a time per table', async () => {
      const other = new pg.Client({ connectionString: db.url });
      await other.connect();
      await other.query(`SELECT pg_advisory_lock(72836110, hashtext('nodes'))`);
      const { message } = await slashShown(t, 'db vacuum nodes');
      expect(textOf(message)).toContain('VACUUM ANALYZE nodes');
      await press(t, message!, 'Confirm');
      const outcome = await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('VACUUM ANALYZE nodes:')),
        'the refused outcome',
      );
      expect(textOf(outcome)).toContain('another maintenance is running on nodes');
      await other.end();

      const again = await slashShown(t, 'db vacuum nodes');
      await press(t, again.message!, 'Confirm');
      const done = await until(
        () => thread(t, again.message!.ts).find((m) => m.text.startsWith('VACUUM ANALYZE nodes:')),
        'the vacuum outcome',
      );
      expect(done.text).toContain('database maintenance finished');
      const stats = await db.client.query(
        `SELECT last_vacuum IS NOT NULL AS vacuumed FROM pg_stat_user_tables WHERE relname = 'nodes'`,
      );
      expect(stats.rows[0]?.vacuumed).toBe(true);
    });

    it('rebuilds the index with REINDEX INDEX CONCURRENTLY', async () => {
      const { message } = await slashShown(t, 'db reindex');
      await press(t, message!, 'Confirm');
      const outcome = await until(
        () => thread(t, message!.ts).find((m) => m.text.startsWith('Reindex idx_nodes_scan:')),
        'the reindex outcome',
      );
      expect(outcome.text).toContain('REINDEX INDEX CONCURRENTLY idx_nodes_scan');
      expect(outcome.text).toContain('finished');
    });
  });
});
