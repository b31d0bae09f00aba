// Drives the remediation flow as Slack would: a slash command's reply becomes a message in the
// channel (Slack posts the ack's in_channel body), its buttons are pressed by operators, and
// the thread is read back from the Slack fake.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { blockActionPayload, interactionBody, SLACK_DEFAULTS, signSlackRequest } from '@dmp-bot/sim/slack-signing';
import { expect } from 'vitest';
import { type BotDriver, SIGNING_SECRET, type TestBot } from './bot.js';

export const ALICE = 'U0ALICE01';
export const BOB = 'U0BOB0001';
export const CAROL = 'U0CAROL01';
export const MALLORY = 'U0MALLORY';
export const CHANNEL = SLACK_DEFAULTS.channelId;

interface Element {
  type: string;
  action_id?: string;
  value?: string;
  text?: { text: string };
  options?: Array<{ value: string; text: { text: string } }>;
}
interface Block {
  type: string;
  block_id?: string;
  elements?: Element[];
}

export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Runs `/dmp <text>` and, as Slack does with an in_channel ack, posts the reply into the channel. */
export async function slashShown(
  t: BotDriver,
  text: string,
  user = ALICE,
): Promise<{ json: Record<string, unknown>; message?: SlackMessage }> {
  const res = await t.slash(text, { user });
  expect(res.status).toBe(200);
  const json = (res.json ?? {}) as Record<string, unknown>;
  if (!json.text && !json.blocks) return { json };
  const before = t.slack.messages.length;
  await fetch(res.responseUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  const message = t.slack.messages.slice(before).find((m) => m.via === 'response_url');
  return { json, message };
}

export function buttonsOf(
  m: { blocks?: unknown[] } | undefined,
): Array<{ label: string; actionId: string; value: string; blockId?: string }> {
  const out: Array<{ label: string; actionId: string; value: string; blockId?: string }> = [];
  for (const b of (m?.blocks ?? []) as Block[]) {
    if (b.type !== 'actions') continue;
    for (const e of b.elements ?? [])
      if (e.type === 'button')
        out.push({ label: e.text?.text ?? '', actionId: e.action_id ?? '', value: e.value ?? '', blockId: b.block_id });
  }
  return out;
}

export function button(
  m: { blocks?: unknown[] } | undefined,
  label: string | RegExp,
): { label: string; actionId: string; value: string; blockId?: string } {
  const found = buttonsOf(m).find((b) => (typeof label === 'string' ? b.label === label : label.test(b.label)));
  if (!found)
    throw new Error(
      `no button ${String(label)} among ${
        buttonsOf(m)
          .map((b) => b.label)
          .join(', ') || 'none'
      }`,
    );
  return found;
}

/** Presses a button on a message in the fake, as `user`; `state` is the message's input state Slack sends along. */
export async function press(
  t: BotDriver,
  m: SlackMessage,
  label: string | RegExp,
  user = ALICE,
  state?: Record<string, Record<string, unknown>>,
): Promise<{ status: number; body: string }> {
  const b = button(m, label);
  if (!state) {
    return t.click({
      actionId: b.actionId,
      value: b.value,
      blockId: b.blockId,
      messageTs: m.ts,
      threadTs: m.thread_ts,
      user,
      channel: m.channel,
      text: b.label,
    });
  }
  const responseUrl = t.slack.responseUrl({ channel: m.channel, user, messageTs: m.ts });
  const payload = blockActionPayload({
    actionId: b.actionId,
    value: b.value,
    blockId: b.blockId,
    messageTs: m.ts,
    threadTs: m.thread_ts,
    user,
    channel: m.channel,
    text: b.label,
    responseUrl,
  });
  const raw = interactionBody({ ...payload, state: { values: state } });
  return t.post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw));
}

/** The messages in the thread of `ts` (replies only). */
export function thread(t: Pick<BotDriver, 'slack'>, ts: string, channel = CHANNEL): SlackMessage[] {
  return t.slack.thread(channel, ts);
}

export function textOf(m: SlackMessage | undefined): string {
  return m ? `${m.text}\n${JSON.stringify(m.blocks ?? [])}` : '';
}

/** What the bot told `user` privately (ephemeral messages), as one text. */
export function toldTo(t: TestBot, user: string): string {
  return t.slack.ephemerals
    .filter((e) => e.user === user)
    .map((e) => e.text)
    .join('\n');
}

export async function auditRows(
  t: TestBot,
  action?: string,
): Promise<Array<{ user_id: string; action: string; outcome: string; text: string | null; reason: string | null }>> {
  return t.bot.deps.store.query(
    `SELECT user_id, action, outcome, text, reason FROM audit_log WHERE kind = 'remediation' ${action ? 'AND action = $1' : ''} ORDER BY id`,
    action ? [action] : [],
  );
}

/** Ticks checkboxes on a message, as Slack reports a checkbox change (a block action of its own). */
export async function tick(
  t: TestBot,
  m: SlackMessage,
  blockId: string,
  actionId: string,
  values: string[],
  user = ALICE,
): Promise<{ status: number; body: string }> {
  const responseUrl = t.slack.responseUrl({ channel: m.channel, user, messageTs: m.ts });
  const payload = blockActionPayload({ actionId, blockId, messageTs: m.ts, user, channel: m.channel, responseUrl });
  const action = {
    type: 'checkboxes',
    action_id: actionId,
    block_id: blockId,
    selected_options: values.map((v) => ({ text: { type: 'plain_text', text: v }, value: v })),
    action_ts: `${Math.floor(Date.now() / 1000)}.000100`,
  };
  const raw = interactionBody({ ...payload, actions: [action] });
  return t.post('/slack/events', raw, signSlackRequest(SIGNING_SECRET, raw));
}
