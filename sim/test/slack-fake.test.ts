import type { SlackCall, SlackFake } from '@dmp-bot/sim/slack-fake';
import { startSlackFake } from '@dmp-bot/sim/slack-fake';
import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const TOKEN = 'xoxb-test-token';

describe('slack fake', () => {
  let fake: SlackFake;
  let client: WebClient;

  beforeEach(async () => {
    fake = await startSlackFake({
      botToken: TOKEN,
      users: {
        U0ALICE01: { name: 'alice', email: 'alice@example.com', tz: 'Europe/Berlin' },
        U0BOB0001: { name: 'bob' },
      },
      usergroups: { S0OPS0001: ['U0ALICE01', 'U0BOB0001'] },
    });
    client = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
  });

  afterEach(async () => {
    await fake.close();
  });

  it('answers auth.test with the bot identity', async () => {
    const res = await client.auth.test();
    expect(res.ok).toBe(true);
    expect(res.user_id).toBe(fake.botUserId);
    expect(res.team_id).toBe(fake.teamId);
  });

  it('posts and updates a message, keeping its current state and the decoded blocks', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: 'Queue depth: 42' } }];
    const posted = await client.chat.postMessage({ channel: 'C0INC0001', text: 'queue', blocks });
    expect(posted.ts).toMatch(/^\d{10}\.\d{6}$/);
    const second = await client.chat.postMessage({ channel: 'C0INC0001', text: 'next' });
    expect(Number(second.ts)).toBeGreaterThan(Number(posted.ts));

    const call = fake.callsTo('chat.postMessage')[0];
    expect(call?.args.blocks).toEqual(blocks);
    expect(call?.args.token).toBeUndefined();

    await client.chat.update({ channel: 'C0INC0001', ts: posted.ts as string, text: 'acknowledged', blocks: [] });
    const stored = fake.message('C0INC0001', posted.ts as string);
    expect(stored?.text).toBe('acknowledged');
    expect(stored?.blocks).toEqual([]);
  });

  it('threads replies under their parent and returns them from conversations.replies', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0INC0001', text: 'incident' });
    await client.chat.postMessage({ channel: 'C0INC0001', text: 'reply 1', thread_ts: parent.ts as string });
    await client.chat.postMessage({ channel: 'C0INC0001', text: 'reply 2', thread_ts: parent.ts as string });
    expect(fake.topLevel('C0INC0001')).toHaveLength(1);
    expect(fake.thread('C0INC0001', parent.ts as string).map((m) => m.text)).toEqual(['reply 1', 'reply 2']);
    const replies = await client.conversations.replies({ channel: 'C0INC0001', ts: parent.ts as string });
    expect(replies.messages?.map((m) => m.text)).toEqual(['incident', 'reply 1', 'reply 2']);
  });

  it('keeps message metadata and returns it from history and replies only with include_all_metadata', async () => {
    const metadata = { event_type: 'dmp_incident_post', event_payload: { incident_id: 'Q1', outbox_id: 7 } };
    const parent = await client.chat.postMessage({ channel: 'C0INC0001', text: 'incident', metadata });
    await client.chat.postMessage({ channel: 'C0INC0001', text: 'reply', thread_ts: parent.ts as string, metadata });
    const plain = await client.conversations.replies({ channel: 'C0INC0001', ts: parent.ts as string });
    expect(plain.messages?.map((m) => m.metadata)).toEqual([undefined, undefined]);
    const withMd = await client.conversations.replies({
      channel: 'C0INC0001',
      ts: parent.ts as string,
      include_all_metadata: true,
    });
    expect(withMd.messages?.map((m) => m.metadata)).toEqual([metadata, metadata]);
    const history = await client.conversations.history({ channel: 'C0INC0001', include_all_metadata: true });
    expect(history.messages?.map((m) => m.metadata)).toEqual([metadata]);
    expect((await client.conversations.history({ channel: 'C0INC0001' })).messages?.[0]?.metadata).toBeUndefined();
    await expect(
      client.chat.postMessage({
        channel: 'C0INC0001',
        text: 'x',
        metadata: { event_type: '', event_payload: {} } as never,
      }),
    ).rejects.toMatchObject({ data: { ok: false, error: 'invalid_metadata_format' } });
  });

  it('holds calls at a gate until it opens, applying none before', async () => {
    const gate = fake.hold('chat.postMessage');
    const sent = client.chat.postMessage({ channel: 'C0INC0001', text: 'held' });
    await expect.poll(() => gate.waiting()).toBe(1);
    expect(fake.messages).toHaveLength(0);
    gate.open();
    await sent;
    expect(fake.messages.map((m) => m.text)).toEqual(['held']);
  });

  it('refuses calls without a token, and with the wrong one', async () => {
    const anonymous = new WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(anonymous.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      data: { ok: false, error: 'not_authed' },
    });
    const wrong = new WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(wrong.chat.postMessage({ channel: 'C1', text: 'x' })).rejects.toMatchObject({
      data: { error: 'invalid_auth' },
    });
  });

  it('answers unknown methods with unknown_method', async () => {
    await expect(client.apiCall('nope.never')).rejects.toMatchObject({ data: { error: 'unknown_method' } });
  });

  it('rejects blocks that break Slack limits, as Slack does', async () => {
    const tooMany = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    await expect(client.chat.postMessage({ channel: 'C1', text: 'x', blocks: tooMany })).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
  });

  it('opens, updates and pushes views, with ids and hashes', async () => {
    const view = {
      type: 'modal' as const,
      callback_id: 'mark_failed',
      title: { type: 'plain_text' as const, text: 'Mark scan failed' },
      submit: { type: 'plain_text' as const, text: 'Mark failed' },
      private_metadata: '{"channel":"C1"}',
      blocks: [
        {
          type: 'input' as const,
          block_id: 'scan',
          label: { type: 'plain_text' as const, text: 'Scan ID' },
          element: { type: 'plain_text_input' as const, action_id: 'scan_id' },
        },
      ],
    };
    const opened = await client.views.open({ trigger_id: '1.2.abc', view });
    expect(opened.view?.id).toMatch(/^V/);
    expect(opened.view?.hash).toBeTruthy();
    expect(fake.callsTo('views.open')[0]?.args.view).toMatchObject({ callback_id: 'mark_failed' });

    const updated = await client.views.update({
      view_id: opened.view?.id as string,
      hash: opened.view?.hash as string,
      view,
    });
    expect(updated.view?.id).toBe(opened.view?.id);
    await expect(
      client.views.update({ view_id: opened.view?.id as string, hash: opened.view?.hash as string, view }),
    ).rejects.toMatchObject({ data: { error: 'hash_conflict' } });

    const { submit: _submit, ...noSubmit } = view;
    await expect(client.views.open({ trigger_id: '1.2.abc', view: noSubmit })).rejects.toMatchObject({
      data: { error: 'invalid_arguments' },
    });
  });

  it('answers users.info from the configured users, with email only when known', async () => {
    const alice = await client.users.info({ user: 'U0ALICE01' });
    expect(alice.user?.profile?.email).toBe('alice@example.com');
    expect(alice.user?.tz).toBe('Europe/Berlin');
    const bob = await client.users.info({ user: 'U0BOB0001' });
    expect(bob.user?.profile?.email).toBeUndefined();
    await expect(client.users.info({ user: 'U0NOBODY1' })).rejects.toMatchObject({ data: { error: 'user_not_found' } });
  });

  it('lists user-group members', async () => {
    const res = await client.usergroups.users.list({ usergroup: 'S0OPS0001' });
    expect(res.users).toEqual(['U0ALICE01', 'U0BOB0001']);
  });

  it('takes a filesUploadV2 end to end and shares the file in a thread', async () => {
    const parent = await client.chat.postMessage({ channel: 'C0INC0001', text: 'incident' });
    const report = 'worker-1 alive\nworker-2 dead\n';
    const res = await client.filesUploadV2({
      channel_id: 'C0INC0001',
      thread_ts: parent.ts as string,
      filename: 'report.txt',
      title: 'Diagnosis report',
      content: report,
      initial_comment: 'Full report',
    });
    expect(res.ok).toBe(true);
    expect(fake.files).toHaveLength(1);
    expect(fake.files[0]).toMatchObject({
      title: 'Diagnosis report',
      content: report,
      channel: 'C0INC0001',
      thread_ts: parent.ts,
      initial_comment: 'Full report',
    });
    expect(fake.thread('C0INC0001', parent.ts as string)[0]?.files?.[0]?.title).toBe('Diagnosis report');
  });

  it('rate-limits a method with 429 and Retry-After, and WebClient retries after it', async () => {
    const retrying = new WebClient(TOKEN, { slackApiUrl: fake.apiUrl });
    fake.rateLimit('chat.postMessage', 1, 1);
    const started = Date.now();
    const res = await retrying.chat.postMessage({ channel: 'C1', text: 'after the wait' });
    expect(res.ok).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(fake.rateLimited).toHaveLength(1);
    expect(fake.callsTo('chat.postMessage')).toHaveLength(1);
  });

  it('records response_url posts and applies them to the message they came from', async () => {
    const posted = await client.chat.postMessage({ channel: 'C1', text: 'Restart workers?' });
    const url = fake.responseUrl({ channel: 'C1', messageTs: posted.ts as string, user: 'U0ALICE01' });
    const replaced = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replace_original: true, text: 'Restarting…' }),
    });
    expect(replaced.status).toBe(200);
    expect(fake.message('C1', posted.ts as string)?.text).toBe('Restarting…');

    await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'only you can see this' }),
    });
    expect(fake.ephemerals.at(-1)).toMatchObject({ user: 'U0ALICE01', text: 'only you can see this' });
    expect(fake.responses).toHaveLength(2);
  });

  it('stops accepting a response_url after five uses', async () => {
    const url = fake.responseUrl();
    const post = () =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"x"}' });
    for (let i = 0; i < 5; i++) expect((await post()).status).toBe(200);
    expect((await post()).status).toBe(404);
  });

  it('waitFor resolves with a call that arrives later, and onCall sees every call', async () => {
    const seen: string[] = [];
    const off = fake.onCall((a) => seen.push(a.kind === 'call' ? a.method : 'response'));
    const waiting = fake.waitFor((a) => a.kind === 'call' && a.args.text === 'later');
    await client.chat.postMessage({ channel: 'C1', text: 'sooner' });
    await client.chat.postMessage({ channel: 'C1', text: 'later' });
    const hit = (await waiting) as SlackCall;
    expect(hit.method).toBe('chat.postMessage');
    expect(await fake.waitFor('chat.postMessage')).toMatchObject({ args: { text: 'sooner' } });
    off();
    expect(seen).toEqual(['chat.postMessage', 'chat.postMessage']);
    await expect(fake.waitFor('views.open', 50)).rejects.toThrow(/nothing matched/);
  });

  it('goes down and comes back on the same port', async () => {
    await fake.down();
    await expect(client.auth.test()).rejects.toMatchObject({ code: 'slack_webapi_request_error' });
    await fake.up();
    expect((await client.auth.test()).ok).toBe(true);
  });

  it('reset clears what was recorded', async () => {
    await client.chat.postMessage({ channel: 'C1', text: 'x' });
    fake.reset();
    expect(fake.calls).toHaveLength(0);
    expect(fake.messages).toHaveLength(0);
  });
});
