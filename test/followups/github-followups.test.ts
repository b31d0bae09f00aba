// A filled-in post-mortem's action items become GitHub issues through the real Octokit talking
// to the GitHub fake: two items make two issues, once; closing one on GitHub shows it closed on
// the next `/dmp postmortem`; a rate limit is waited out, and a refusal is said in the thread; Add follow-up
// on the root files one issue as the presser, with its owner and due date, and so does a
// :ballot_box_with_check: on a message of the thread.
import { type GitHubFake, startGitHubFake } from '@dmp-bot/sim/github-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FOLLOWUP_VIEW,
  FU_DUE,
  FU_OWNER,
  FU_TITLE,
  PM_ACTION_ITEMS,
  PM_LEARNINGS,
  PM_ROOT_CAUSE,
  POSTMORTEM_VIEW,
} from '../../src/blocks/incident-ids.js';
import {
  ALICE,
  controls,
  DANA,
  event,
  eventually,
  INCIDENTS,
  LEAD,
  page,
  settled,
  startWorld,
  textOf,
  type World,
} from '../incidents/world.js';

const TOKEN = 'ghp_followuptesttoken0000000000000000';
const REPO = 'dmp/platform';
const DANA_PD = { id: 'PDMPUSR1', summary: 'Dana On-Call' };

