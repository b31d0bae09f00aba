// `/dmp incident stats` over incidents whose PagerDuty event times are known: MTTA, time to
// mitigate and MTTR per severity, to the second, from the events' occurred_at (they are all
// delivered now, long after they happened), counts per service and procedure, out-of-hours pages,
// remediations verified green and the window.
import type { KnownBlock } from '@slack/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderBlocks } from '../../src/console/render.js';
import { chartDataOf } from '../helpers/png.js';
import { event, eventually, page, settled, startWorld, type World } from './world.js';

const DANA_PD = { id: 'PDMPUSR1', summary: 'Dana On-Call' };
const S = 1000;
const M = 60 * S;

/** A weekday 2–8 days ago at `hour`:`minute` UTC (so every case falls in the 7-day window). */
function weekdayAgo(hour: number, minute = 0): number {
  for (let back = 2; ; back++) {
    const d = new Date();
    d.setUTCDate(d.getUTCDate() - back);
    d.setUTCHours(hour, minute, 0, 0);
    if (d.getUTCDay() >= 1 && d.getUTCDay() <= 5) return d.getTime();
  }
}

describe('/dmp incident stats', () => {
  let w: World;
  const cases = [
    // id, severity, created, ack after, resolved after, service
    { id: 'QSTATS0001', p: 'P1', at: weekdayAgo(3), ack: 60 * S, resolve: 30 * M + 5 * S },
    { id: 'QSTATS0002', p: 'P1', at: weekdayAgo(10), ack: 3 * M, resolve: 62 * M + 3 * S },
    { id: 'QSTATS0003', p: 'P1', at: weekdayAgo(22), ack: 2 * M, resolve: 10 * M },
    { id: 'QSTATS0004', p: 'P2', at: weekdayAgo(10, 30), ack: 45 * S, resolve: undefined, api: true },
  ];
  const old = { id: 'QSTATS0OLD', p: 'P3', at: Date.now() - 40 * 86_400_000, ack: 7 * M, resolve: 8 * M };

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
    for (const c of [...cases, old]) {
      const inc = page({
        id: c.id,
        title: `Stats case ${c.id}`,
        created_at: new Date(c.at).toISOString(),
        priority: { summary: c.p },
        ...('api' in c ? { service: { id: 'PDMPAPI', summary: 'DMP API' } } : {}),
      });
      await w.deliver(event('incident.triggered', inc, { occurredAt: new Date(c.at), agent: null }));
      await w.deliver(
        event(
          'incident.acknowledged',
          { ...inc, status: 'acknowledged' },
          { occurredAt: new Date(c.at + c.ack), agent: DANA_PD },
        ),
      );
      if (c.resolve !== undefined)
        await w.deliver(
          event(
            'incident.resolved',
            { ...inc, status: 'resolved' },
            { occurredAt: new Date(c.at + c.resolve), agent: DANA_PD },
          ),
        );
    }
    // A second acknowledgement of the first incident, later: the first one counts.
    const first = cases[0] as (typeof cases)[number];
    await w.deliver(
      event(
        'incident.acknowledged',
        { ...page({ id: first.id, title: `Stats case ${first.id}` }), status: 'acknowledged' },
        { occurredAt: new Date(first.at + 20 * M), agent: DANA_PD },
      ),
    );
    await settled(w);
    // Verifications as the bot records them: a remediation still critical, then one green, then
    // the Mitigated check green: time to mitigate is to the first green one (not a diagnosis).
    const v = (id: string, at: number, trigger: string, critical: boolean) =>
      w.db.client.query(
        `INSERT INTO incident_verifications (incident_id, at, trigger, procedure_id, checks, critical)
         VALUES ($1, $2, $3, 'health', '[]', $4)`,
        [id, new Date(at), trigger, critical],
      );
    const [a, b] = cases as [(typeof cases)[number], (typeof cases)[number]];
    await v(a.id, a.at + 2 * M, 'diagnosis', false);
    await v(a.id, a.at + 4 * M, 'remediation', true);
    await v(a.id, a.at + 9 * M + 7 * S, 'remediation', false);
    await v(b.id, b.at + 15 * M, 'mitigated', false);
    // Remediations as the safety layer records them, in the incidents' threads: two finished in
    // the first incident's (one succeeded, one failed), one cancelled there (never run), and one
    // finished outside any incident thread: 2 run, 1 succeeded.
    const thread = (
      await w.db.client.query<{ channel: string; root_ts: string }>(
        'SELECT channel, root_ts FROM incidents WHERE id = $1',
        [a.id],
      )
    ).rows[0] as { channel: string; root_ts: string };
    const act = (n: number, state: string, channel: string, threadTs: string) =>
      w.db.client.query(
        `INSERT INTO remediation_actions (id, remedy, params, preview, state, requested_by, channel_id, thread_ts, expires_at)
         VALUES ($1, 'restart-deployment', '{}', '{"summary":"restart"}', $2, 'U0ALICE01', $3, $4, now() + interval '1 hour')`,
        [`stats-action-${n}`, state, channel, threadTs],
      );
    await act(1, 'succeeded', thread.channel, thread.root_ts);
    await act(2, 'failed', thread.channel, thread.root_ts);
    await act(3, 'cancelled', thread.channel, thread.root_ts);
    await act(4, 'succeeded', 'C0ELSEWHERE', '1700000000.000100');
    // Follow-ups: one issue closed, one open, one still being filed.
    const fu = (key: string, number: number | null, state: string | null, done: boolean) =>
      w.db.client.query(
        `INSERT INTO incident_followups (incident_id, item_key, title, repo, issue_number, issue_url, state, done_at)
         VALUES ($1, $2, $2, 'dmp/platform', $3, $4, $5, $6)`,
        [
          b.id,
          key,
          number,
          number === null ? null : `https://github.com/dmp/platform/issues/${number}`,
          state,
          done ? new Date() : null,
        ],
      );
    await fu('alert on lag', 1, 'closed', true);
    await fu('document the restart', 2, 'open', true);
    await fu('rehearse failover', null, null, false);
  });

  afterAll(async () => {
    await w?.close();
  });

  const statsOf = async (arg: string) => JSON.stringify((await w.slash(`incident stats ${arg}`.trim())).json);

  it('answers MTTA, time to mitigate and MTTR per severity to the second, from PagerDuty’s times', async () => {
    const out = await statsOf('7d');
    expect(out).toContain('*4 incidents*');
    // P1 acknowledged after 1m, 3m, 2m (the later re-acknowledgement does not count).
    expect(out).toContain('• MTTA: median 2m, p90 3m (3)');
    // Resolved after 30m 5s, 1h 2m 3s and 10m.
    expect(out).toContain('• MTTR: median 30m 5s, p90 1h 2m 3s (3)');
    // Mitigated after 9m 7s (the green remediation) and 15m (Mitigated verified).
    expect(out).toContain('• Time to mitigate: median 12m 4s, p90 15m (2)');
    expect(out).toContain('*P2* (1)\\n• MTTA: median 45s, p90 45s (1)');
    expect(out).toContain('• MTTR: n/a');
    expect(out).toContain('DMP Scan Workers: 3');
    expect(out).toContain('DMP API: 1');
    // 03:00 and 22:00 UTC are out of hours; the two at 10:00 and 10:30 on weekdays are not.
    expect(out).toContain('2 paged out of hours');
    expect(out).toContain('2 run in incident threads (1 succeeded); verification green after 1 of 2');
    expect(out).toContain('*Follow-ups*\\n1 open, 1 closed, 1 being filed');
    expect(out).not.toContain('P3');
  });

  it('counts per runbook procedure as the incidents were matched', async () => {
    const out = await statsOf('7d');
    const { rows } = await w.db.client.query<{ p: string | null; n: string }>(
      `SELECT procedure_id AS p, count(*) AS n FROM incidents WHERE id LIKE 'QSTATS000%' GROUP BY 1`,
    );
    expect(rows.reduce((s, r) => s + Number(r.n), 0)).toBe(4);
    for (const r of rows) expect(out).toContain(`${r.p ?? 'no procedure'}: ${r.n}`);
  });

  it('uploads a PNG chart whose data are the numbers of the message', async () => {
    const before = w.slack.files.length;
    const out = await statsOf('7d');
    const file = await eventually(
      () => w.slack.files.slice(before).find((f) => f.name === 'incident-stats-7d.png'),
      15_000,
      'the chart',
    );
    const asked = w.slack
      .callsTo('files.getUploadURLExternal')
      .find((c) => (c.args as { filename?: string }).filename === 'incident-stats-7d.png');
    expect(asked).toBeDefined();
    const png = file.bytes;
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
    expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(400);
    expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(250);
    expect(png.length).toBeGreaterThan(5_000);
    expect(png.length).toBeLessThan(2_000_000);
    // The numbers drawn travel in the PNG's tEXt chunk: they are the message's.
    const data = chartDataOf(png) as {
      weeks: Array<{ week: string; measure: string; minutes: number }>;
      procedures: Array<{ procedure: string; incidents: number }>;
    };
    for (const p of data.procedures) expect(out).toContain(`${p.procedure}: ${p.incidents}`);
    expect(data.procedures.reduce((n, p) => n + p.incidents, 0)).toBe(4);
    const monday = (t: number) => {
      const d = new Date(t);
      d.setUTCHours(0, 0, 0, 0);
      d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
      return d.toISOString().slice(0, 10);
    };
    const median = (xs: number[]) => {
      const v = [...xs].sort((a, b) => a - b);
      const m = Math.floor(v.length / 2);
      return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
    };
    const expected = [...new Set(cases.map((c) => monday(c.at)))].sort().flatMap((week) => {
      const of = cases.filter((c) => monday(c.at) === week);
      const res = of.flatMap((c) => (c.resolve === undefined ? [] : [c.resolve]));
      return [
        { week, measure: 'MTTA', minutes: Math.round(median(of.map((c) => c.ack)) / 600) / 100 },
        ...(res.length ? [{ week, measure: 'MTTR', minutes: Math.round(median(res) / 600) / 100 }] : []),
      ];
    });
    expect(data.weeks).toEqual(expected);
  });

  it('App Home shows the same figures for the last 30 days', async () => {
    const before = w.slack.callsTo('views.publish').length;
    expect(
      await w.event({
        type: 'app_home_opened',
        user: 'U0ALICE01',
        channel: 'D0ALICE01',
        tab: 'home',
        event_ts: '1700000000.000200',
      }),
    ).toBe(200);
    const published = await eventually(() => w.slack.callsTo('views.publish')[before], 15_000, 'the App Home tab');
    const home = JSON.stringify(published.args.view);
    expect(home).toContain('Incidents, last 30d');
    expect(home).toContain('• MTTR: median 30m 5s, p90 1h 2m 3s (3)');
    expect(home).toContain('• Time to mitigate: median 12m 4s, p90 15m (2)');
    expect(home).toContain('2 paged out of hours');
    expect(home).toContain('2 run in incident threads (1 succeeded); verification green after 1 of 2');
    expect(home).toContain('1 open, 1 closed, 1 being filed');
  });

  it('reads in the console as a table of the same figures', async () => {
    const answer = (await w.slash('incident stats 7d')).json as { text: string; blocks: KnownBlock[] };
    const { text } = renderBlocks(answer.blocks, answer.text, () => 0);
    const lines = text.split('\n');
    const row = (cells: string[]) =>
      lines.find((l) => {
        const got = l.split('|').map((c) => c.trim());
        return got.length === cells.length && got.every((c, n) => c === cells[n]);
      });
    expect(row(['sev', 'n', 'MTTA', 'to mitigate', 'MTTR'])).toBeDefined();
    expect(
      row(['P1', '3', 'median 2m, p90 3m (3)', 'median 12m 4s, p90 15m (2)', 'median 30m 5s, p90 1h 2m 3s (3)']),
    ).toBeDefined();
    expect(row(['P2', '1', 'median 45s, p90 45s (1)', 'n/a', 'n/a'])).toBeDefined();
    expect(text).toContain('2 paged out of hours');
    expect(text).toContain('DMP Scan Workers: 3');
    expect(text).toContain('verification green after 1 of 2');
  });

  it('takes 30d by default and 90d reaches the older incident; anything else gets a clear answer', async () => {
    expect(await statsOf('')).toContain('Incidents, last 30d');
    const ninety = await statsOf('90d');
    expect(ninety).toContain('*5 incidents*');
    expect(ninety).toContain('*P3* (1)\\n• MTTA: median 7m, p90 7m (1)');
    const bad = await statsOf('2w');
    expect(bad).toContain('takes one of `7d`, `30d` or `90d`');
  });
});
