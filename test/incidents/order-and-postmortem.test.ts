// Events arrive late and out of order: the incident's state and the events' own times decide,
// not the arrival order. And the post-mortem's timeline and durations match the events sent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PM_ACTION_ITEMS, PM_LEARNINGS, PM_ROOT_CAUSE, POSTMORTEM_VIEW } from '../../src/blocks/incident-ids.js';
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

const DANA_PD = { id: 'PDMPUSR1', summary: 'Dana On-Call' };
const at = (base: number, ms: number) => new Date(base + ms);

describe('late and out-of-order PagerDuty events', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const rootOf = (title: string) => w.roots().filter((m) => m.text.includes(title));

  it('an acknowledgement that arrives before its page opens the thread acknowledged, and the late page does not reopen it', async () => {
    const t0 = Date.now() - 120_000;
    const incident = page({
      id: 'QORDERACKFIRST',
      title: 'Ack before trigger',
      created_at: new Date(t0).toISOString(),
    });
    await w.deliver(
      event(
        'incident.acknowledged',
        { ...incident, status: 'acknowledged' },
        { occurredAt: at(t0, 60_000), agent: DANA_PD },
      ),
    );
    await settled(w);
    await w.deliver(event('incident.triggered', incident, { occurredAt: at(t0, 0), agent: null }));
    await settled(w);
    const roots = rootOf('Ack before trigger');
    expect(roots).toHaveLength(1);
    const root = w.slack.message(INCIDENTS, roots[0]?.ts ?? '');
    expect(textOf(root)).toContain('Acknowledged');
    expect(controls(root).map((c) => c.label)).not.toContain('Acknowledge');
    const thread = w.replies(root?.ts ?? '');
    expect(thread.filter((m) => m.text.includes('Acknowledged by Dana On-Call after 1m'))).toHaveLength(1);
    expect(thread[0]?.text).toBe('Investigating: Ack before trigger');
    const { rows } = await w.db.client.query(`SELECT pd_status FROM incidents WHERE id = 'QORDERACKFIRST'`);
    expect(rows).toEqual([{ pd_status: 'acknowledged' }]);
    const kinds = (
      await w.db.client.query(
        `SELECT kind FROM incident_timeline WHERE incident_id = 'QORDERACKFIRST' AND kind <> 'diagnosis' ORDER BY at, id`,
      )
    ).rows.map((r) => r.kind);
    expect(kinds).toEqual(['triggered', 'acknowledged']);
  });

  it('a resolution stands: a late acknowledgement and a redelivered page change nothing; a genuine reopen does', async () => {
    const t0 = Date.now() - 600_000;
    const incident = page({ id: 'QORDERRESOLVED', title: 'Resolved early', created_at: new Date(t0).toISOString() });
    await w.deliver(event('incident.triggered', incident, { occurredAt: at(t0, 0), agent: null }));
    await w.deliver(
      event('incident.resolved', { ...incident, status: 'resolved' }, { occurredAt: at(t0, 300_000), agent: DANA_PD }),
    );
    await settled(w);
    const root = rootOf('Resolved early')[0];
    const before = w.replies(root?.ts ?? '').length;
    await w.deliver(
      event(
        'incident.acknowledged',
        { ...incident, status: 'acknowledged' },
        { occurredAt: at(t0, 60_000), agent: DANA_PD },
      ),
    );
    await w.deliver(event('incident.triggered', incident, { occurredAt: at(t0, 0), agent: null }));
    await quiet(w);
    expect(w.replies(root?.ts ?? '').length).toBe(before);
    expect(textOf(w.slack.message(INCIDENTS, root?.ts ?? ''))).toContain('Resolved');
    expect((await w.db.client.query(`SELECT pd_status FROM incidents WHERE id = 'QORDERRESOLVED'`)).rows).toEqual([
      { pd_status: 'resolved' },
    ]);
    // PagerDuty reopens it later: that is news.
    await w.deliver(event('incident.reopened', incident, { occurredAt: at(t0, 540_000), agent: DANA_PD }));
    await eventually(() => w.replies(root?.ts ?? '').find((m) => m.text.includes('Reopened by Dana On-Call')));
    await settled(w);
    expect(rootOf('Resolved early')).toHaveLength(1);
    expect(controls(w.slack.message(INCIDENTS, root?.ts ?? '')).map((c) => c.label)).toContain('Acknowledge');
  });

  it('a note about an incident not seen yet waits for its page, then goes into the thread', async () => {
    const incident = page({ id: 'QORDERNOTEFIRST', title: 'Note before trigger' });
    await w.deliver(event('incident.annotated', incident, { agent: DANA_PD, note: { content: 'Looking at it' } }));
    // The worker has looked at the note and put it off until its incident is seen.
    await eventually(
      async () =>
        (
          await w.db.client.query(
            `SELECT 1 FROM pd_webhook_events WHERE event_type = 'incident.annotated' AND attempts > 0
               AND processed_at IS NULL AND body::text LIKE '%QORDERNOTEFIRST%'`,
          )
        ).rows.length === 1,
      8_000,
      'the note to wait for its page',
    );
    expect(rootOf('Note before trigger')).toHaveLength(0);
    await w.deliver(event('incident.triggered', incident));
    const root = await eventually(() => rootOf('Note before trigger')[0]);
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Note from Dana On-Call in PagerDuty: Looking at it')),
      10_000,
      'the deferred note',
    );
  });
});

