// An alert storm in #incidents: past STORM_THRESHOLD pages a period, new incidents are named in
// digests instead of a root each; every one stays findable, acknowledgeable (PagerDuty called
// with the clicker's email) and recorded; two replicas together keep the channel's pace; and
// when the storm passes, incidents get their own root again.

import type { SlackCall, SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE,
  controls,
  event,
  eventually,
  INCIDENTS,
  page,
  quiet,
  settled,
  startWorld,
  textOf,
  type World,
} from './world.js';

const PAGES = 40;
const THRESHOLD = 5;
const BATCH = 10;
const RATE = 4;
const BURST = 2;

const title = (n: number) => `Storm page ${String(n).padStart(2, '0')}: scan queue backing up`;

/** The most calls naming `channel` within any one second. */
function busiestSecond(calls: SlackCall[], channel: string): number {
  const times = calls
    .filter((c) => c.args.channel === channel)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  let most = 0;
  for (let start = 0, end = 0; start < times.length; start++) {
    while (end < times.length && (times[end] as number) < (times[start] as number) + 1000) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

describe('an alert storm', () => {
  let w: World;
  const ids: string[] = [];
  const numbers: number[] = [];

  beforeAll(async () => {
    w = await startWorld({
      STORM_THRESHOLD: String(THRESHOLD),
      STORM_PERIOD: '4s',
      STORM_DIGEST_WAIT: '1s',
      STORM_DIGEST_BATCH: String(BATCH),
      // Slack's pace, shortened: four posts a second a channel, bursts of two.
      SLACK_CHANNEL_RATE: String(RATE),
      SLACK_CHANNEL_BURST: String(BURST),
    });
    await w.start();
    await w.start();
    // Forty pages in a moment, spread over both replicas.
    await Promise.all(
      Array.from({ length: PAGES }, (_, k) => {
        const n = k + 1;
        const inc = w.pd.seedIncident({ title: title(n), serviceId: 'PDMPWRK', urgency: 'high' });
        ids[n] = inc.id;
        numbers[n] = inc.incident_number;
        return w.deliver(
          event('incident.triggered', page({ id: inc.id, number: inc.incident_number, title: title(n) })),
          { to: w.bots[n % 2] },
        );
      }),
    );
    await settled(w, 60_000);
  }, 90_000);

  afterAll(async () => {
    await w?.close();
  });

  const topLevelWith = (text: string): SlackMessage[] => w.roots().filter((m) => textOf(m).includes(text));

  it('records every page once and names each incident in exactly one top-level post', async () => {
    const { rows } = await w.db.client.query<{ n: number; digested: number }>(
      'SELECT count(*)::int AS n, count(digest_id)::int AS digested FROM incidents',
    );
    expect(rows[0]).toEqual({ n: PAGES, digested: PAGES - THRESHOLD });
    for (let n = 1; n <= PAGES; n++) expect(topLevelWith(title(n)), title(n)).toHaveLength(1);
    const digests =
      (await w.db.client.query<{ n: number }>('SELECT count(*)::int AS n FROM incident_digests')).rows[0]?.n ?? 0;
    expect(digests).toBeGreaterThanOrEqual(Math.ceil((PAGES - THRESHOLD) / BATCH));
    // The first pages, before the storm, have roots of their own; the rest share a few digests.
    expect(w.roots()).toHaveLength(THRESHOLD + digests);
    const { rows: roots } = await w.db.client.query<{ n: number; d: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT incident_id)::int AS d FROM incident_outbox WHERE kind = 'root'`,
    );
    expect(roots[0]).toEqual({ n: PAGES, d: PAGES });
  });

  it('gives each incident in a digest its own Acknowledge, and opens the digest thread once', async () => {
    const digests = w.roots().filter((m) => m.text.startsWith(':rotating_light: Alert storm'));
    expect(digests.length).toBeGreaterThan(0);
    for (const d of digests) {
      const acks = controls(d).filter((c) => c.label === 'Acknowledge');
      const listed = ids.filter((id) => id && textOf(d).includes(id));
      expect(acks.map((a) => a.value).sort()).toEqual(listed.sort());
      expect(acks.length).toBeLessThanOrEqual(BATCH);
      const thread = w.replies(d.ts);
      expect(thread.filter((m) => m.text.startsWith('Investigating: alert storm'))).toHaveLength(1);
    }
    const coalesced = await w.db.client.query(
      `SELECT count(*)::int AS n FROM incident_timeline WHERE kind = 'coalesced'`,
    );
    expect(coalesced.rows[0]?.n).toBe(PAGES - THRESHOLD);
  });

  it('keeps each channel within its pace, across both replicas', () => {
    const posts = w.slack.calls.filter((c) => c.method === 'chat.postMessage' || c.method === 'chat.update');
    expect(posts.filter((c) => c.args.channel === INCIDENTS).length).toBeGreaterThan(20);
    // A bucket of BURST refilled at RATE a second: BURST + RATE in any second, and one more for
    // a post whose diagnosis ran between its claim and its call.
    expect(busiestSecond(posts, INCIDENTS)).toBeLessThanOrEqual(BURST + RATE + 1);
  });

  it("acknowledges one incident of a digest: PagerDuty is called with the clicker's email, its line and thread say so", async () => {
    const n = PAGES - 3;
    const id = ids[n] as string;
    const digest = topLevelWith(title(n))[0] as SlackMessage;
    const acksBefore = controls(digest).filter((c) => c.label === 'Acknowledge').length;
    const ack = controls(digest).find((c) => c.label === 'Acknowledge' && c.value === id);
    expect(ack).toBeDefined();
    expect(
      await w.click({
        actionId: ack?.action_id as string,
        value: id,
        blockId: ack?.block_id,
        messageTs: digest.ts,
        user: ALICE,
      }),
    ).toBe(200);
    const reply = await eventually(
      () => w.replies(digest.ts).find((m) => m.text.includes('Acknowledged by <@U0ALICE01>')),
      10_000,
      'the acknowledgement in the digest thread',
    );
    expect(reply.text).toContain(title(n));
    const put = await eventually(
      () => w.pd.requests.find((r) => r.method === 'PUT' && r.path === `/incidents/${id}`),
      10_000,
      'the PagerDuty acknowledgement',
    );
    expect(put.headers.from).toBe('alice@example.com');
    expect(put.body).toEqual({ incident: { type: 'incident_reference', status: 'acknowledged' } });
    await settled(w, 30_000);
    const now = w.slack.message(INCIDENTS, digest.ts) as SlackMessage;
    const mine = controls(now).filter((c) => c.value === id);
    expect(mine.map((c) => c.label)).toEqual(['Resolve']);
    // The other incidents of the digest keep theirs.
    expect(controls(now).filter((c) => c.label === 'Acknowledge')).toHaveLength(acksBefore - 1);
    const timeline = (
      await w.db.client.query('SELECT kind FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id', [id])
    ).rows.map((r) => r.kind);
    expect(timeline).toEqual(expect.arrayContaining(['triggered', 'coalesced', 'diagnosis', 'acknowledged']));
    expect(w.pd.requests.filter((r) => r.method === 'PUT' && r.path === `/incidents/${id}`)).toHaveLength(1);
  }, 40_000);

  it('records a pinned note in the digest thread on the incident it names by number', async () => {
    const n = PAGES - 1;
    const digest = topLevelWith(title(n))[0] as SlackMessage;
    expect(await w.say(`:pushpin: #${numbers[n]} drained the queue by hand`, digest.ts)).toBe(200);
    await eventually(
      async () =>
        (
          await w.db.client.query(`SELECT 1 FROM incident_timeline WHERE incident_id = $1 AND kind = 'pinned'`, [
            ids[n],
          ])
        ).rows.length === 1,
      8_000,
      'the pinned note',
    );
    await eventually(
      () => w.pd.requests.find((r) => r.method === 'POST' && r.path === `/incidents/${ids[n]}/notes`),
      8_000,
      'the PagerDuty note',
    );
    // A note that names no incident of the digest is not pinned on a guess.
    expect(await w.say(':pushpin: something happened', digest.ts)).toBe(200);
    await quiet(w);
    const { rows } = await w.db.client.query(`SELECT count(*)::int AS n FROM incident_timeline WHERE kind = 'pinned'`);
    expect(rows[0]?.n).toBe(1);
  }, 20_000);

  it('gives incidents their own root again once the storm has passed', async () => {
    // STORM_PERIOD is 4 s here: wait it out, then page again.
    const last = (await w.db.client.query<{ at: Date }>('SELECT max(received_at) AS at FROM incidents')).rows[0]
      ?.at as Date;
    await new Promise((r) => setTimeout(r, Math.max(0, last.getTime() + 4_200 - Date.now())));
    const inc = w.pd.seedIncident({ title: 'After the storm: API latency', serviceId: 'PDMPAPI', urgency: 'high' });
    await w.deliver(
      event(
        'incident.triggered',
        page({ id: inc.id, number: inc.incident_number, title: 'After the storm: API latency' }),
      ),
    );
    await settled(w, 20_000);
    const own = topLevelWith('After the storm: API latency');
    expect(own).toHaveLength(1);
    expect(own[0]?.text).not.toContain('Alert storm');
    expect(
      controls(own[0])
        .filter((c) => c.label === 'Acknowledge')
        .map((c) => c.value),
    ).toEqual([inc.id]);
    expect(w.replies(own[0]?.ts as string)[0]?.text).toBe('Investigating: After the storm: API latency');
  }, 30_000);
});
