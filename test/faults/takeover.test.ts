// Replicas that die with work in hand (issue 8 points 2 and 3): the survivor carries on the dead
// one's posts and timers at once, because a claim ends with its claimer's database session, not
// with a lease; and a reply Slack accepted just before the kill is found in the thread (by its
// message metadata) and recorded, not posted twice. Real processes (dist/main.js), real SIGKILL.
import { type PagerDutyFake, startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { type SlackCall, type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BotProcess, startBotProcess, until } from '../helpers/bot-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const SECRET = 'takeover-signing-secret';
const HOOK = 'takeover-webhook-secret';
const CHANNEL = 'C0INCIDENTS';
const PD_TOKEN = 'pd-takeover-token';

describe('a replica killed with work in hand', () => {
  let slack: SlackFake;
  let pd: PagerDutyFake;
  let store: TestDatabase;
  const procs: BotProcess[] = [];

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    SLACK_BOT_TOKEN: 'xoxb-takeover',
    SLACK_SIGNING_SECRET: SECRET,
    SLACK_API_URL: slack.apiUrl,
    BOT_DATABASE_URL: store.url,
    PAGERDUTY_API_TOKEN: PD_TOKEN,
    PAGERDUTY_API_URL: pd.url,
    PAGERDUTY_WEBHOOK_SECRETS: HOOK,
    PAGERDUTY_FROM_EMAIL: 'oncall@example.com',
    INCIDENTS_CHANNEL: CHANNEL,
    INCIDENT_POLL_INTERVAL: '100ms',
    CHECK_DEADLINE: '500ms',
    // A lease far longer than any wait below: a take-over seen here cannot be a lease running out.
    INCIDENT_CLAIM_LEASE: '10m',
    // Pacing is not what this is about; a loaded machine needs the room.
    SLACK_CHANNEL_RATE: '20',
    SLACK_CHANNEL_BURST: '20',
    ...extra,
  });
  const start = async (extra?: Record<string, string>): Promise<BotProcess> => {
    const p = await startBotProcess(env(extra));
    procs.push(p);
    pd.webhookTarget = { url: `${p.url}/pagerduty/webhook`, secrets: [HOOK] };
    return p;
  };
  /** The thread's posts (files the reports upload are not posts of their own). */
  const replies = (rootTs: string) => slack.thread(CHANNEL, rootTs).filter((m) => m.via === 'api');
  const isReply = (type: string) => type !== 'root' && type !== 'update_root';
  const outbox = async (incidentId: string) =>
    (
      await store.client.query<{
        id: string;
        type: string;
        done: boolean;
        claimed_by: number | null;
        claimed_until: Date | null;
        claims: number;
        result: Record<string, unknown> | null;
      }>(
        `SELECT id, payload->>'type' AS type, done_at IS NOT NULL AS done, claimed_by, claimed_until, claims, result
           FROM incident_outbox WHERE incident_id = $1 ORDER BY id`,
        [incidentId],
      )
    ).rows;

  beforeAll(async () => {
    slack = await startSlackFake();
    pd = await startPagerDutyFake({ token: PD_TOKEN });
  });
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.kill();
    slack.reset();
    await store?.drop();
  });
  afterAll(async () => {
    await pd?.close();
    await slack?.close();
  });

  it('has its posts and its timer carried on by the survivor at once, each once and in order', async () => {
    store = await createTestDatabase({ prefix: 'takeover' });
    const a = await start({ RESPONSE_TARGETS: '{"P2":"3s"}' });
    // Slack takes the root, then holds every later post unanswered: the replies stay in A's hand.
    let gate: ReturnType<SlackFake['hold']> | undefined;
    const off = slack.onCall((c) => {
      if (c.kind === 'call' && c.method === 'chat.postMessage' && !c.args.thread_ts)
        gate ??= slack.hold('chat.postMessage');
    });
    const inc = await pd.triggerIncident({
      title: 'Take-over: scans stuck',
      serviceId: 'PDMPWRK',
      urgency: 'high',
    });
    const root = await until(() => slack.topLevel(CHANNEL)[0], 'the root post');
    off();
    await until(() => (gate?.waiting() ?? 0) >= 1, 'a reply held at Slack, in A’s hand');
    const b = await start({ RESPONSE_TARGETS: '{"P2":"3s"}' });
    // The response target passes while A still holds the thread's replies: its reminder queues behind them.
    await until(
      async () => (await outbox(inc.id)).some((r) => r.type === 'ack_reminder'),
      'the response-target timer to fire',
    );
    const held = (await outbox(inc.id)).filter((r) => !r.done && r.claimed_by !== null);
    expect(held.length).toBeGreaterThanOrEqual(1);
    const leaseEnds = Math.min(...held.map((r) => (r.claimed_until as Date).getTime()));

    const killedAt = Date.now();
    await a.kill();
    // B claims what A held and its own try waits at the gate too; by then A's dead call is long gone.
    await until(() => (gate?.waiting() ?? 0) >= 2, 'B to take over A’s posts', 30_000);
    gate?.open();

    const done = await until(
      async () => {
        const rows = await outbox(inc.id);
        return rows.some((r) => r.type === 'ack_reminder') && rows.every((r) => r.done) && rows;
      },
      'every post of the incident to go out',
      30_000,
    );
    const thread = replies(root.ts);
    const kinds = done.filter((r) => isReply(r.type)).map((r) => r.type);
    // Each reply once, in the order they were queued; the reminder (the timer fired once) last.
    expect(kinds).toContain('ack_reminder');
    expect(thread).toHaveLength(kinds.length);
    expect(thread.filter((m) => /not acknowledged after/.test(m.text))).toHaveLength(1);
    expect(thread.at(-1)?.text).toMatch(/not acknowledged after/);
    const fired = await store.client.query(
      `SELECT count(*)::int AS n FROM incident_timers WHERE incident_id = $1 AND kind = 'ack_reminder' AND fired_at IS NOT NULL`,
      [inc.id],
    );
    expect(fired.rows[0].n).toBe(1);
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);

    // B did not wait for A's lease: its first post of A's rows went out long before that lease ran out.
    const firstAfterKill = slack
      .callsTo('chat.postMessage')
      .filter((c: SlackCall) => c.at >= killedAt && c.args.thread_ts === root.ts)[0];
    expect(firstAfterKill).toBeDefined();
    expect((firstAfterKill as SlackCall).at).toBeLessThan(leaseEnds);
    console.info(
      `take-over: first post of the dead replica's rows ${(firstAfterKill as SlackCall).at - killedAt} ms after SIGKILL`,
    );
    await b.stop();
  }, 180_000);

  it('does not post a reply twice when killed after Slack accepted it and before it was recorded', async () => {
    store = await createTestDatabase({ prefix: 'takeover' });
    const a = await start();
    let killed: Promise<void> | undefined;
    let accepted: SlackCall | undefined;
    // The moment the fake has stored the first thread reply, before its answer leaves: SIGKILL.
    const off = slack.onCall((c) => {
      if (killed || c.kind !== 'call' || c.method !== 'chat.postMessage' || !c.args.thread_ts) return;
      accepted = c;
      killed = a.kill();
    });
    const inc = await pd.triggerIncident({ title: 'Killed mid-reply', serviceId: 'PDMPWRK', urgency: 'high' });
    await until(() => accepted !== undefined, 'a reply accepted by Slack');
    await killed;
    off();
    const root = slack.topLevel(CHANNEL)[0];
    expect(root).toBeDefined();
    const before = await outbox(inc.id);
    const pending = before.find((r) => !r.done && isReply(r.type));
    expect(pending).toBeDefined();

    const b = await start();
    const rows = await until(async () => {
      const all = await outbox(inc.id);
      return all.every((r) => r.done) && all;
    }, 'the restarted bot to record every post');
    // The accepted reply was found in the thread by its metadata and recorded, not posted again.
    const again = rows.find((r) => r.id === pending?.id);
    const acceptedTs = (accepted?.result as { ts?: string } | undefined)?.ts;
    expect(acceptedTs).toBeDefined();
    expect(again?.result).toMatchObject({ ts: acceptedTs, found: true });
    expect(slack.callsTo('conversations.replies').some((c) => c.args.include_all_metadata)).toBe(true);
    const thread = replies(root?.ts as string);
    expect(thread).toHaveLength(rows.filter((r) => isReply(r.type)).length);
    const texts = thread.map((m) => m.text);
    expect(new Set(texts).size).toBe(texts.length);
    expect(slack.topLevel(CHANNEL)).toHaveLength(1);
    await b.stop();
  }, 180_000);
});
