// A bot killed with SIGKILL in the middle of an incident, and started again on the same
// database, carries on: the thread keeps its one root, the pending response-target timer
// fires once, and the acknowledgement goes to PagerDuty once. (It used to flake: a root the
// dead process had posted but not recorded was claimed again as untried and posted a second
// time, so the reminder went to the second root's thread; and the dead process's claims held
// for a 25 s lease. A retried row now counts as tried and is looked up, and claims end with
// the claimer's session.)
import { type ChildProcess, spawn } from 'node:child_process';
import { type PagerDutyFake, startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { blockActionPayload, interactionBody, signSlackRequest } from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/bot-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const root = new URL('../..', import.meta.url).pathname;
const SECRET = 'sigkill-signing-secret';
const HOOK = 'sigkill-webhook-secret';
const CHANNEL = 'C0INCIDENTS';

async function until<T>(fn: () => T | undefined | false, what: string, ms = 45_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('SIGKILL in the middle of an incident', () => {
  let slack: SlackFake;
  let pd: PagerDutyFake;
  let store: TestDatabase;
  const children: ChildProcess[] = [];

  const startBotProcess = async (): Promise<{ child: ChildProcess; url: string }> => {
    const port = await freePort();
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: root,
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: 'xoxb-sigkill',
        SLACK_SIGNING_SECRET: SECRET,
        SLACK_API_URL: slack.apiUrl,
        PORT: String(port),
        BOT_DATABASE_URL: store.url,
        PAGERDUTY_API_TOKEN: 'pd-sigkill-token',
        PAGERDUTY_API_URL: pd.url,
        PAGERDUTY_WEBHOOK_SECRETS: HOOK,
        PAGERDUTY_FROM_EMAIL: 'oncall@example.com',
        INCIDENTS_CHANNEL: CHANNEL,
        INCIDENT_POLL_INTERVAL: '100ms',
        RESPONSE_TARGETS: '{"P2":"4s"}',
        CHECK_DEADLINE: '500ms',
        // Pacing is not what this test is about; a loaded CI machine needs the room.
        SLACK_CHANNEL_RATE: '20',
        SLACK_CHANNEL_BURST: '20',
      },
    });
    children.push(child);
    const url = `http://127.0.0.1:${port}`;
    const end = Date.now() + 30_000;
    for (;;) {
      try {
        if ((await fetch(`${url}/health`)).ok) break;
      } catch {
        // starting
      }
      if (Date.now() > end) throw new Error('bot did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    pd.webhookTarget = { url: `${url}/pagerduty/webhook`, secrets: [HOOK] };
    return { child, url };
  };

  beforeAll(async () => {
    slack = await startSlackFake({ users: { U0ALICE01: { name: 'alice', email: 'alice@example.com' } } });
    // Alice, who presses Acknowledge, is a user of the PagerDuty account (the fake refuses any other From).
    pd = await startPagerDutyFake({
      token: 'pd-sigkill-token',
      users: [
        { id: 'PDMPUSR1', name: 'Dana On-Call', email: 'dana@example.com' },
        { id: 'PDMPUSR3', name: 'alice', email: 'alice@example.com' },
      ],
    });
    store = await createTestDatabase({ prefix: 'kill' });
  });
  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await pd?.close();
    await slack?.close();
    await store?.drop();
  });

  it('continues the thread, fires the pending timer once and acknowledges once after a restart', async () => {
    const first = await startBotProcess();
    await pd.triggerIncident({ title: 'Scans stuck in pending after deploy', serviceId: 'PDMPWRK', urgency: 'high' });
    const rootMsg = await until(
      () => slack.topLevel(CHANNEL).find((m) => m.text.includes('Scans stuck in pending after deploy')),
      'the root post',
    );

    // Killed before the 4 s response target passes: no drain, no goodbye.
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));

    const second = await startBotProcess();
    const reminder = await until(
      () => slack.thread(CHANNEL, rootMsg.ts).find((m) => /not acknowledged after/.test(m.text)),
      'the response-target reminder',
    );
    expect(reminder).toBeDefined();

    const blocks = (slack.message(CHANNEL, rootMsg.ts)?.blocks ?? []) as Array<{
      type: string;
      block_id?: string;
      elements?: Array<{ action_id: string; value?: string; text?: { text: string } }>;
    }>;
    const ack = blocks
      .flatMap((b) => (b.type === 'actions' ? (b.elements ?? []).map((e) => ({ ...e, block_id: b.block_id })) : []))
      .find((e) => e.text?.text === 'Acknowledge');
    expect(ack).toBeDefined();
    const raw = interactionBody(
      blockActionPayload({
        user: 'U0ALICE01',
        channel: CHANNEL,
        messageTs: rootMsg.ts,
        actionId: ack?.action_id ?? '',
        value: ack?.value,
        blockId: ack?.block_id,
        responseUrl: slack.responseUrl({ channel: CHANNEL, messageTs: rootMsg.ts }),
      }),
    );
    const res = await fetch(`${second.url}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest(SECRET, raw),
      body: raw,
    });
    expect(res.status).toBe(200);
    await until(
      () => slack.thread(CHANNEL, rootMsg.ts).find((m) => /Acknowledged by/.test(m.text)),
      'the acknowledgement in the thread',
    );
    // Settled: nothing left to send to Slack or PagerDuty (no fixed wait before asserting).
    const end = Date.now() + 45_000;
    for (;;) {
      const { rows } = await store.client.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM incident_outbox WHERE done_at IS NULL)
              + (SELECT count(*) FROM pd_outbox WHERE done_at IS NULL) AS n`,
      );
      if (Number(rows[0]?.n) === 0) break;
      if (Date.now() > end) throw new Error('timed out waiting for the outboxes to drain');
      await new Promise((r) => setTimeout(r, 100));
    }

    expect(slack.topLevel(CHANNEL).filter((m) => m.text.includes('Scans stuck in pending after deploy'))).toHaveLength(
      1,
    );
    expect(slack.thread(CHANNEL, rootMsg.ts).filter((m) => /not acknowledged after/.test(m.text))).toHaveLength(1);
    expect(slack.thread(CHANNEL, rootMsg.ts).filter((m) => /Acknowledged by/.test(m.text))).toHaveLength(1);
    const acks = pd.requests.filter((r) => r.method === 'PUT' && JSON.stringify(r.body).includes('acknowledged'));
    expect(acks).toHaveLength(1);
    expect(acks[0]?.headers.from).toBe('alice@example.com');
    second.child.kill('SIGTERM');
  }, 120_000);
});
