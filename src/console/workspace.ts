// The console's workspace: the real Bolt app talks to the console's own small Slack
// (slack-server.ts) through its Web API client, and what the bot posts becomes lines on the
// terminal. Slash commands, clicks and modal submissions are fed to Bolt
// with app.processEvent, exactly as its receivers would, so the console runs the same code.
import type { App } from '@slack/bolt';
import type { KnownBlock } from '@slack/types';
import { blockActionPayload, blockSuggestionPayload, newTriggerId, viewSubmissionPayload } from './payloads.js';
import { type Choice, type Names, plain, renderBlocks } from './render.js';
import { type ConsoleActivity, type ConsoleSlack, type ConsoleUser, startConsoleSlack } from './slack-server.js';

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
  /** The workspace's people and channels, for rendering. */
  names: Names;
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
  /** What the bot offers in an external select for what was typed (block_suggestion, answered by its options). */
  suggest(modal: PendingModal, blockId: string, actionId: string, typed: string): Promise<SuggestedOption[]>;
  /** Resolves once the bot has been quiet for `quietMs` (late replies, threads), at most `maxMs`. */
  settle(quietMs?: number, maxMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SuggestedOption {
  text: { type: string; text: string };
  value: string;
}

/**
 * A typed `/dmp` line as Slack sends it with should_escape (manifest.yml): `&`, `<`, `>` as
 * entities, `@name` of a member as `<@U…|name>`, `#channel` as `<#C…|name>`, links and emails
 * in angle brackets; so `/dmp incident lead @alice` works here as in Slack.
 */
export function asSlackSends(
  typed: string,
  users: Record<string, { name: string }>,
  channels: Record<string, { name: string }>,
): string {
  const find = <T extends { name: string }>(all: Record<string, T>, name: string) =>
    Object.keys(all).find((k) => all[k]?.name.toLowerCase() === name.toLowerCase());
  return typed
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(
      /(^|\s)(?:@([a-z0-9][a-z0-9._-]*)|#([a-z0-9][a-z0-9_-]*)|(https?:\/\/\S+)|([^\s@]+@[^\s@]+\.[a-z]{2,}))(?=\s|$)/gi,
      (whole, lead: string, name?: string, chan?: string, url?: string, email?: string) => {
        if (name) {
          const id = find(users, name);
          return id ? `${lead}<@${id}|${users[id]?.name}>` : whole;
        }
        if (chan) {
          const id = find(channels, chan);
          return id ? `${lead}<#${id}|${channels[id]?.name}>` : whole;
        }
        if (url) return `${lead}<${url}>`;
        return `${lead}<mailto:${email}|${email}>`;
      },
    );
}

export interface WorkspaceOptions {
  userName: string;
  email?: string;
  print(text: string): void;
  /** Channel ids to names, e.g. the incidents channel. */
  channels?: Record<string, { name: string }>;
  /** People beside the console's user (user menus offer them; mentions show their names). */
  users?: Record<string, ConsoleUser>;
}

const optionList = (ticked: Map<string, string>) =>
  [...ticked].map(([value, text]) => ({ text: { type: 'plain_text' as const, text }, value }));

export async function startConsoleWorkspace(opts: WorkspaceOptions): Promise<ConsoleWorkspace> {
  const users: Record<string, ConsoleUser> = {
    [CONSOLE_USER]: { name: opts.userName, real_name: opts.userName, ...(opts.email ? { email: opts.email } : {}) },
    ...opts.users,
  };
  const channels: Record<string, { name: string }> = { [CONSOLE_CHANNEL]: { name: 'console' }, ...opts.channels };
  const slack = await startConsoleSlack({ users, channels });
  let app: App | undefined;
  const choices = new Map<number, NumberedChoice>();
  /** Per message: each choice's number, kept when the message is updated so a number stays put. */
  const numbering = new Map<string, Map<string, number>>();
  /** Per message and checkbox group: the ticked options (value → text). */
  const ticks = new Map<string, Map<string, Map<string, string>>>();
  const modals: PendingModal[] = [];
  let nextChoice = 1;
  let lastActivity = Date.now();
  let inFlight = 0;

  // users.info and conversations.info of this workspace: what Slack would show for an id.
  const names: Names = {
    user: (id) => users[id]?.name,
    channel: (id) => channels[id]?.name,
    users: () => Object.entries(users).map(([id, u]) => ({ id, name: u.name })),
  };
  const channelName = (id: string) => (id === CONSOLE_CHANNEL ? '' : `#${channels[id]?.name ?? id} `);
  const choiceKey = (c: Choice) => `${c.blockId ?? ''}/${c.actionId}/${c.value ?? ''}/${c.selected?.value ?? ''}`;
  const groupKey = (blockId: string | undefined, actionId: string) => `${blockId ?? ''}/${actionId}`;

  const show = (
    where: { channel: string; ts: string; thread_ts?: string },
    text: string,
    blocks: unknown,
    prefix = '',
  ) => {
    const key = `${where.channel}/${where.ts}`;
    const before = numbering.get(key) ?? new Map<string, number>();
    for (const n of before.values()) choices.delete(n);
    const after = new Map<string, number>();
    const rendered = renderBlocks(
      blocks as KnownBlock[] | undefined,
      text,
      (c) => {
        const k = choiceKey(c);
        const n = before.get(k) ?? after.get(k) ?? nextChoice++;
        after.set(k, n);
        choices.set(n, { ...c, channel: where.channel, messageTs: where.ts, threadTs: where.thread_ts });
        return n;
      },
      names,
    );
    numbering.set(key, after);
    const groups = new Map<string, Map<string, string>>();
    for (const c of rendered.choices) {
      if (c.kind !== 'checkboxes' && c.kind !== 'multi_static_select') continue;
      const g = groups.get(groupKey(c.blockId, c.actionId)) ?? new Map<string, string>();
      if (c.ticked && c.selected) g.set(c.selected.value, c.selected.text);
      groups.set(groupKey(c.blockId, c.actionId), g);
    }
    if (groups.size) ticks.set(key, groups);
    else ticks.delete(key);
    const inThread = where.thread_ts && where.thread_ts !== where.ts;
    const head = `${prefix}${channelName(where.channel)}${inThread ? '  ↳ ' : ''}`;
    const body = rendered.text
      .split('\n')
      .map((l) => (inThread ? `    ${l}` : l))
      .join('\n');
    opts.print(`${head ? `${head.trimEnd()}\n` : ''}${body}\n`);
  };

  /** The message's checkbox state as Slack sends it with a click: block → action → selected_options. */
  const stateOf = (messageKey: string): Record<string, Record<string, unknown>> => {
    const state: Record<string, Record<string, unknown>> = {};
    for (const [k, ticked] of ticks.get(messageKey) ?? []) {
      const slash = k.lastIndexOf('/');
      const blockId = k.slice(0, slash);
      const actionId = k.slice(slash + 1);
      state[blockId] = {
        ...state[blockId],
        [actionId]: { type: 'checkboxes', selected_options: optionList(ticked) },
      };
    }
    return state;
  };

  const onActivity = (a: ConsoleActivity) => {
    lastActivity = Date.now();
    if (a.kind === 'response') {
      const latest = slack.messages[slack.messages.length - 1];
      const body = a.body;
      if (body.response_type === 'in_channel' && latest && latest.via === 'response_url') {
        show(latest, latest.text, latest.blocks);
      } else if (body.replace_original === true && a.binding.messageTs) {
        // The same message, so its choices keep their numbers.
        const msg = slack.message(a.binding.channel, a.binding.messageTs);
        show(
          { channel: a.binding.channel, ts: a.binding.messageTs, thread_ts: msg?.thread_ts },
          String(body.text ?? ''),
          body.blocks,
          '(updated) ',
        );
      } else {
        show(
          { channel: CONSOLE_CHANNEL, ts: `resp-${Date.now()}-${nextChoice}` },
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
          if (/\.png$/i.test(f.name ?? '')) {
            // A chart: its numbers are in the message's table above.
            opts.print(
              `${channelName(f.channel ?? CONSOLE_CHANNEL)}[file] ${f.title} (PNG image, ${f.size ?? 0} bytes)\n`,
            );
            continue;
          }
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

  const process = async (
    body: Record<string, unknown>,
    onAck?: (response: Record<string, unknown> | undefined) => Promise<void>,
  ): Promise<Record<string, unknown> | undefined> => {
    if (!app) throw new Error('console workspace not attached to an app');
    let acked: Record<string, unknown> | undefined;
    inFlight += 1;
    try {
      await app.processEvent({
        body,
        ack: async (response?: unknown) => {
          acked = (response ?? undefined) as Record<string, unknown> | undefined;
          await onAck?.(acked);
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
    names,
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
        text: asSlackSends(text, users, channels),
        api_app_id: 'A0CONSOLE',
        response_url: responseUrl,
        trigger_id: newTriggerId(),
      };
      // Slack shows the ack's body (a message in the channel or an ephemeral reply) as soon as
      // the answer arrives: before the files and late replies the handler sends after it.
      await process(body, async (acked) => {
        if (!acked || !(acked.text || acked.blocks)) return;
        await fetch(responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(acked),
        });
      });
    },
    choice: (n) => choices.get(n),
    async press(n) {
      const c = choices.get(n);
      if (!c) return `There is no choice ${n} on screen.`;
      const key = `${c.channel}/${c.messageTs}`;
      const responseUrl = slack.responseUrl({ channel: c.channel, user: CONSOLE_USER, messageTs: c.messageTs });
      const message = slack.message(c.channel, c.messageTs);
      const picked = c.selected
        ? { text: { type: 'plain_text' as const, text: c.selected.text }, value: c.selected.value }
        : undefined;
      let action: Record<string, unknown> & { type: string; action_id: string };
      const common = { action_id: c.actionId, ...(c.blockId ? { block_id: c.blockId } : {}) };
      switch (c.kind) {
        case 'button':
          action = {
            type: 'button',
            ...common,
            text: { type: 'plain_text', text: c.label, emoji: true },
            ...(c.value === undefined ? {} : { value: c.value }),
          };
          break;
        case 'users_select':
          action = { type: 'users_select', ...common, selected_user: c.user ?? '' };
          break;
        case 'checkboxes':
        case 'multi_static_select': {
          // A tick toggles; Slack sends the whole ticked set with the action and in the state.
          const groups = ticks.get(key) ?? new Map<string, Map<string, string>>();
          const g = groups.get(groupKey(c.blockId, c.actionId)) ?? new Map<string, string>();
          const value = c.selected?.value ?? '';
          if (g.has(value)) g.delete(value);
          else g.set(value, c.selected?.text ?? value);
          groups.set(groupKey(c.blockId, c.actionId), g);
          ticks.set(key, groups);
          const list = [...g.values()];
          opts.print(
            `${g.has(value) ? '☑ ticked' : '☐ unticked'} ${c.selected?.text ?? value} — ticked now: ${list.length ? list.join(', ') : 'none'}\n`,
          );
          action = { type: c.kind, ...common, selected_options: optionList(g) };
          break;
        }
        default:
          action = { type: c.kind, ...common, selected_option: picked };
      }
      const payload = blockActionPayload({
        user: { id: CONSOLE_USER, name: opts.userName },
        channel: c.channel,
        messageTs: c.messageTs,
        ...(c.threadTs ? { threadTs: c.threadTs } : {}),
        action,
        responseUrl,
        state: stateOf(key),
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
    async suggest(modal, blockId, actionId, typed) {
      const v = modal.view;
      const acked = await process(
        blockSuggestionPayload({
          user: { id: CONSOLE_USER, name: opts.userName },
          view: {
            id: modal.viewId,
            callback_id: String(v.callback_id ?? ''),
            private_metadata: String(v.private_metadata ?? ''),
            blocks: (v.blocks as unknown[]) ?? [],
          },
          blockId,
          actionId,
          value: typed,
        }),
      );
      // Slack takes `options` or `option_groups` from the options URL's answer.
      const flat =
        (acked?.options as SuggestedOption[] | undefined) ??
        (acked?.option_groups as Array<{ options?: SuggestedOption[] }> | undefined)?.flatMap((g) => g.options ?? []) ??
        [];
      return flat.filter((o) => typeof o?.value === 'string' && typeof o?.text?.text === 'string').slice(0, 100);
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
