// The console's workspace: the real Bolt app talks to the console's own small Slack
// (slack-server.ts) through its Web API client, and what the bot posts becomes lines on the
// terminal. Slash commands, clicks and modal submissions are fed to Bolt
// with app.processEvent, exactly as its receivers would, so the console runs the same code.
import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { blockActionPayload, newTriggerId, viewSubmissionPayload } from './payloads.js';
import { type Choice, plain, renderBlocks } from './render.js';
import { type ConsoleActivity, type ConsoleSlack, startConsoleSlack } from './slack-server.js';

export const CONSOLE_USER = 'U0CONSOLE';
export const CONSOLE_CHANNEL = 'C0CONSOLE';

export interface PendingModal {
  viewId: string;
  view: Record<string, unknown>;
}

interface NumberedChoice extends Choice {
  channel: string;
  messageTs: string;
  threadTs?: string;
}

export interface ConsoleWorkspace {
  slack: ConsoleSlack;
  /** Where the bot's Web API client must point. */
  apiUrl: string;
  attach(app: App): void;
  command(text: string): Promise<void>;
  press(n: number): Promise<string | undefined>;
  choice(n: number): NumberedChoice | undefined;
  /** The next modal the bot opened, if any, taken off the queue. */
  takeModal(): PendingModal | undefined;
  submitModal(
    modal: PendingModal,
    values: Record<string, Record<string, Record<string, unknown>>>,
  ): Promise<Record<string, unknown> | undefined>;
  /** Resolves once the bot has been quiet for `quietMs` (late replies, threads), at most `maxMs`. */
  settle(quietMs?: number, maxMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface WorkspaceOptions {
  userName: string;
  email?: string;
  print(text: string): void;
  /** Channel ids to names, e.g. the incidents channel. */
  channels?: Record<string, { name: string }>;
}

export async function startConsoleWorkspace(opts: WorkspaceOptions): Promise<ConsoleWorkspace> {
  const slack = await startConsoleSlack({
    users: {
      [CONSOLE_USER]: { name: opts.userName, real_name: opts.userName, ...(opts.email ? { email: opts.email } : {}) },
    },
    channels: { [CONSOLE_CHANNEL]: { name: 'console' }, ...opts.channels },
  });
  let app: App | undefined;
  const choices = new Map<number, NumberedChoice>();
  const byMessage = new Map<string, number[]>();
  const modals: PendingModal[] = [];
  let nextChoice = 1;
  let lastActivity = Date.now();
  let inFlight = 0;

  const channelName = (id: string) => (id === CONSOLE_CHANNEL ? '' : `#${opts.channels?.[id]?.name ?? id} `);

  const show = (
    where: { channel: string; ts: string; thread_ts?: string },
    text: string,
    blocks: unknown,
    prefix = '',
  ) => {
    const key = `${where.channel}/${where.ts}`;
    for (const n of byMessage.get(key) ?? []) choices.delete(n);
    const rendered = renderBlocks(blocks as KnownBlock[] | undefined, text, nextChoice);
    const numbers: number[] = [];
    for (const c of rendered.choices) {
      choices.set(nextChoice, { ...c, channel: where.channel, messageTs: where.ts, threadTs: where.thread_ts });
      numbers.push(nextChoice);
      nextChoice += 1;
    }
    byMessage.set(key, numbers);
    const inThread = where.thread_ts && where.thread_ts !== where.ts;
    const head = `${prefix}${channelName(where.channel)}${inThread ? '  ↳ ' : ''}`;
    const body = rendered.text
      .split('\n')
      .map((l) => (inThread ? `    ${l}` : l))
      .join('\n');
    opts.print(`${head ? `${head.trimEnd()}\n` : ''}${body}\n`);
  };

  const onActivity = (a: ConsoleActivity) => {
    lastActivity = Date.now();
    if (a.kind === 'response') {
      const latest = slack.messages[slack.messages.length - 1];
      const body = a.body;
      if (body.response_type === 'in_channel' && latest && latest.via === 'response_url') {
        show(latest, latest.text, latest.blocks);
      } else {
        show(
          { channel: CONSOLE_CHANNEL, ts: `resp-${Date.now()}` },
          String(body.text ?? ''),
          body.blocks,
          body.replace_original ? '(updated) ' : '(only you) ',
        );
      }
      return;
    }
    const args = a.args;
    const result = a.result as Record<string, unknown>;
    switch (a.method) {
      case 'chat.postMessage': {
        if (result.ok !== true) return;
        show(
          { channel: String(result.channel), ts: String(result.ts), thread_ts: args.thread_ts as string | undefined },
          String(args.text ?? ''),
          args.blocks,
        );
        return;
      }
      case 'chat.update': {
        if (result.ok !== true) return;
        const msg = slack.message(String(result.channel ?? args.channel), String(args.ts));
        show(
          { channel: String(args.channel), ts: String(args.ts), thread_ts: msg?.thread_ts },
          String(args.text ?? ''),
          args.blocks,
          '(updated) ',
        );
        return;
      }
      case 'chat.postEphemeral':
        show(
          {
            channel: String(args.channel),
            ts: String(result.message_ts ?? Date.now()),
            thread_ts: args.thread_ts as string | undefined,
          },
          String(args.text ?? ''),
          args.blocks,
          '(only you) ',
        );
        return;
      case 'views.open':
      case 'views.push': {
        const view = (result.view ?? args.view) as Record<string, unknown>;
        modals.push({ viewId: String(view.id ?? ''), view: (args.view ?? view) as Record<string, unknown> });
        return;
      }
      case 'files.completeUploadExternal': {
        for (const f of slack.files.slice(-((args.files as unknown[] | undefined)?.length ?? 1))) {
          const lines = f.content.split('\n');
          const shown = lines.slice(0, 60).join('\n');
          opts.print(
            `${channelName(f.channel ?? CONSOLE_CHANNEL)}${f.thread_ts ? '  ↳ ' : ''}[file] ${f.title}\n${shown}${lines.length > 60 ? `\n…and ${lines.length - 60} more lines` : ''}\n`,
          );
        }
        return;
      }
      default:
    }
  };
  slack.onActivity(onActivity);

  const process = async (body: Record<string, unknown>): Promise<Record<string, unknown> | undefined> => {
    if (!app) throw new Error('console workspace not attached to an app');
    let acked: Record<string, unknown> | undefined;
    inFlight += 1;
    try {
      await app.processEvent({
        body,
        ack: async (response?: unknown) => {
          acked = (response ?? undefined) as Record<string, unknown> | undefined;
        },
      });
    } finally {
      inFlight -= 1;
      lastActivity = Date.now();
    }
    return acked;
  };

  const workspace: ConsoleWorkspace = {
    slack,
    apiUrl: slack.apiUrl,
    attach(a) {
      app = a;
    },
    async command(text) {
      const responseUrl = slack.responseUrl({ channel: CONSOLE_CHANNEL, user: CONSOLE_USER });
      const body = {
        token: 'console',
        team_id: slack.teamId,
        team_domain: 'console',
        channel_id: CONSOLE_CHANNEL,
        channel_name: 'console',
        user_id: CONSOLE_USER,
        user_name: opts.userName,
        command: '/dmp',
        text,
        api_app_id: 'A0CONSOLE',
        response_url: responseUrl,
        trigger_id: newTriggerId(),
      };
      const acked = await process(body);
      // Slack turns the ack's body into a message (in_channel) or an ephemeral reply.
      if (acked && (acked.text || acked.blocks)) {
        await fetch(responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(acked),
        });
      }
    },
    choice: (n) => choices.get(n),
    async press(n) {
      const c = choices.get(n);
      if (!c) return `There is no choice ${n} on screen.`;
      const responseUrl = slack.responseUrl({ channel: c.channel, user: CONSOLE_USER, messageTs: c.messageTs });
      const message = slack.message(c.channel, c.messageTs);
      const payload = blockActionPayload({
        user: { id: CONSOLE_USER, name: opts.userName },
        channel: c.channel,
        messageTs: c.messageTs,
        threadTs: c.threadTs,
        actionId: c.actionId,
        blockId: c.blockId,
        value: c.value,
        text: c.label,
        responseUrl,
        ...(c.selected
          ? {
              selectedOption: { text: { type: 'plain_text' as const, text: c.selected.text }, value: c.selected.value },
            }
          : {}),
        ...(message
          ? { message: { ts: message.ts, text: message.text, blocks: message.blocks, thread_ts: message.thread_ts } }
          : {}),
      });
      await process(payload);
      return undefined;
    },
    takeModal: () => modals.shift(),
    async submitModal(modal, values) {
      const v = modal.view;
      const payload = viewSubmissionPayload({
        user: { id: CONSOLE_USER, name: opts.userName },
        view: {
          id: modal.viewId,
          callback_id: String(v.callback_id ?? ''),
          private_metadata: String(v.private_metadata ?? ''),
          state: { values },
          blocks: (v.blocks as unknown[]) ?? [],
        },
      });
      return process(payload);
    },
    async settle(quietMs = 400, maxMs = 20_000) {
      const started = Date.now();
      while (Date.now() - started < maxMs) {
        if (inFlight === 0 && Date.now() - lastActivity >= quietMs) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    close: () => slack.close(),
  };
  return workspace;
}

export { plain };
