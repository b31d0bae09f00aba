// The PagerDuty API down, hung, erroring or answering 429: an acknowledgement pressed in Slack
// is kept, retried with backoff (after ratelimit-reset on a 429) and reaches PagerDuty once
// when it answers again, and only then does Slack show it; when it never does, the thread says
// so and Slack still shows it unacknowledged. Calls keep within the token's budget a minute.

import type { PdIncident, PdRequest } from '@dmp-bot/sim/pagerduty-fake';
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCIDENT_SEVERITY, optionValue } from '../../src/blocks/incident-ids.js';
import { ALICE, controls, eventually, quiet, settled, startWorld, type World } from '../incidents/world.js';

describe('faults: the PagerDuty API', () => {
  let w: World;
  let serial = 0;

  beforeAll(async () => {
    // The presser's PagerDuty account is looked up before anything is queued: remembered here
    // for the whole file, so each fault hits the acknowledgement, not the look-up.
    w = await startWorld({ PAGERDUTY_TIMEOUT: '1s', PAGERDUTY_USER_CACHE_TTL: '1h' });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const acks = (id: string): PdRequest[] =>
    w.pd.requests.filter((r) => r.method === 'PUT' && r.path === `/incidents/${id}`);

  /** Pages, waits for the root, presses its Acknowledge; returns the incident id and its root. */
  async function pageAndAcknowledge(
    title: string,
    before?: () => void | Promise<void>,
  ): Promise<{ id: string; root: SlackMessage }> {
    const inc = await w.pd.triggerIncident({ title, serviceId: 'PDMPAPI', urgency: 'high' });
    await settled(w);
    const root = w.roots().find((m) => m.text.includes(title)) as SlackMessage;
    const ack = controls(root).find((c) => c.label === 'Acknowledge');
    // A severity pick that changes nothing looks Alice up (or finds her remembered) while PagerDuty is up.
    const seen = w.slack.ephemerals.length;
    await w.click({ actionId: INCIDENT_SEVERITY, selected: optionValue(inc.id, 'P2'), messageTs: root.ts });
    await eventually(
      () => w.slack.ephemerals.slice(seen).find((e) => e.user === ALICE),
      8_000,
      'the answer to the no-op pick',
    );
    await before?.();
    expect(
      await w.click({
        actionId: ack?.action_id as string,
        value: ack?.value,
        blockId: ack?.block_id,
        messageTs: root.ts,
      }),
    ).toBe(200);
    return { id: inc.id, root };
  }

  const failedTry = async (id: string) =>
    (await w.db.client.query(`SELECT 1 FROM pd_outbox WHERE incident_id = $1 AND error IS NOT NULL`, [id])).rows
      .length > 0;

  const faults = [
    { kind: 'down', set: () => w.pd.down(), clear: () => w.pd.up() },
    { kind: 'hung', set: () => w.pd.setFault('hang'), clear: () => w.pd.setFault('none') },
    { kind: 'answering 500', set: () => w.pd.setFault('error'), clear: () => w.pd.setFault('none') },
  ] as const;

  for (const f of faults) {
    it(`retries an acknowledgement while PagerDuty is ${f.kind} and sends it once when it is back`, async () => {
      let cleared = false;
      try {
        const { id, root } = await pageAndAcknowledge(`PagerDuty ${f.kind} page ${++serial}: API returns 504`, f.set);
        await eventually(() => failedTry(id), 8_000, 'a failed try');
        expect(acks(id)).toHaveLength(0);
        expect(w.pd.incidents.get(id)?.status).toBe('triggered');
        // Nothing changes in Slack before PagerDuty has accepted.
        expect(w.replies(root.ts).filter((m) => m.text.includes('Acknowledged by'))).toHaveLength(0);
        await f.clear();
        cleared = true;
        await eventually(() => acks(id).length > 0, 15_000, 'the acknowledgement in PagerDuty');
        await eventually(
          () => w.replies(root.ts).find((m) => m.text.includes('Acknowledged by')),
          10_000,
          'the acknowledgement in the thread',
        );
        await settled(w, 15_000);
        expect(acks(id)).toHaveLength(1);
        expect(acks(id)[0]?.headers.from).toBe('alice@example.com');
        expect(w.pd.incidents.get(id)?.status).toBe('acknowledged');
        expect(w.replies(root.ts).filter((m) => m.text.includes('Acknowledged by'))).toHaveLength(1);
        expect(w.replies(root.ts).filter((m) => m.text.includes('PagerDuty did not take'))).toHaveLength(0);
      } finally {
        if (!cleared) await f.clear();
      }
    }, 40_000);
  }

  it('backs off a 429 (pdjs retries three times), then waits out ratelimit-reset, then acknowledges once', async () => {
    // pdjs answers the first three 429s itself, a second apart; the fourth reaches the bot,
    // which pauses the token's budget for as long as ratelimit-reset says.
    const { id } = await pageAndAcknowledge('PagerDuty 429 page: login failures', () => w.pd.rateLimit(2, 4));
    const limited = await eventually(
      () =>
        w.pd.rateLimited.filter((r) => r.path === `/incidents/${id}`).length === 4 &&
        w.pd.rateLimited.filter((r) => r.path === `/incidents/${id}`),
      12_000,
      'four 429s',
    );
    const gaps = limited.slice(1).map((r, i) => r.at - (limited[i]?.at ?? 0));
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(900);
    await eventually(() => acks(id).length > 0, 12_000, 'the acknowledgement in PagerDuty');
    expect((acks(id)[0]?.at ?? 0) - (limited.at(-1)?.at ?? 0)).toBeGreaterThanOrEqual(1_950);
    await settled(w);
    expect(acks(id)).toHaveLength(1);
    expect(w.pd.incidents.get(id)?.status).toBe('acknowledged');
  }, 30_000);

  it('says in the thread when PagerDuty never takes the acknowledgement within PAGERDUTY_RETRY_FOR', async () => {
    const first = w.bots[0];
    if (first) await w.stop(first);
    await w.start({ PAGERDUTY_TIMEOUT: '1s', PAGERDUTY_RETRY_FOR: '3s' });
    try {
      const { id, root } = await pageAndAcknowledge('PagerDuty gone page: graph timeouts', () => w.pd.down());
      const told = await eventually(
        () => w.replies(root.ts).find((m) => m.text.includes('PagerDuty did not take the acknowledgement')),
        15_000,
        'the failure in the thread',
      );
      expect(told.text).toContain('unreachable');
      expect(told.text).toContain('<@U0ALICE01>, please do it in PagerDuty');
      const { rows } = await w.db.client.query<{ failed: boolean }>(
        `SELECT failed FROM pd_outbox WHERE incident_id = $1 AND kind = 'ack'`,
        [id],
      );
      expect(rows).toEqual([{ failed: true }]);
      expect(w.replies(root.ts).filter((m) => m.text.includes('Acknowledged by'))).toHaveLength(0);
      expect(controls(w.slack.message(root.channel, root.ts)).map((c) => c.label)).toContain('Acknowledge');
      await w.pd.up();
      await quiet(w);
      expect(acks(id)).toHaveLength(0);
    } finally {
      await w.pd.up();
    }
  }, 40_000);

  it('keeps PagerDuty calls within PAGERDUTY_RATE_LIMIT a minute, each sent once', async () => {
    for (const p of [...w.bots]) await w.stop(p);
    // 60 a minute: a burst of 6, then under one a second.
    await w.start({ PAGERDUTY_RATE_LIMIT: '60' });
    await w.start({ PAGERDUTY_RATE_LIMIT: '60' });
    const incidents: PdIncident[] = [];
    for (let n = 0; n < 10; n++)
      incidents.push(
        await w.pd.triggerIncident({ title: `Paced page ${n}: scans stuck`, serviceId: 'PDMPWRK', urgency: 'high' }),
      );
    await settled(w);
    const started = Date.now();
    await Promise.all(
      incidents.map(async (_inc, n) => {
        const root = w.roots().find((m) => m.text.includes(`Paced page ${n}:`)) as SlackMessage;
        const ack = controls(root).find((c) => c.label === 'Acknowledge');
        await w.click({ actionId: ack?.action_id as string, value: ack?.value, messageTs: root.ts, to: w.bots[n % 2] });
      }),
    );
    // Each replica looks Alice up once (both paced by the same budget), then the ten acknowledgements.
    await eventually(() => incidents.every((inc) => acks(inc.id).length > 0), 40_000, 'every acknowledgement');
    const times = w.pd.requests
      .filter((r) => r.at >= started)
      .map((r) => r.at)
      .sort((a, b) => a - b);
    let busiest = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while (j < times.length && (times[j] as number) < (times[i] as number) + 1000) j++;
      busiest = Math.max(busiest, j - i);
    }
    // Two replicas share one budget: the burst of 6 and about one more a second.
    expect(busiest).toBeLessThanOrEqual(7);
    for (const inc of incidents) expect(acks(inc.id)).toHaveLength(1);
  }, 60_000);
});