describe('post-mortem follow-ups in GitHub', () => {
  let w: World;
  let gh: GitHubFake;
  const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
  const id = 'QFOLLOWUP0001';
  const incident = page({ id, title: 'Scan queue backlog', number: 77, created_at: new Date(t0).toISOString() });

  const fill = (actionItems: string, learnings = 'Alerts came late') =>
    w.submit({
      callback_id: POSTMORTEM_VIEW,
      private_metadata: id,
      values: {
        [PM_ROOT_CAUSE]: { value: { type: 'plain_text_input', value: 'A stuck consumer' } },
        [PM_ACTION_ITEMS]: { value: { type: 'plain_text_input', value: actionItems } },
        [PM_LEARNINGS]: { value: { type: 'plain_text_input', value: learnings } },
      },
    });
  const rootTs = () => w.roots().find((m) => m.text.includes('Scan queue backlog'))?.ts ?? '';
  const followupRows = async () =>
    (
      await w.db.client.query<{
        title: string;
        issue_number: number | null;
        state: string | null;
        done_at: Date | null;
      }>('SELECT title, issue_number, state, done_at FROM incident_followups WHERE incident_id = $1 ORDER BY id', [id])
    ).rows;

  beforeAll(async () => {
    gh = await startGitHubFake({ tokens: [TOKEN], repos: [REPO] });
    w = await startWorld({ GITHUB_TOKEN: TOKEN, FOLLOWUP_REPO: REPO, GITHUB_API_URL: `${gh.url}/` });
    await w.start();
    await w.deliver(event('incident.triggered', incident, { occurredAt: new Date(t0), agent: null }));
    await w.deliver(
      event(
        'incident.resolved',
        { ...incident, status: 'resolved' },
        { occurredAt: new Date(t0 + 600_000), agent: DANA_PD },
      ),
    );
    await eventually(() => w.slack.files.find((f) => f.name === 'postmortem-77.md'), 10_000, 'the post-mortem');
    await settled(w);
  });

  afterAll(async () => {
    await w?.close();
    await gh?.close();
  });

  it('files each action item as one issue, labelled, linking the incident and its thread, and says so in the thread', async () => {
    const res = await fill('- [ ] Add a consumer lag alert\n2. Document the restart procedure\n');
    expect(res.status).toBe(200);
    await eventually(() => gh.issues(REPO).length === 2, 15_000, 'two issues');
    const [a, b] = gh.issues(REPO);
    expect(a?.title).toBe('Add a consumer lag alert');
    expect(b?.title).toBe('Document the restart procedure');
    expect(a?.labels).toEqual(['incident', 'P2']);
    const creates = gh.requests.filter((r) => r.method === 'POST');
    expect(creates.every((r) => r.headers.authorization === `token ${TOKEN}`)).toBe(true);
    expect(creates[0]?.path).toBe(`/repos/${REPO}/issues`);
    // The body links PagerDuty's incident and the Slack thread's permalink.
    expect(a?.body).toMatch(/PagerDuty: https:\/\/[a-z0-9-]+\.pagerduty\.com\/incidents\/QFOLLOWUP0001/);
    expect(a?.body).toContain(`/archives/${w.env.INCIDENTS_CHANNEL}/p${rootTs().replace('.', '')}`);
    const told = await eventually(
      () => w.replies(rootTs()).find((m) => textOf(m).includes('Follow-ups filed in GitHub')),
      15_000,
      'the follow-ups reply',
    );
    expect(textOf(told)).toContain(`<https://github.com/${REPO}/issues/1|#1> Add a consumer lag alert`);
    expect(textOf(told)).toContain(`<https://github.com/${REPO}/issues/2|#2> Document the restart procedure`);
    expect((await followupRows()).map((r) => [r.issue_number, r.state])).toEqual([
      [1, 'open'],
      [2, 'open'],
    ]);
    // The stored document lists them with their links.
    const { rows } = await w.db.client.query<{ document: string }>(
      'SELECT document FROM incident_postmortems WHERE incident_id = $1',
      [id],
    );
    expect(rows[0]?.document).toContain(
      `| [${REPO}#1](https://github.com/${REPO}/issues/1) | Add a consumer lag alert | open |`,
    );
  });

  it('re-submitting the same items makes no new issue', async () => {
    const posts = gh.requests.filter((r) => r.method === 'POST').length;
    const updates = w.replies(rootTs()).filter((m) => textOf(m).includes('Updated by')).length;
    // Same items, other spacing and case, with another field changed so the form saves.
    const res = await fill(
      'add a consumer  lag alert\n- Document the restart procedure',
      'Alerts came late; dashboards helped',
    );
    expect(res.status).toBe(200);
    await eventually(
      () => w.replies(rootTs()).filter((m) => textOf(m).includes('Updated by')).length > updates,
      15_000,
      'the updated post-mortem',
    );
    await settled(w);
    expect(gh.issues(REPO)).toHaveLength(2);
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(posts);
    expect(await followupRows()).toHaveLength(2);
  });

  it('an issue closed on GitHub shows as closed on the next /dmp postmortem', async () => {
    gh.closeIssue(REPO, 1);
    const shown = await w.slash(`postmortem ${id}`);
    const text = JSON.stringify(shown.json);
    expect(text).toContain(
      `:white_check_mark: <https://github.com/${REPO}/issues/1|#1> Add a consumer lag alert — closed`,
    );
    expect(text).toContain(
      `:white_circle: <https://github.com/${REPO}/issues/2|#2> Document the restart procedure — open`,
    );
    expect((await followupRows()).map((r) => r.state)).toEqual(['closed', 'open']);
    const { rows } = await w.db.client.query<{ document: string }>(
      'SELECT document FROM incident_postmortems WHERE incident_id = $1',
      [id],
    );
    expect(rows[0]?.document).toContain('| Add a consumer lag alert | closed |');
  });

  it('an issue closed on GitHub reaches the stored document within a day, unasked', async () => {
    gh.closeIssue(REPO, 2);
    // Last read two days ago: the worker's follow-up lane reads it again on its own.
    await w.db.client.query(
      `UPDATE incident_followups SET state_at = now() - interval '2 days' WHERE incident_id = $1 AND issue_number = 2`,
      [id],
    );
    await eventually(async () => (await followupRows())[1]?.state === 'closed', 15_000, 'the state read back');
    const { rows } = await w.db.client.query<{ document: string }>(
      'SELECT document FROM incident_postmortems WHERE incident_id = $1',
      [id],
    );
    expect(rows[0]?.document).toContain('| Document the restart procedure | closed |');
  });

  it('a reopened issue reads as open again the next day, and a failed read-back is tried again within the hour', async () => {
    gh.reopenIssue(REPO, 2);
    const stale = () =>
      w.db.client.query(
        `UPDATE incident_followups SET state_at = now() - interval '2 days' WHERE incident_id = $1 AND issue_number = 2`,
        [id],
      );
    await stale();
    await eventually(async () => (await followupRows())[1]?.state === 'open', 15_000, 'the reopened state');
    const { rows } = await w.db.client.query<{ document: string }>(
      'SELECT document FROM incident_postmortems WHERE incident_id = $1',
      [id],
    );
    expect(rows[0]?.document).toContain('| Document the restart procedure | open |');
    // GitHub refuses the next read (rate limit): the issue is due again in an hour, not in a day.
    const reads = gh.requests.length;
    gh.rateLimit('primary', 1, 3600);
    await stale();
    await eventually(() => gh.requests.length > reads, 15_000, 'the read-back tried');
    const next = await eventually(
      async () =>
        (
          await w.db.client.query<{ due_in_min: number }>(
            `SELECT round(extract(epoch FROM (state_at + interval '24 hours' - now())) / 60)::int AS due_in_min
               FROM incident_followups WHERE incident_id = $1 AND issue_number = 2 AND state_at > now() - interval '1 day'`,
            [id],
          )
        ).rows.find((x) => x.due_in_min < 1_000),
      15_000,
      'the retry scheduled (the claim itself makes it due in a day)',
    );
    expect(next.due_in_min).toBeGreaterThan(0);
    expect(next.due_in_min).toBeLessThanOrEqual(60);
    expect((await followupRows())[1]?.state).toBe('open');
  });

  it("waits out GitHub's rate limit and files the item after it", async () => {
    gh.rateLimit('primary', 1, 1);
    await fill('Add a consumer lag alert\nDocument the restart procedure\nPage the data team on lag', 'Third learning');
    await eventually(() => gh.issues(REPO).length === 3, 30_000, 'the third issue after the rate limit');
    expect(gh.issues(REPO)[2]?.title).toBe('Page the data team on lag');
    // The first try met the limit; the issue came from a later one.
    const posts = gh.requests.filter((r) => r.method === 'POST' && r.path === `/repos/${REPO}/issues`);
    expect(posts.length).toBeGreaterThanOrEqual(4);
  });

  it('Add follow-up on the root opens a modal whose item becomes one issue, with its owner and due date, as the presser', async () => {
    const root = w.roots().find((m) => m.ts === rootTs());
    const add = controls(root).find((c) => c.label === 'Add follow-up');
    expect(add).toBeDefined();
    const opened = w.slack.callsTo('views.open').length;
    expect(
      await w.click({ actionId: add?.action_id ?? '', value: add?.value, blockId: add?.block_id, messageTs: rootTs() }),
    ).toBe(200);
    const modal = await eventually(() => w.slack.callsTo('views.open')[opened], 8_000, 'the modal');
    const view = modal.args.view as { callback_id: string; private_metadata: string; blocks: unknown[] };
    expect(view.callback_id).toBe(FOLLOWUP_VIEW);
    expect(view.private_metadata).toBe(id);
    expect(JSON.stringify(view.blocks)).toContain(REPO);

    const due = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
    const title = 'Alert when *workers* die | page on-call';
    const submit = (t = title, dueOn: string | undefined = due) =>
      w.submit({
        callback_id: FOLLOWUP_VIEW,
        private_metadata: id,
        values: {
          [FU_TITLE]: { [FU_TITLE]: { type: 'plain_text_input', value: t } },
          [FU_OWNER]: { [FU_OWNER]: { type: 'users_select', selected_user: LEAD } },
          [FU_DUE]: { [FU_DUE]: { type: 'datepicker', selected_date: dueOn ?? null } },
        },
      });
    const ephemerals = w.slack.callsTo('chat.postEphemeral').length;
    expect((await submit()).status).toBe(200);
    await eventually(() => gh.issues(REPO).length === 4, 15_000, 'the fourth issue');
    const issue = gh.issues(REPO)[3];
    expect(issue?.title).toBe(title);
    expect(issue?.labels).toEqual(['incident', 'P2']);
    expect(issue?.body).toContain('Follow-up added in the Slack thread of incident #77');
    expect(issue?.body).toContain('by Alice Ops.');
    expect(issue?.body).toContain('- Owner: Lee Lead (Slack)');
    expect(issue?.body).toContain(`- Due: ${due}`);
    // The presser is told, in the thread, to them alone.
    const told = await eventually(
      () =>
        w.slack
          .callsTo('chat.postEphemeral')
          .slice(ephemerals)
          .find((c) => c.args.user === ALICE),
      8_000,
      'the answer to the presser',
    );
    expect(String(told.args.text)).toContain('Follow-up added');
    expect(told.args.thread_ts).toBe(rootTs());
    // The thread says it was filed, with its owner, due date and who added it.
    const filed = await eventually(
      () => w.replies(rootTs()).find((m) => textOf(m).includes('/issues/4|#4>')),
      15_000,
      'the filed reply',
    );
    expect(textOf(filed)).toContain(`(owner <@${LEAD}>, due ${due}, added by <@${ALICE}>)`);
    // The stored document lists it: the title as written, its owner, due date and origin.
    await eventually(
      async () => {
        const { rows } = await w.db.client.query<{ document: string }>(
          'SELECT document FROM incident_postmortems WHERE incident_id = $1',
          [id],
        );
        return rows[0]?.document.includes(
          `| [${REPO}#4](https://github.com/${REPO}/issues/4) | Alert when \\*workers\\* die \\| page on-call | open | Lee Lead | ${due} | from the thread by Alice Ops |`,
        );
      },
      10_000,
      'the follow-up in the document',
    );
    const { rows: timeline } = await w.db.client.query<{ text: string; actor: { slackId?: string } }>(
      `SELECT text, actor FROM incident_timeline WHERE incident_id = $1 AND text LIKE 'Follow-up added:%'`,
      [id],
    );
    expect(timeline).toHaveLength(1);
    expect(timeline[0]?.actor.slackId).toBe(ALICE);

    // The same follow-up submitted again (or Slack retrying the submission) makes no second issue.
    const posts = gh.requests.filter((r) => r.method === 'POST').length;
    const before = w.slack.callsTo('chat.postEphemeral').length;
    expect((await submit('alert when  *workers* die | page on-call')).status).toBe(200);
    const again = await eventually(
      () =>
        w.slack
          .callsTo('chat.postEphemeral')
          .slice(before)
          .find((c) => c.args.user === ALICE),
      8_000,
      'the answer to the second submission',
    );
    expect(String(again.args.text)).toContain('already a follow-up');
    await settled(w);
    expect(gh.issues(REPO)).toHaveLength(4);
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(posts);
  });

  it('the Add follow-up modal answers a missing title or a past due date on the field', async () => {
    const submit = (title: string, date: string | null) =>
      w.submit({
        callback_id: FOLLOWUP_VIEW,
        private_metadata: id,
        values: {
          [FU_TITLE]: { [FU_TITLE]: { type: 'plain_text_input', value: title } },
          [FU_OWNER]: { [FU_OWNER]: { type: 'users_select', selected_user: null } },
          [FU_DUE]: { [FU_DUE]: { type: 'datepicker', selected_date: date } },
        },
      });
    const empty = JSON.parse((await submit('  ', null)).body) as { response_action: string; errors: object };
    expect(empty.response_action).toBe('errors');
    expect(Object.keys(empty.errors)).toEqual([FU_TITLE]);
    const past = JSON.parse((await submit('Rotate the worker keys', '2020-01-01')).body) as {
      errors: Record<string, string>;
    };
    expect(Object.keys(past.errors)).toEqual([FU_DUE]);
    expect(past.errors[FU_DUE]).toContain('from today');
    await settled(w);
    expect(gh.issues(REPO).map((i) => i.title)).not.toContain('Rotate the worker keys');
  });

  it('a :ballot_box_with_check: on a message in the thread adds it as a follow-up, once, as the person who reacted', async () => {
    const said = w.slack.userSays(
      INCIDENTS,
      DANA,
      'Add a *dashboard* for consumer lag, ask <@U0LEAD0001>\nand page the data team when it grows',
      rootTs(),
    );
    const react = (user: string, reaction: string, ts = said.ts) =>
      w.event({
        type: 'reaction_added',
        user,
        reaction,
        item_user: DANA,
        item: { type: 'message', channel: INCIDENTS, ts },
        event_ts: `${Math.floor(Date.now() / 1000)}.000900`,
      });
    // Another emoji is just a reaction.
    expect(await react(ALICE, 'eyes')).toBe(200);
    await settled(w);
    expect(gh.issues(REPO)).toHaveLength(4);

    const ephemerals = w.slack.callsTo('chat.postEphemeral').length;
    expect(await react(ALICE, 'ballot_box_with_check')).toBe(200);
    await eventually(() => gh.issues(REPO).length === 5, 15_000, 'the issue from the reaction');
    const issue = gh.issues(REPO)[4];
    // The message's first line, its mention as the person's name.
    expect(issue?.title).toBe('Add a *dashboard* for consumer lag, ask @Lee Lead');
    expect(issue?.body).toContain('Follow-up added in the Slack thread of incident #77');
    expect(issue?.body).toContain('by Alice Ops.');
    const told = await eventually(
      () =>
        w.slack
          .callsTo('chat.postEphemeral')
          .slice(ephemerals)
          .find((c) => c.args.user === ALICE),
      8_000,
      'the answer to the one who reacted',
    );
    expect(String(told.args.text)).toContain('Follow-up added');
    await eventually(
      () => w.replies(rootTs()).find((m) => textOf(m).includes(`/issues/5|#5> Add a *dashboard* for consumer lag`)),
      15_000,
      'the filed reply',
    );
    // A second person's reaction (or Slack redelivering the event) adds nothing.
    const posts = gh.requests.filter((r) => r.method === 'POST').length;
    const before = w.slack.callsTo('chat.postEphemeral').length;
    expect(await react(LEAD, 'ballot_box_with_check')).toBe(200);
    const again = await eventually(
      () =>
        w.slack
          .callsTo('chat.postEphemeral')
          .slice(before)
          .find((c) => c.args.user === LEAD),
      8_000,
      'the answer to the second reaction',
    );
    expect(String(again.args.text)).toContain('already a follow-up');
    // The bot's own posts are not follow-ups.
    const botReply = w.replies(rootTs()).find((m) => m.text.startsWith('Post-mortem for'));
    const third = w.slack.callsTo('chat.postEphemeral').length;
    expect(await react(ALICE, 'ballot_box_with_check', botReply?.ts)).toBe(200);
    const refused = await eventually(
      () =>
        w.slack
          .callsTo('chat.postEphemeral')
          .slice(third)
          .find((c) => c.args.user === ALICE),
      8_000,
      'the answer about the bot post',
    );
    expect(String(refused.args.text)).toContain('what people wrote');
    await settled(w);
    expect(gh.issues(REPO)).toHaveLength(5);
    expect(gh.requests.filter((r) => r.method === 'POST')).toHaveLength(posts);
  });

  it('a repository GitHub does not know is said in the thread, without the token', async () => {
    const [first] = w.bots;
    if (first) await w.stop(first);
    await w.start({ FOLLOWUP_REPO: 'dmp/no-such-repo' });
    await fill(
      'Add a consumer lag alert\nDocument the restart procedure\nPage the data team on lag\nRehearse the failover',
      'Fourth learning',
    );
    const warned = await eventually(
      () => w.replies(rootTs()).find((m) => textOf(m).includes('could not be filed in GitHub')),
      15_000,
      'the warning',
    );
    expect(textOf(warned)).toContain('Rehearse the failover');
    expect(textOf(warned)).toContain('dmp/no-such-repo');
    expect(textOf(warned)).toContain('404');
    expect(JSON.stringify(w.slack.messages)).not.toContain(TOKEN);
    // The three action items and the two added from the thread, nothing more.
    expect(gh.issues(REPO)).toHaveLength(5);
  });
});