describe('the post-mortem', () => {
  let w: World;
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 2 * 3_600_000;
  const id = 'QPOSTMORTEM001';
  const incident = page({
    id,
    title: 'Graph API timeouts',
    number: 42,
    created_at: new Date(t0).toISOString(),
    priority: { summary: 'P2' },
  });

  beforeAll(async () => {
    w = await startWorld({ POSTMORTEM_DUE: '48h' });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('is posted and uploaded on resolution, with the timeline and durations of the events sent', async () => {
    await w.deliver(event('incident.triggered', incident, { occurredAt: at(t0, 0), agent: null }));
    await w.deliver(
      event(
        'incident.acknowledged',
        { ...incident, status: 'acknowledged' },
        { occurredAt: at(t0, 192_000), agent: DANA_PD },
      ),
    );
    await w.deliver(
      event('incident.annotated', incident, {
        occurredAt: at(t0, 600_000),
        agent: DANA_PD,
        note: { content: 'Graph cache cleared' },
      }),
    );
    await w.deliver(
      event(
        'incident.resolved',
        { ...incident, status: 'resolved' },
        { occurredAt: at(t0, 47 * 60_000), agent: DANA_PD },
      ),
    );
    const file = await eventually(
      () => w.slack.files.find((f) => f.name === 'postmortem-42.md'),
      10_000,
      'the post-mortem file',
    );
    await settled(w);
    const root = w.roots().find((m) => m.text.includes('Graph API timeouts'));
    expect(file.thread_ts).toBe(root?.ts);
    const doc = file.content;
    expect(doc).toContain('**Severity:** P2 (PagerDuty priority P2)');
    expect(doc).toContain('**Time to acknowledge:** 3m 12s');
    expect(doc).toContain('**Time to resolve:** 47m');
    // Each row carries its own date: an incident that spans midnight UTC changes day mid-table.
    const stamp = (ms: number) => new Date(t0 + ms).toISOString().slice(0, 19).replace('T', ' ');
    expect(doc).toContain(
      `| ${stamp(0)} | PagerDuty | Triggered in PagerDuty: Graph API timeouts (P2, DMP Scan Workers) |`,
    );
    expect(doc).toContain(`| ${stamp(192_000)} | Dana On-Call | Acknowledged in PagerDuty |`);
    expect(doc).toContain(`| ${stamp(600_000)} | Dana On-Call | Note in PagerDuty: Graph cache cleared |`);
    expect(doc).toContain(`| ${stamp(47 * 60_000)} | Dana On-Call | Resolved in PagerDuty |`);
    const order = [
      'Triggered in PagerDuty',
      'Acknowledged in PagerDuty',
      'Note in PagerDuty',
      'Resolved in PagerDuty',
    ].map((s) => doc.indexOf(s));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(doc).toContain(
      `**Post-mortem due:** ${new Date(t0 + 47 * 60_000 + 48 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19)} UTC`,
    );
    for (const part of ['## Summary', '## Impact', '## Root cause', '## Action items', '## Learnings'])
      expect(doc).toContain(part);
    // The thread carries the same figures.
    const post = w.replies(root?.ts ?? '').find((m) => m.text.startsWith('Post-mortem for Graph API timeouts'));
    expect(post?.text).toBe(
      'Post-mortem for Graph API timeouts: time to acknowledge 3m 12s, time to mitigate n/a, time to resolve 47m',
    );
    const stored = (await w.db.client.query('SELECT due_at FROM incident_postmortems WHERE incident_id = $1', [id]))
      .rows[0] as { due_at: Date };
    expect(stored.due_at.getTime()).toBe(t0 + 47 * 60_000 + 48 * 3_600_000);
  });

  it('"Fill in" opens a modal whose answers update the stored document, and /dmp postmortem shows it', async () => {
    const root = w.roots().find((m) => m.text.includes('Graph API timeouts'));
    const post = w.replies(root?.ts ?? '').find((m) => m.text.startsWith('Post-mortem for'));
    const fill = controls(post).find((c) => c.label === 'Fill in');
    await w.click({
      actionId: fill?.action_id ?? '',
      value: fill?.value,
      messageTs: post?.ts ?? '',
      threadTs: root?.ts,
    });
    const opened = (await w.slack.waitFor((a) => a.kind === 'call' && a.method === 'views.open')) as unknown as {
      args: { view: { callback_id: string; private_metadata: string } };
    };
    expect(opened.args.view.callback_id).toBe(POSTMORTEM_VIEW);
    expect(opened.args.view.private_metadata).toBe(id);
    const files = w.slack.files.length;
    const res = await w.submit({
      callback_id: POSTMORTEM_VIEW,
      private_metadata: id,
      values: {
        [PM_ROOT_CAUSE]: {
          value: { type: 'plain_text_input', value: 'A missing index on nodes made graph queries scan the table' },
        },
        [PM_ACTION_ITEMS]: {
          value: { type: 'plain_text_input', value: 'Create idx_nodes_scan\nAlert on graph p95 > 2s' },
        },
        [PM_LEARNINGS]: { value: { type: 'plain_text_input', value: 'The cache hid the regression for a week' } },
      },
    });
    expect(res.status).toBe(200);
    const updated = await eventually(
      () => w.slack.files.length > files && w.slack.files[w.slack.files.length - 1],
      8_000,
      'the updated file',
    );
    expect(updated ? updated.content : '').toContain('A missing index on nodes made graph queries scan the table');
    expect(updated ? updated.content : '').toContain('- [ ] Create idx_nodes_scan');
    const { rows } = await w.db.client.query(
      'SELECT root_cause, learnings, document, updated_by FROM incident_postmortems WHERE incident_id = $1',
      [id],
    );
    expect(rows[0]).toMatchObject({
      root_cause: 'A missing index on nodes made graph queries scan the table',
      learnings: 'The cache hid the regression for a week',
      updated_by: ALICE,
    });
    expect(rows[0]?.document).toContain('## Root cause\n\nA missing index on nodes made graph queries scan the table');
    await eventually(() => w.replies(root?.ts ?? '').find((m) => textOf(m).includes('Updated by <@U0ALICE01>')));
    const shown = await w.slash(`postmortem ${id}`);
    expect(JSON.stringify(shown.json)).toContain('A missing index on nodes');
    expect(JSON.stringify(shown.json)).toContain('3m 12s');
    const byNumber = await w.slash('postmortem 42');
    expect(JSON.stringify(byNumber.json)).toContain('Graph API timeouts');
    const unknown = await w.slash('postmortem QNOSUCHINCIDENT');
    expect(JSON.stringify(unknown.json)).toContain('I have no incident');
  });
});
