// An incident world for the tests: the Slack fake, the PagerDuty fake (echoing every change back
// as a signed webhook), one bot database, and as many bot processes on it as a test starts —
// so restarts and replicas are real: stop one, start another on the same BOT_DATABASE_URL.

import { type PagerDutyFake, startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import {
  deliverWebhook,
  type IncidentEventOptions,
  incidentEvent,
  type WebhookEnvelope,
  type WebhookIncident,
} from '@dmp-bot/sim/pagerduty-signing';
import { type SlackFake, type SlackMessage, startSlackFake } from '@dmp-bot/sim/slack-fake';
import {
  blockActionPayload,
  eventCallbackBody,
  interactionBody,
  SLACK_DEFAULTS,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionPayload,
} from '@dmp-bot/sim/slack-signing';
import { type BotHandle, startBot } from '../../src/bot.js';
import { configSecrets, loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { Redactor } from '../../src/redact.js';
import { assertSlackConformance } from '../helpers/bot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

export const SIGNING_SECRET = 'test-signing-secret-incidents';
export const BOT_TOKEN = 'xoxb-test-incidents-0001';
export const PD_TOKEN = 'pd-test-token-incidents-0001';
export const WEBHOOK_SECRET = 'pd-webhook-secret-current-0001';
export const OLD_WEBHOOK_SECRET = 'pd-webhook-secret-previous-0001';
export const INCIDENTS = 'C0INCIDENTS';
export const ALICE = 'U0ALICE01';
export const DANA = 'U0DANA001';
export const LEAD = 'U0LEAD0001';
export const DBA = 'S0DBATEAM1';

export interface BotProcess {
  bot: BotHandle;
  url: string;
  logs: string[];
}

export interface World {
  slack: SlackFake;
  pd: PagerDutyFake;
  db: TestDatabase;
  bots: BotProcess[];
  env: Record<string, string>;
  start(env?: Record<string, string | undefined>): Promise<BotProcess>;
  stop(p: BotProcess): Promise<void>;
  /** Delivers a signed webhook to a bot process (the first by default). */
  deliver(
    event: WebhookEnvelope,
    opts?: { to?: BotProcess; secrets?: string[]; webhookId?: string; rawBody?: string },
  ): Promise<Response>;
  /** Slack-side: a user clicks a button (or picks an option) on a message in #incidents. */
  click(input: {
    actionId: string;
    value?: string;
    blockId?: string;
    messageTs: string;
    threadTs?: string;
    user?: string;
    selected?: string;
    /** `selected` was chosen in an overflow menu rather than a select. */
    overflow?: boolean;
    to?: BotProcess;
  }): Promise<number>;
  submit(
    view: {
      callback_id: string;
      private_metadata?: string;
      values: Record<string, Record<string, Record<string, unknown>>>;
      id?: string;
    },
    user?: string,
    to?: BotProcess,
  ): Promise<{ status: number; body: string }>;
  slash(text: string, user?: string, to?: BotProcess): Promise<{ status: number; json: unknown; body: string }>;
  /** Slack-side: a user writes in a thread (an Events API message event). */
  say(text: string, threadTs: string, user?: string, to?: BotProcess): Promise<number>;
  event(event: Record<string, unknown>, to?: BotProcess): Promise<number>;
  roots(): SlackMessage[];
  replies(rootTs: string): SlackMessage[];
  close(): Promise<void>;
}

export async function startWorld(env: Record<string, string> = {}): Promise<World> {
  const slack = await startSlackFake({
    users: {
      [ALICE]: { name: 'alice', real_name: 'Alice Ops', email: 'alice@example.com' },
      [DANA]: { name: 'dana', real_name: 'Dana On-Call', email: 'dana@example.com' },
      [LEAD]: { name: 'lee', real_name: 'Lee Lead', email: 'lee@example.com' },
      U0NOMAIL01: { name: 'nomail', real_name: 'No Mail' },
      // A workspace member whose email is no user of the PagerDuty account.
      U0NOPD0001: { name: 'nopd', real_name: 'No PagerDuty', email: 'nopd@example.com' },
    },
    channels: { [INCIDENTS]: { name: 'incidents' } },
  });
  // The PagerDuty account's users: Dana (the token's owner and on-call), Eli, and the Slack
  // people who act in these tests; No Mail and anyone else are no user of the account.
  const pd = await startPagerDutyFake({
    token: PD_TOKEN,
    users: [
      { id: 'PDMPUSR1', name: 'Dana On-Call', email: 'dana@example.com', time_zone: 'Europe/London' },
      { id: 'PDMPUSR2', name: 'Eli Backup', email: 'eli@example.com', time_zone: 'America/New_York' },
      { id: 'PDMPUSR3', name: 'Alice Ops', email: 'alice@example.com' },
      { id: 'PDMPUSR4', name: 'Lee Lead', email: 'lee@example.com' },
    ],
  });
  const db = await createTestDatabase({ prefix: 'inc' });
  const baseEnv: Record<string, string> = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: '0',
    BOT_DATABASE_URL: db.url,
    PAGERDUTY_API_TOKEN: PD_TOKEN,
    PAGERDUTY_API_URL: pd.url,
    PAGERDUTY_WEBHOOK_SECRETS: WEBHOOK_SECRET,
    PAGERDUTY_FROM_EMAIL: 'bot-fallback@example.com',
    INCIDENTS_CHANNEL: INCIDENTS,
    INCIDENT_POLL_INTERVAL: '100ms',
    CHECK_DEADLINE: '500ms',
    // These tests time timers in seconds; Slack's real pace (one post a second a channel) is
    // tested in storm.test.ts, so here the channel may go faster.
    SLACK_CHANNEL_RATE: '50',
    SLACK_CHANNEL_BURST: '20',
    ...env,
  };
  const bots: BotProcess[] = [];

  const world: World = {
    slack,
    pd,
    db,
    bots,
    env: baseEnv,
    async start(extra = {}) {
      const logs: string[] = [];
      const config = loadConfig({ ...baseEnv, ...extra } as NodeJS.ProcessEnv);
      const redactor = new Redactor(configSecrets(config));
      const log = createLogger('debug', { write: (line: string) => void logs.push(line) }, redactor);
      const bot = await startBot(config, { log, redactor, host: '127.0.0.1' });
      const p = { bot, url: `http://127.0.0.1:${bot.port}`, logs };
      bots.push(p);
      if (!pd.webhookTarget) pd.webhookTarget = { url: `${p.url}/pagerduty/webhook`, secrets: [WEBHOOK_SECRET] };
      return p;
    },
    async stop(p) {
      await p.bot.stop();
      bots.splice(bots.indexOf(p), 1);
      if (pd.webhookTarget?.url.startsWith(p.url))
        pd.webhookTarget = bots[0] ? { url: `${bots[0].url}/pagerduty/webhook`, secrets: [WEBHOOK_SECRET] } : undefined;
    },
    deliver(event, o = {}) {
      const to = o.to ?? bots[0];
      if (!to) throw new Error('no bot running');
      return deliverWebhook(`${to.url}/pagerduty/webhook`, event, o.secrets ?? [WEBHOOK_SECRET], {
        ...(o.webhookId ? { webhookId: o.webhookId } : {}),
        ...(o.rawBody ? { rawBody: o.rawBody } : {}),
      });
    },
    async click(input) {
      const to = input.to ?? bots[0];
      if (!to) throw new Error('no bot running');
      const user = input.user ?? ALICE;
      const payload = blockActionPayload({
        user,
        channel: INCIDENTS,
        messageTs: input.messageTs,
        actionId: input.actionId,
        responseUrl: slack.responseUrl({ channel: INCIDENTS, user, messageTs: input.messageTs }),
        ...(input.value === undefined ? {} : { value: input.value }),
        ...(input.blockId ? { blockId: input.blockId } : {}),
        ...(input.threadTs ? { threadTs: input.threadTs } : {}),
        ...(input.selected
          ? { selectedOption: { text: { type: 'plain_text' as const, text: input.selected }, value: input.selected } }
          : {}),
        ...(input.overflow ? { elementType: 'overflow' as const } : {}),
      });
      const raw = interactionBody(payload);
      const res = await fetch(`${to.url}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(SIGNING_SECRET, raw),
        body: raw,
      });
      await res.text();
      return res.status;
    },
    async submit(view, user = ALICE, to = bots[0]) {
      if (!to) throw new Error('no bot running');
      const raw = interactionBody(
        viewSubmissionPayload({
          user,
          view: {
            callback_id: view.callback_id,
            private_metadata: view.private_metadata ?? '',
            state: { values: view.values },
            ...(view.id ? { id: view.id } : {}),
          },
        }),
      );
      const res = await fetch(`${to.url}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(SIGNING_SECRET, raw),
        body: raw,
      });
      return { status: res.status, body: await res.text() };
    },
    async slash(text, user = ALICE, to = bots[0]) {
      if (!to) throw new Error('no bot running');
      const raw = slashCommandBody({
        command: '/dmp',
        text,
        user_id: user,
        user_name: slack.users[user]?.name ?? SLACK_DEFAULTS.userName,
        channel_id: SLACK_DEFAULTS.channelId,
        response_url: slack.responseUrl({ channel: SLACK_DEFAULTS.channelId, user }),
      });
      const res = await fetch(`${to.url}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(SIGNING_SECRET, raw),
        body: raw,
      });
      const body = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(body);
      } catch {
        json = undefined;
      }
      return { status: res.status, json, body };
    },
    async say(text, threadTs, user = ALICE, to) {
      const ts = `${Math.floor(Date.now() / 1000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
      return world.event(
        {
          type: 'message',
          channel: INCIDENTS,
          channel_type: 'channel',
          user,
          text,
          ts,
          thread_ts: threadTs,
          event_ts: ts,
        },
        to,
      );
    },
    async event(event, to = bots[0]) {
      if (!to) throw new Error('no bot running');
      const raw = eventCallbackBody(event);
      const res = await fetch(`${to.url}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest(SIGNING_SECRET, raw),
        body: raw,
      });
      await res.text();
      return res.status;
    },
    roots: () => slack.topLevel(INCIDENTS),
    replies: (rootTs) => slack.thread(INCIDENTS, rootTs),
    async close() {
      for (const p of [...bots]) await p.bot.stop().catch(() => {});
      bots.length = 0;
      pd.webhookTarget = undefined;
      await pd.close();
      await slack.close();
      await db.drop();
      assertSlackConformance(slack);
    },
  };
  return world;
}

/** An incident as PagerDuty would send it in a webhook, with its service and on-call. */
export function page(overrides: Partial<WebhookIncident> & { id: string; title: string }): WebhookIncident {
  return {
    status: 'triggered',
    urgency: 'high',
    service: { id: 'PDMPWRK', summary: 'DMP Scan Workers' },
    assignees: [{ id: 'PDMPUSR1', summary: 'Dana On-Call' }],
    ...overrides,
  };
}

export function event(type: string, incident: WebhookIncident, opts: IncidentEventOptions = {}): WebhookEnvelope {
  return incidentEvent(type, incident, opts);
}

/** Polls until `check` returns a value (not undefined/false), or fails after `ms`. */
export async function eventually<T>(
  check: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 8_000,
  what = 'condition',
): Promise<T> {
  const until = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until nothing is left to do in the bot store: events processed, outboxes sent. */
export async function settled(w: World, ms = 10_000): Promise<void> {
  await w.pd.settled();
  await eventually(
    async () => {
      const [row] = (
        await w.db.client.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM pd_webhook_events WHERE processed_at IS NULL)
              + (SELECT count(*) FROM incident_outbox WHERE done_at IS NULL)
              + (SELECT count(*) FROM pd_outbox WHERE done_at IS NULL)
              + (SELECT count(*) FROM statuspage_outbox WHERE done_at IS NULL) AS n`,
        )
      ).rows;
      return Number(row?.n) === 0;
    },
    ms,
    'the bot to settle',
  );
  await w.pd.settled();
  // PagerDuty's echoes of the bot's own calls, once delivered, are processed too.
  await eventually(
    async () => {
      const [row] = (
        await w.db.client.query<{ n: number }>(
          `SELECT (SELECT count(*) FROM pd_webhook_events WHERE processed_at IS NULL) + (SELECT count(*) FROM incident_outbox WHERE done_at IS NULL) AS n`,
        )
      ).rows;
      return Number(row?.n) === 0;
    },
    ms,
    'the echoes to settle',
  );
}

/**
 * Settled, and every bot's incident worker has run its rounds since and finished what they
 * started: whatever was due has been looked at. Wait for this before asserting that nothing was posted.
 */
export async function quiet(w: World): Promise<void> {
  await Promise.all(w.bots.map((b) => b.bot.built.inflight.drain(10_000)));
  await settled(w);
  await Promise.all(w.bots.map((b) => b.bot.incidentsSettled()));
  await settled(w);
}

export function textOf(m: SlackMessage | undefined): string {
  return m ? `${m.text}\n${JSON.stringify(m.blocks ?? [])}` : '';
}

/** The buttons and selects of a message, by label/placeholder. */
export function controls(m: SlackMessage | undefined): Array<{
  type: string;
  label: string;
  action_id: string;
  value?: string;
  block_id?: string;
  options?: Array<{ value: string; text: { text: string } }>;
  initial?: string;
}> {
  const out: ReturnType<typeof controls> = [];
  for (const b of (m?.blocks ?? []) as Array<{
    type: string;
    block_id?: string;
    elements?: Array<Record<string, unknown>>;
  }>) {
    if (b.type !== 'actions') continue;
    for (const e of b.elements ?? []) {
      // An overflow's options are controls of their own, pressed by choosing them.
      if (e.type === 'overflow') {
        for (const o of (e.options ?? []) as Array<{ value: string; text: { text: string } }>)
          out.push({
            type: 'overflow',
            label: o.text.text,
            action_id: String(e.action_id),
            value: o.value,
            block_id: b.block_id,
          });
        continue;
      }
      const label = ((e.text ?? e.placeholder) as { text?: string } | undefined)?.text ?? '';
      out.push({
        type: String(e.type),
        label,
        action_id: String(e.action_id),
        value: e.value as string | undefined,
        block_id: b.block_id,
        options: e.options as Array<{ value: string; text: { text: string } }> | undefined,
        initial: (e.initial_option as { value?: string } | undefined)?.value,
      });
    }
  }
  return out;
}

/**
 * Presses "Restart scan-workers" on `on` (a diagnosis in the incident's thread, or the root) and
 * then Confirm on the preview it brings, as an operator would; resolves once the preview is confirmed.
 */
export async function restartWorkersFromThread(w: World, root: SlackMessage, on: SlackMessage): Promise<void> {
  await w.click({
    actionId: 'remedy:restart-deployment:0',
    value: JSON.stringify({ remedy: 'restart-deployment', params: { deployment: 'scan-workers' } }),
    messageTs: on.ts,
    threadTs: root.ts,
  });
  const preview = await eventually(
    () => w.replies(root.ts).find((m) => controls(m).some((c) => c.label === 'Confirm')),
    10_000,
    'the preview with Confirm',
  );
  const confirm = controls(preview).find((c) => c.label === 'Confirm');
  await w.click({
    actionId: confirm?.action_id ?? '',
    value: confirm?.value,
    blockId: confirm?.block_id,
    messageTs: preview.ts,
    threadTs: root.ts,
  });
}
