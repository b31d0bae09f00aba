// Add follow-up acts as the person who pressed or submitted it, under the same rules as the other
// incident controls: with INCIDENT_RESPONDERS set only they may add one (the modal does not open,
// a forged submission files nothing), and the button must be on the incident's own post.
import { type GitHubFake, startGitHubFake } from '@dmp-bot/sim/github-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOLLOWUP_VIEW, FU_DUE, FU_OWNER, FU_TITLE } from '../../src/blocks/incident-ids.js';
import { ALICE, controls, event, eventually, LEAD, page, settled, startWorld, type World } from '../incidents/world.js';

const TOKEN = 'ghp_followupidentity000000000000000000';
const REPO = 'dmp/platform';

describe('Add follow-up: who may', () => {
  let w: World;
  let gh: GitHubFake;
  const id = 'QFUIDENT0001';

  beforeAll(async () => {
    gh = await startGitHubFake({ tokens: [TOKEN], repos: [REPO] });
    w = await startWorld({
      GITHUB_TOKEN: TOKEN,
      FOLLOWUP_REPO: REPO,
      GITHUB_API_URL: `${gh.url}/`,
      INCIDENT_RESPONDERS: LEAD,
    });
    await w.start();
    await w.deliver(
      event('incident.triggered', page({ id, title: 'Graph cache misses', number: 81 }), { agent: null }),
    );
    await settled(w);
  });

  afterAll(async () => {
    await w?.close();
    await gh?.close();
  });

  const root = () => w.roots().find((m) => m.text.includes('Graph cache misses'));
  const pressAdd = (user: string, messageTs = root()?.ts ?? '') => {
    const b = controls(root()).find((c) => c.label === 'Add follow-up');
    if (!b) throw new Error('no Add follow-up');
    return w.click({ actionId: b.action_id, value: b.value, blockId: b.block_id, messageTs, user });
  };
  const toldTo = (user: string, from: number) =>
    eventually(
      () =>
        w.slack
          .callsTo('chat.postEphemeral')
          .slice(from)
          .find((c) => c.args.user === user),
      8_000,
      `the answer to ${user}`,
    );

  it('refuses someone who is not a responder, and opens no modal', async () => {
    const views = w.slack.callsTo('views.open').length;
    const said = w.slack.callsTo('chat.postEphemeral').length;
    expect(await pressAdd(ALICE)).toBe(200);
    expect(String((await toldTo(ALICE, said)).args.text)).toContain('not allowed');
    await settled(w);
    expect(w.slack.callsTo('views.open')).toHaveLength(views);
  });

  it('files nothing for a submission from someone who is not a responder', async () => {
    const said = w.slack.callsTo('chat.postEphemeral').length;
    const res = await w.submit({
      callback_id: FOLLOWUP_VIEW,
      private_metadata: id,
      values: {
        [FU_TITLE]: { [FU_TITLE]: { type: 'plain_text_input', value: 'Warm the graph cache on deploy' } },
        [FU_OWNER]: { [FU_OWNER]: { type: 'users_select', selected_user: null } },
        [FU_DUE]: { [FU_DUE]: { type: 'datepicker', selected_date: null } },
      },
    });
    expect(res.status).toBe(200);
    expect(String((await toldTo(ALICE, said)).args.text)).toContain('not allowed');
    await settled(w);
    expect(gh.issues(REPO)).toHaveLength(0);
    const { rows } = await w.db.client.query('SELECT 1 FROM incident_followups WHERE incident_id = $1', [id]);
    expect(rows).toHaveLength(0);
  });

  it('refuses the control pressed on a message that is not the incident’s', async () => {
    const said = w.slack.callsTo('chat.postEphemeral').length;
    expect(await pressAdd(LEAD, '1700000000.999999')).toBe(200);
    expect(String((await toldTo(LEAD, said)).args.text)).toContain("not on this incident's own post");
  });

  it('opens the modal for a responder', async () => {
    const views = w.slack.callsTo('views.open').length;
    expect(await pressAdd(LEAD)).toBe(200);
    const opened = await eventually(() => w.slack.callsTo('views.open')[views], 8_000, 'the modal');
    expect((opened.args.view as { callback_id: string }).callback_id).toBe(FOLLOWUP_VIEW);
  });
});
