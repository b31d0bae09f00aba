// The abuse suite's Slack half: malformed, oversized, replayed and invented requests on
// /slack/events are refused with the right status and run nothing.

import {
  blockActionPayload,
  interactionBody,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionPayload,
} from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIGNING_SECRET, startTestBot, type TestBot } from '../helpers/bot.js';

describe('abuse: bodies on /slack/events', () => {
  let t: TestBot;
  const auditCount = async () =>
    (await t.bot.deps.store.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log'))[0]?.n ?? 0;

  beforeAll(async () => {
    t = await startTestBot();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('refuses a body over the size limit', async () => {
    const raw = slashCommandBody({ command: '/dmp', text: 'x'.repeat(2 * 1024 * 1024) });
    const res = await t
      .post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw))
      .catch(() => ({ status: 413, body: '' }));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(await auditCount()).toBe(0);
  });

  it('refuses bad JSON in payload= even when signed', async () => {
    const raw = 'payload=%7Bnot-json';
    const res = await t.post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });

  it('refuses a missing signature, a forged one and a replay older than 5 minutes', async () => {
    const raw = slashCommandBody({ command: '/dmp', text: 'health' });
    const none = await t.post('/slack/events', raw, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(none.status).toBe(401);
    const forged = await t.post('/slack/events', raw, signSlackRequest('not-the-secret', raw));
    expect(forged.status).toBe(401);
    const replay = await t.post(
      '/slack/events',
      raw,
      signSlackRequest(SIGNING_SECRET, raw, Math.floor(Date.now() / 1000) - 301),
    );
    expect(replay.status).toBe(401);
    expect(await auditCount()).toBe(0);
    expect(t.slack.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(0);
  });

  it('answers a signed interaction of a shape Slack never sends (actions null, no view) with 400, not a crash', async () => {
    const click = blockActionPayload({
      user: 'U0ALICE01',
      channel: 'C0OPS0001',
      messageTs: '1.000001',
      actionId: 'remediation:confirm',
      value: 'x',
      responseUrl: t.slack.responseUrl(),
    });
    const submission = viewSubmissionPayload({ user: 'U0ALICE01', view: { callback_id: 'x', state: { values: {} } } });
    for (const payload of [
      { ...click, actions: null },
      { ...click, actions: [null] },
      { ...submission, view: null },
    ]) {
      const raw = interactionBody(payload);
      const res = await t.post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw));
      expect(res.status).toBe(400);
      expect(res.body).toBe('{"error":"malformed request"}');
    }
    expect(t.slack.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(0);
  });

  it('answers an action nobody registered with a 4xx and posts nothing', async () => {
    const raw = interactionBody(
      blockActionPayload({
        user: 'U0ALICE01',
        channel: 'C0OPS0001',
        messageTs: '1.000001',
        actionId: 'drop_all_tables',
        value: '{}',
        responseUrl: t.slack.responseUrl(),
      }),
    );
    const res = await t.post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(t.slack.calls.filter((c) => c.method.startsWith('chat.'))).toHaveLength(0);
  }, 15_000);

  it('answers a modal submission for a view nobody registered with a 4xx and changes nothing', async () => {
    const raw = interactionBody(
      viewSubmissionPayload({
        user: 'U0ALICE01',
        view: { callback_id: 'grant_admin', state: { values: { b: { a: { type: 'plain_text_input', value: 'x' } } } } },
      }),
    );
    const before = await auditCount();
    const res = await t.post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await auditCount()).toBe(before);
    expect(t.slack.calls.filter((c) => c.method.startsWith('chat.') || c.method.startsWith('views.'))).toHaveLength(0);
  }, 15_000);

  it('serves /health and /metrics beside Slack, and 404s the rest', async () => {
    const health = (await (await fetch(`${t.url}/health`)).json()) as {
      status: string;
      version: string;
      components: Record<string, string>;
    };
    expect(health.status).toBe('healthy');
    expect(health.components.store).toBe('healthy');
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toContain('dmp_bot_commands_total');
    expect((await fetch(`${t.url}/nope`)).status).toBe(404);
  });
});
