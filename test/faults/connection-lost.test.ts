// A database connection that dies while the bot holds it (pg_terminate_backend, as a failover or
// a PgBouncer restart does): the process stays up, the query that was under way fails with a
// sentence that says the connection was lost, and a webhook that could not be stored is answered
// 5xx so that PagerDuty's retry delivers it.
import { signPagerDuty } from '@dmp-bot/sim/pagerduty-signing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ALICE, press, slashShown, textOf, thread, until } from '../helpers/remediation.js';
import { event, eventually, page, startWorld, type World } from '../incidents/world.js';

/** Terminates the backends of `application` in database `db` that wait on a lock; how many it ended. */
async function terminateWaiting(admin: pg.Client, db: string, application: string): Promise<number> {
  const { rows } = await admin.query<{ ended: boolean }>(
    `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
      WHERE datname = $1 AND application_name = $2 AND wait_event_type = 'Lock'`,
    [db, application],
  );
  return rows.filter((r) => r.ended).length;
}

/** A second session that holds an exclusive lock on `table` until released, so the bot's query on it waits. */
async function lockTable(url: string, table: string): Promise<{ release(): Promise<void> }> {
  const holder = new pg.Client({ connectionString: url, application_name: 'lock-holder' });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query(`LOCK TABLE ${table} IN ACCESS EXCLUSIVE MODE`);
  return {
    async release() {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end().catch(() => {});
    },
  };
}

describe('faults: a connection killed mid-query', () => {
  let platform: TestDatabase;
  let t: TestBot;

  beforeAll(async () => {
    platform = await createTestDatabase({ schema: true });
    t = await startTestBot({
      env: {
        DMP_DATABASE_URL: platform.url,
        CHECK_DEADLINE: '20s',
        PAGERDUTY_WEBHOOK_SECRETS: 'pd-secret-conn-0001',
        DMP_OPERATORS: ALICE,
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    await platform?.drop();
  });

  it('on the platform database: the reply says the connection was lost, and the bot keeps answering', async () => {
    const lock = await lockTable(platform.url, 'scans');
    try {
      const res = await t.slash('scans stuck');
      expect(res.status).toBe(200);
      // The bot's query on scans waits behind the lock, checked out, when its backend is ended.
      await eventually(async () => (await terminateWaiting(platform.client, platform.name, 'dmp-bot')) > 0, 15_000);
      const reply = await eventually(
        () => t.slack.responses.find((r) => r.url === res.responseUrl && /connection lost/.test(allText(r.body))),
        15_000,
        'the late reply',
      );
      expect(allText(reply.body)).toContain('PostgreSQL: connection lost');
      expect(allText(reply.body)).not.toMatch(/at \w+ \(|node_modules/); // a sentence, no stack
    } finally {
      await lock.release();
    }
    const health = await fetch(`${t.url}/health`);
    expect(health.status).toBe(200);
    const again = await t.slash('help');
    expect(allText(again.json)).toContain('/dmp scans stuck');
  }, 45_000);

  it('during maintenance: the step whose session was ended says so, and the later steps are not started', async () => {
    const { message } = await slashShown(t, 'db vacuum', ALICE);
    if (!message) throw new Error('no preview was shown');
    const lock = await lockTable(platform.url, 'nodes');
    try {
      await press(t, message, 'Confirm');
      // VACUUM of nodes waits behind the lock on the maintenance session when it is ended.
      await eventually(async () => (await terminateWaiting(platform.client, platform.name, 'dmp-bot')) > 0, 15_000);
      const outcome = await until(
        () => thread(t, message.ts).find((m) => /connection lost/.test(textOf(m)) && /not started/.test(textOf(m))),
        'the maintenance outcome',
        20_000,
      );
      expect(textOf(outcome)).toContain('PostgreSQL: connection lost');
    } finally {
      await lock.release();
    }
    expect((await fetch(`${t.url}/health`)).status).toBe(200);
  }, 45_000);

  it("on the bot's own store: a webhook whose insert was cut off is answered 5xx, and stored when resent", async () => {
    const lock = await lockTable(t.store.url, 'pd_webhook_events');
    const raw = JSON.stringify(event('incident.triggered', page({ id: 'PCUT001', title: 'Cut off mid-insert' })));
    const send = () =>
      t.post('/pagerduty/webhook', raw, {
        'content-type': 'application/json',
        'x-pagerduty-signature': signPagerDuty(raw, ['pd-secret-conn-0001']),
      });
    let first: Promise<{ status: number; body: string }>;
    try {
      first = send();
      await eventually(async () => (await terminateWaiting(t.store.client, t.store.name, 'dmp-bot-store')) > 0, 15_000);
      expect((await first).status).toBeGreaterThanOrEqual(500);
    } finally {
      await lock.release();
    }
    const stored = await t.store.client.query(`SELECT count(*)::int AS n FROM pd_webhook_events`);
    expect(stored.rows[0].n).toBe(0);
    expect((await send()).status).toBe(200);
    const after = await t.store.client.query(`SELECT count(*)::int AS n FROM pd_webhook_events`);
    expect(after.rows[0].n).toBe(1);
    const health = (await (await fetch(`${t.url}/health`)).json()) as { status: string };
    expect(health.status).toBe('healthy');
  }, 45_000);
});

describe("faults: the store's backends terminated in a loop while webhooks arrive", () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
  });

  it('applies every webhook answered 2xx, and every 5xx one once it is resent', async () => {
    let killing = true;
    let killed = 0;
    const killer = (async () => {
      while (killing) {
        const { rows } = await w.db.client.query<{ ended: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
            WHERE datname = $1 AND application_name = 'dmp-bot-store'`,
          [w.db.name],
        );
        killed += rows.filter((r) => r.ended).length;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const incidents = Array.from({ length: 16 }, (_, i) =>
      page({ id: `PLOOP${String(i).padStart(2, '0')}`, title: `Terminated backends ${String(i).padStart(2, '0')}` }),
    );
    const outcomes: Array<{ i: number; status: number }> = [];
    try {
      for (const [i, incident] of incidents.entries()) {
        let status: number;
        try {
          status = (await w.deliver(event('incident.triggered', incident))).status;
        } catch {
          status = 599; // no answer at all: PagerDuty retries that too
        }
        outcomes.push({ i, status });
      }
      // The loop really cut the bot's connections while the webhooks arrived.
      await eventually(() => killed > 0, 10_000, 'a terminated backend');
    } finally {
      killing = false;
      await killer;
    }
    // No answer was anything but success or a retryable failure.
    for (const o of outcomes) expect([200, 503, 599]).toContain(o.status);
    // PagerDuty resends what was not accepted, until it is.
    for (const o of outcomes.filter((x) => x.status !== 200)) {
      const incident = incidents[o.i];
      if (!incident) continue;
      await eventually(async () => (await w.deliver(event('incident.triggered', incident))).status === 200, 15_000);
    }
    // Every incident got its thread: the 2xx ones without a resend, the others after it.
    await eventually(
      () => incidents.every((inc) => w.roots().some((m) => m.text.includes(inc.title ?? '?'))),
      30_000,
      'a root post for every incident',
    );
    for (const inc of incidents) expect(w.roots().filter((m) => m.text.includes(`${inc.title}`))).toHaveLength(1);
    const health = await eventually(async () => {
      const h = (await (await fetch(`${w.bots[0]?.url}/health`)).json()) as { status: string };
      return h.status === 'healthy' ? h : undefined;
    }, 15_000);
    expect(health.status).toBe('healthy');
  }, 120_000);
});
