// The Slack API down, hung, erroring, answering garbage or 429: the incident outbox keeps every
// post, sends each once and in its thread's order when Slack is back, and a 429 on one channel
// holds that channel only.

import type { SlackCall } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { event, eventually, INCIDENTS, page, settled, startWorld, textOf, type World } from '../incidents/world.js';

const OTHER = 'C0OTHERCHAN';

describe('faults: the Slack API', () => {
  let w: World;
  let serial = 0;

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const rootCalls = (title: string): SlackCall[] =>
    w.slack
      .callsTo('chat.postMessage')
      .filter((c) => c.args.thread_ts === undefined && JSON.stringify(c.args).includes(title));
  const rootRowTried = async (id: string) =>
    (
      await w.db.client.query(
        `SELECT 1 FROM incident_outbox WHERE incident_id = $1 AND kind = 'root' AND error IS NOT NULL`,
        [id],
      )
    ).rows.length > 0;

  const faults = [
    { kind: 'down', set: () => w.slack.down(), clear: () => w.slack.up() },
    { kind: 'hung', set: () => w.slack.setFault('hang'), clear: () => w.slack.setFault('none') },
    { kind: 'answering 500', set: () => w.slack.setFault('error'), clear: () => w.slack.setFault('none') },
    { kind: 'answering garbage', set: () => w.slack.setFault('garbage'), clear: () => w.slack.setFault('none') },
    { kind: 'answering 429', set: () => w.slack.rateLimit('chat.postMessage', 1, 2), clear: () => undefined },
  ] as const;

  for (const f of faults) {
    it(`keeps an incident's posts while Slack is ${f.kind}, then sends each once and in order`, async () => {
      const title = `Slack ${f.kind} page ${++serial}: graph queries time out`;
      const id = `QSLACKFAULT${serial}`;
      await f.set();
      try {
        // The page is stored and answered whatever Slack is doing.
        const res = await w.deliver(event('incident.triggered', page({ id, title })));
        expect(res.status).toBe(200);
        if (f.kind === 'answering 429') {
          await eventually(() => w.slack.rateLimited.length >= 2, 8_000, 'two 429s');
        } else if (f.kind === 'hung') {
          // The hung call ends at the client's timeout, after Slack is back.
          await new Promise((r) => setTimeout(r, 1_000));
        } else {
          await eventually(() => rootRowTried(id), 8_000, 'a failed try');
        }
        expect(rootCalls(title)).toHaveLength(0);
      } finally {
        await f.clear();
      }
      await settled(w, 30_000);
      expect(rootCalls(title)).toHaveLength(1);
      const roots = w.roots().filter((m) => textOf(m).includes(title));
      expect(roots).toHaveLength(1);
      const thread = w.replies(roots[0]?.ts as string);
      expect(
        thread.map((m) =>
          m.text.startsWith('Investigating:')
            ? 'investigating'
            : textOf(m).includes('Automatic diagnosis')
              ? 'diagnosis'
              : m.text,
        ),
      ).toEqual(['investigating', 'diagnosis']);
      const { rows } = await w.db.client.query<{ failed: boolean }>(
        'SELECT failed FROM incident_outbox WHERE incident_id = $1',
        [id],
      );
      expect(rows.every((r) => !r.failed)).toBe(true);
      if (f.kind === 'answering 429') {
        // Retry-After (1 s) was honoured before the post went again.
        const last429 = Math.max(...w.slack.rateLimited.map((r) => r.at));
        expect((rootCalls(title)[0]?.at ?? 0) - last429).toBeGreaterThanOrEqual(950);
        w.slack.rateLimited.length = 0;
      }
    }, 40_000);
  }

  it("a 429 on one channel holds that channel only: another channel's posts go on meanwhile", async () => {
    // A second replica on the same store whose incidents go to another channel.
    const other = await w.start({ INCIDENTS_CHANNEL: OTHER });
    try {
      w.slack.rateLimit('chat.postMessage', 3, 1, INCIDENTS);
      const held = 'Held page: scans stuck in pending';
      const free = 'Free page: webhook deliveries failing';
      await w.deliver(event('incident.triggered', page({ id: 'QHELDCHAN01', title: held })));
      const limited = await eventually(
        () => w.slack.rateLimited.find((r) => r.channel === INCIDENTS),
        8_000,
        'the 429 on #incidents',
      );
      // Any replica may apply a stored event; stop the first so the free page is surely made by
      // the replica whose channel is OTHER. Its lanes also carry on #incidents' held posts.
      const first = w.bots.find((b) => b !== other);
      if (first) await w.stop(first);
      await w.deliver(event('incident.triggered', page({ id: 'QFREECHAN01', title: free })), { to: other });
      await settled(w, 30_000);

      const heldPosts = w.slack
        .callsTo('chat.postMessage')
        .filter((c) => c.args.channel === INCIDENTS && c.at > limited.at);
      const freePosts = w.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === OTHER);
      expect(freePosts).toHaveLength(3); // root, Investigating, diagnosis
      expect(rootCalls(held)).toHaveLength(1);
      // #incidents waited out its Retry-After (3 s); the other channel did not wait for it.
      const heldFirst = Math.min(...heldPosts.map((c) => c.at));
      expect(heldFirst - limited.at).toBeGreaterThanOrEqual(2_950);
      expect(freePosts.every((c) => c.at < heldFirst)).toBe(true);
      expect(w.slack.rateLimited.filter((r) => r.channel === OTHER)).toHaveLength(0);
    } finally {
      await w.stop(other);
    }
  }, 40_000);
});
