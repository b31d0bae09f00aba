// What people write reaches the incident thread whole and as written: notes past Slack's section
// and message limits, titles and notes with <, >, &, *, <!channel>, <@U…> and Slack links. The
// strict Slack fake flags anything that would render otherwise (world.close asserts none).

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DECLARE_DESCRIPTION,
  DECLARE_SERVICE,
  DECLARE_SEVERITY,
  DECLARE_TITLE,
  DECLARE_VIEW,
} from '../../src/blocks/incident-ids.js';
import { ALICE, event, eventually, page, settled, startWorld, type World } from '../incidents/world.js';

const LINK = '<https://grafana.example/d/1?from=now-1h&amp;to=now|graph>';

describe('incident text as written, whatever its length', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
  });

  const rootOf = (title: string) => eventually(() => w.roots().find((m) => m.text.includes(title)), 8_000, title);
  /** Everything a reader of the thread sees: the replies' text blocks and the files shared in it. */
  const shownIn = (root: SlackMessage): string => {
    const replies = w.replies(root.ts);
    const blocks = replies.flatMap((m) => (m.blocks ?? []) as Array<{ type: string; text?: { text: string } }>);
    const texts = blocks.filter((b) => b.type === 'section').map((b) => b.text?.text ?? '');
    const files = w.slack.files.filter((f) => f.thread_ts === root.ts).map((f) => f.content);
    return [...texts, ...files].join('\n');
  };
  const note = (id: string, title: string, content: string) =>
    w.deliver(
      event('incident.annotated', page({ id, title }), {
        agent: { id: 'PDMPUSR1', summary: 'Dana On-Call' },
        note: { content },
      }),
    );

  it('posts notes at and past the limits whole: split into sections, the rest in a file in the thread', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Long notes', serviceId: 'PDMPWRK', urgency: 'high' });
    await settled(w);
    const root = await rootOf('Long notes');
    const line = (n: number) => `step ${String(n).padStart(4, '0')}: ${'z'.repeat(40)}`;
    const body = (lines: number) => Array.from({ length: lines }, (_, n) => line(n)).join('\n');
    const atLimit = body(3000 / 51 - 1);
    const past = body(70); // ~3,500 characters: one section would be refused
    const huge = body(400); // ~20,000 characters: past the message's total
    for (const content of [atLimit, past, huge]) await note(inc.id, 'Long notes', content);
    await eventually(() => w.slack.files.find((f) => f.thread_ts === root.ts), 10_000, 'the file for the huge note');
    await settled(w);
    const shown = shownIn(root);
    for (let n = 0; n < 400; n++) expect(shown).toContain(line(n));
    // Nothing was refused: every post of the thread went through at the first try or its text-only retry.
    const refused = w.slack.callsTo('chat.postMessage').filter((c) => c.result.ok === false);
    expect(refused).toEqual([]);
  });

  it("posts a declared incident's 3,000-character description whole in its Investigating reply", async () => {
    const description = Array.from({ length: 60 }, (_, n) => `fact ${String(n).padStart(2, '0')} ${'d'.repeat(41)}`)
      .join('\n')
      .padEnd(3000, 'd');
    expect(description.length).toBe(3000);
    const values = {
      [DECLARE_TITLE]: { value: { type: 'plain_text_input', value: 'Declared with a long description' } },
      [DECLARE_SEVERITY]: { value: { type: 'static_select', selected_option: { value: 'P3' } } },
      [DECLARE_SERVICE]: { value: { type: 'static_select', selected_option: { value: 'PDMPAPI' } } },
      [DECLARE_DESCRIPTION]: { value: { type: 'plain_text_input', value: description } },
    };
    const submitted = await w.submit({ callback_id: DECLARE_VIEW, values, id: 'VDECLARELONG' });
    expect(submitted.status).toBe(200);
    const root = await rootOf('Declared with a long description');
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.startsWith('Investigating')),
      8_000,
      'the Investigating reply',
    );
    await settled(w);
    const shown = shownIn(root);
    for (const line of description.split('\n')) expect(shown).toContain(line);
  });

  it('shows titles and notes with <, >, &, *, <!channel>, mentions and Slack links as written', async () => {
    const title = '<EU> & <US> *login* down <!channel>';
    const inc = await w.pd.triggerIncident({ title, serviceId: 'PDMPAPI', urgency: 'high' });
    await settled(w);
    const root = await rootOf('&lt;EU&gt; &amp; &lt;US&gt;');
    // The notification text and every mrkdwn field escape the title; the header shows it as typed.
    expect(root.text).toContain('&lt;EU&gt; &amp; &lt;US&gt; *login* down &lt;!channel&gt;');
    const header = (root.blocks as Array<{ type: string; text?: { text: string } }>).find((b) => b.type === 'header');
    expect(header?.text?.text).toContain(title);

    // A note written in PagerDuty: its words escaped, a Slack link and a mention kept as such.
    await note(inc.id, title, `a < b & c > d, see ${LINK.replace('&amp;', '&')} and ask <@${ALICE}> <!here>`);
    const fromPd = await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Note from Dana')),
      8_000,
      'the note',
    );
    expect(fromPd.text).toContain(`a &lt; b &amp; c &gt; d, see ${LINK} and ask <@${ALICE}> &lt;!here&gt;`);

    // A pinned Slack message (as Slack sends it: user text escaped, the link as <…|…>) keeps its link.
    await w.say(`:pushpin: rollback fixed &lt;EU&gt;, see ${LINK}`, root.ts);
    const rows = await eventually(async () => {
      const r = (
        await w.db.client.query(`SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'pinned'`, [
          inc.id,
        ])
      ).rows as Array<{ text: string }>;
      return r.length ? r : undefined;
    });
    expect(rows[0]?.text).toBe(
      'Pinned: rollback fixed <EU>, see <https://grafana.example/d/1?from=now-1h&to=now|graph>',
    );
    const slash = await w.slash(`incident timeline ${inc.id}`);
    expect(slash.status).toBe(200);
    const timeline = JSON.stringify(slash.json ?? (await w.slack.waitFor('response_url')));
    expect(timeline).toContain('rollback fixed &lt;EU&gt;');
    expect(timeline).toContain(LINK);
    expect(timeline).not.toContain('&lt;https://');
  });
});
