// A wire-level fake of the Slack Web API, response_url webhooks and the external file-upload
// endpoint. The real @slack/web-api WebClient (and so Bolt) talks to it unchanged through
// `slackApiUrl`. It keeps the workspace state a bot can observe (messages, threads, views,
// files, reactions) so tests and the console can read what the bot actually posted.

import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeHttpServer, Fault, FaultOptions } from './http-server.js';
import { json, parseJson, splitUrl, startHttpServer, text } from './http-server.js';
import { checkMessage, checkView, refusal } from './slack-conformance.js';
import { SLACK_DEFAULTS } from './slack-signing.js';

export interface SlackFakeUser {
  name: string;
  real_name?: string;
  email?: string;
  tz?: string;
  is_bot?: boolean;
}

export interface SlackFakeOptions {
  users?: Record<string, SlackFakeUser>;
  /** Usergroup id (`S…`) → member user ids. */
  usergroups?: Record<string, string[]>;
  /**
   * Channel id → name, for conversations.info. Unknown ids still answer, named after the id.
   * `member: false` makes the bot not a member: posts there answer `not_in_channel` until
   * conversations.join, which a private channel (`is_private`) refuses.
   */
  channels?: Record<string, { name: string; is_private?: boolean; member?: boolean }>;
  /** When set, only this token is accepted (`invalid_auth` otherwise); unset: any token. */
  botToken?: string;
  /** Slack allows five posts to one response_url. */
  responseUrlMaxUses?: number;
  port?: number;
}

export interface SlackCall {
  kind: 'call';
  method: string;
  /** Decoded arguments (token removed); JSON-in-form fields such as blocks are parsed. */
  args: Record<string, unknown>;
  at: number;
  /** What the fake answered. */
  result: Record<string, unknown>;
}

export interface SlackResponseUrlPost {
  kind: 'response';
  url: string;
  body: Record<string, unknown>;
  at: number;
}

export type SlackActivity = SlackCall | SlackResponseUrlPost;

/** A payload Slack would accept but show otherwise than meant (see slack-conformance.ts). */
export interface SlackViolation {
  method: string;
  flag: string;
  at: number;
}

export interface SlackMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  files?: Array<{ id: string; title: string; name: string }>;
  user: string;
  bot_id?: string;
  edited?: { user: string; ts: string };
  reactions: Array<{ name: string; users: string[]; count: number }>;
  /** How it got there: a Web API call, or a response_url post. */
  via: 'api' | 'response_url' | 'file';
}

export interface SlackEphemeral {
  channel: string;
  user: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  via: 'api' | 'response_url';
}

export interface SlackFile {
  id: string;
  name: string;
  title: string;
  /** The uploaded bytes decoded as UTF-8; `bytes` has them raw. */
  content: string;
  bytes: Buffer;
  channel?: string;
  thread_ts?: string;
  initial_comment?: string;
}

export interface SlackView {
  id: string;
  hash: string;
  type: string;
  callback_id?: string;
  private_metadata?: string;
  external_id?: string;
  title?: unknown;
  blocks: unknown[];
  root_view_id: string;
  previous_view_id: string | null;
  /** Who it is shown to, for App Home (`views.publish`). */
  user_id?: string;
  [field: string]: unknown;
}

export interface ResponseUrlBinding {
  /** The channel the command or click came from: in_channel replies are posted there. */
  channel?: string;
  /** The message a click came from: replace_original / delete_original act on it. */
  messageTs?: string;
  /** Who clicked or typed: ephemeral replies are shown to them. */
  user?: string;
}

export interface SlackFake {
  /** `http://127.0.0.1:PORT/api/`, for WebClient's `slackApiUrl` and `SLACK_API_URL`. */
  readonly apiUrl: string;
  readonly url: string;
  readonly http: FakeHttpServer;
  readonly calls: SlackCall[];
  readonly responses: SlackResponseUrlPost[];
  /** Every message as it now stands, in posting order (updates applied, deletions removed). */
  readonly messages: SlackMessage[];
  readonly ephemerals: SlackEphemeral[];
  readonly files: SlackFile[];
  readonly views: Map<string, SlackView>;
  readonly users: Record<string, SlackFakeUser>;
  readonly usergroups: Record<string, string[]>;
  readonly events: EventEmitter;
  readonly botUserId: string;
  readonly botId: string;
  readonly teamId: string;
  callsTo(method: string): SlackCall[];
  /**
   * A slash command's text as Slack sends it for what a person typed. Slack always writes `&`,
   * `<` and `>` as entities; with the command's `should_escape: true` it also sends a typed
   * `@name` of a member as `<@U…|name>`, `#channel` as `<#C…|name>`, a URL as `<url>` and an
   * email as `<mailto:e|e>`; with `false`, names stay plain text. `@name` of nobody stays as typed.
   */
  commandText(typed: string, opts?: { shouldEscape?: boolean }): string;
  message(channel: string, ts: string): SlackMessage | undefined;
  /**
   * A person writes a message (in a thread when `threadTs` is given), as typed in Slack: it is in
   * the channel's history for conversations.* from then on. The Events API delivery is the test's.
   */
  userSays(channel: string, user: string, text: string, threadTs?: string): SlackMessage;
  /** The replies in a thread (not the parent), oldest first. */
  thread(channel: string, threadTs: string): SlackMessage[];
  /** Messages not in any thread, oldest first. */
  topLevel(channel: string): SlackMessage[];
  responseUrl(binding?: ResponseUrlBinding): string;
  onCall(listener: (activity: SlackActivity) => void): () => void;
  waitFor(match: string | ((activity: SlackActivity) => boolean), timeoutMs?: number): Promise<SlackActivity>;
  /**
   * The next `times` calls to `method` get HTTP 429 with `Retry-After: retryAfterSec`; with
   * `channel`, only calls naming that channel (Slack limits chat.postMessage per channel).
   */
  rateLimit(method: string, retryAfterSec: number, times?: number, channel?: string): void;
  /** Adds or replaces a Web API method (e.g. apps.connections.open for the Socket Mode fake). */
  addMethod(method: string, handler: (args: Record<string, unknown>) => Record<string, unknown>): void;
  readonly rateLimited: Array<{ method: string; at: number; channel?: string }>;
  /**
   * A test's fault hook: calls to `method` from now on wait, unanswered and not yet applied,
   * until the gate is opened; one whose caller has gone meanwhile (killed) is dropped unapplied.
   */
  hold(method: string): SlackGate;
  /** Text that would render wrongly, found in what the bot sent; tests assert there is none. */
  readonly violations: SlackViolation[];
  /** Records the flags of a payload that reached Slack another way (an ack's HTTP body). */
  checkAck(payload: unknown, what?: string): void;
  setFault(kind: Fault, opts?: FaultOptions): void;
  down(): Promise<void>;
  up(): Promise<void>;
  /**
   * A channel changes: made private or public, the bot invited (`member: true`) or removed
   * (`member: false`), as a person in the workspace would.
   */
  setChannel(id: string, change: { name?: string; is_private?: boolean; member?: boolean }): void;
  reset(): void;
  close(): Promise<void>;
}

export interface SlackGate {
  /** Calls waiting at the gate now. */
  waiting(): number;
  /** Lets the waiting calls (and every later one) through. */
  open(): void;
}

// Block Kit fields that travel as JSON strings inside form bodies.
const JSON_FORM_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata', 'files', 'unfurls', 'user_auth_blocks']);

type Args = Record<string, unknown>;
type Result = Record<string, unknown>;

const str = (args: Args, key: string): string | undefined => {
  const value = args[key];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
};

/** A boolean argument as Slack reads it from a form or JSON body ("true", "1", true). */
const bool = (value: unknown): boolean => value === true || value === 'true' || value === '1' || value === 1;

const fail = (error: string, extra: Result = {}): Result => ({ ok: false, error, ...extra });

function decodeForm(raw: string): Args {
  const args: Args = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    args[key] = JSON_FORM_FIELDS.has(key) ? parseMaybeJson(value) : value;
  }
  return args;
}

function parseMaybeJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value; // Slack would reject it; leave it visible to the method as a string
  }
}

async function decodeArgs(req: IncomingMessage, body: Buffer, query: URLSearchParams): Promise<Args> {
  const args: Args = Object.fromEntries(query);
  const type = req.headers['content-type'] ?? '';
  if (type.includes('application/json')) {
    const parsed = parseJson(body);
    if (parsed && typeof parsed === 'object') Object.assign(args, parsed);
  } else if (type.includes('multipart/form-data')) {
    const form = await readMultipart(type, body);
    for (const [key, value] of form) {
      args[key] = typeof value === 'string' && JSON_FORM_FIELDS.has(key) ? parseMaybeJson(value) : value;
    }
  } else if (body.length > 0) {
    Object.assign(args, decodeForm(body.toString('utf8')));
  }
  return args;
}

function readMultipart(contentType: string, body: Buffer): Promise<FormData> {
  // Node's fetch Request has a spec-compliant multipart parser; no need for a dependency.
  return new Request('http://fake.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new Uint8Array(body),
  }).formData();
}

// ---

export async function startSlackFake(opts: SlackFakeOptions = {}): Promise<SlackFake> {
  const botUserId = 'U0DMPBOT1';
  const botId = 'B0DMPBOT1';
  const teamId = SLACK_DEFAULTS.teamId;
  const maxUses = opts.responseUrlMaxUses ?? 5;
  const users: Record<string, SlackFakeUser> = { ...opts.users };
  const usergroups: Record<string, string[]> = { ...opts.usergroups };
  const events = new EventEmitter();

  const calls: SlackCall[] = [];
  const responses: SlackResponseUrlPost[] = [];
  const messages: SlackMessage[] = [];
  const ephemerals: SlackEphemeral[] = [];
  const files: SlackFile[] = [];
  const views = new Map<string, SlackView>();
  const uploads = new Map<string, { name: string; length: number; bytes?: Buffer }>();
  const responseUrls = new Map<string, { binding: ResponseUrlBinding; uses: number }>();
  const rateLimits = new Map<string, { retryAfterSec: number; remaining: number; channel?: string }>();
  const rateLimited: Array<{ method: string; at: number; channel?: string }> = [];
  const joined = new Set<string>();
  const violations: SlackViolation[] = [];
  const flag = (method: string, flags: string[]): void => {
    for (const f of flags) violations.push({ method, flag: f, at: Date.now() });
  };
  /** The workspace's channels as they stand (a test may change them: setChannel). */
  const channels: Record<string, { name: string; is_private?: boolean; member?: boolean }> = { ...opts.channels };
  const memberOf = (channel: string): boolean => channels[channel]?.member !== false || joined.has(channel);
  const isPrivate = (channel: string): boolean => channels[channel]?.is_private ?? channel.startsWith('G');
  let seq = 0;

  // Slack timestamps are unique per channel and increase; "1700000000.000100", ".000200", …
  const nextTs = (): string => {
    seq += 1;
    const micros = seq * 100;
    return `${1_700_000_000 + Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  };
  const nextId = (prefix: string): string => {
    seq += 1;
    return `${prefix}${String(seq).padStart(10, '0')}`;
  };

  const findMessage = (channel: string | undefined, ts: string | undefined): SlackMessage | undefined =>
    messages.find((m) => m.channel === channel && m.ts === ts);

  /**
   * A message as the Web API returns it. Slack leaves message metadata out of
   * conversations.history and conversations.replies unless the call asks with include_all_metadata.
   */
  const messageJson = (m: SlackMessage, withMetadata = true): Result => {
    const replies =
      m.thread_ts === undefined ? messages.filter((r) => r.channel === m.channel && r.thread_ts === m.ts) : [];
    return {
      type: 'message',
      text: m.text,
      user: m.user,
      ...(m.bot_id ? { bot_id: m.bot_id, app_id: SLACK_DEFAULTS.apiAppId } : {}),
      ts: m.ts,
      team: teamId,
      ...(m.blocks ? { blocks: m.blocks } : {}),
      ...(m.attachments ? { attachments: m.attachments } : {}),
      ...(m.metadata && withMetadata ? { metadata: m.metadata } : {}),
      ...(m.files ? { files: m.files, upload: true } : {}),
      ...(m.thread_ts ? { thread_ts: m.thread_ts, parent_user_id: findMessage(m.channel, m.thread_ts)?.user } : {}),
      ...(replies.length > 0
        ? { thread_ts: m.ts, reply_count: replies.length, latest_reply: replies[replies.length - 1]?.ts }
        : {}),
      ...(m.edited ? { edited: m.edited } : {}),
      ...(m.reactions.length > 0 ? { reactions: m.reactions } : {}),
    };
  };

  const postMessage = (fields: Omit<SlackMessage, 'ts' | 'reactions'>): SlackMessage => {
    const message: SlackMessage = { ...fields, ts: nextTs(), reactions: [] };
    messages.push(message);
    return message;
  };

  const contentErrors = (method: string, args: Args): Result | undefined => {
    const checked = checkMessage(args);
    flag(method, checked.flags);
    if (checked.error) return refusal(checked.error, checked.refusals);
    const channel = str(args, 'channel');
    if (channel && method !== 'chat.update' && !memberOf(channel)) return fail('not_in_channel');
    if (args.metadata !== undefined) {
      // Slack wants {event_type: string, event_payload: object} (JSON-encoded in a form body).
      const md = args.metadata as { event_type?: unknown; event_payload?: unknown } | null;
      if (
        !md ||
        typeof md !== 'object' ||
        typeof md.event_type !== 'string' ||
        md.event_type === '' ||
        !md.event_payload ||
        typeof md.event_payload !== 'object' ||
        Array.isArray(md.event_payload)
      )
        return fail('invalid_metadata_format');
    }
    return undefined;
  };
  const viewErrors = (method: string, view: unknown): Result | undefined => {
    const checked = checkView(view);
    flag(method, checked.flags);
    return checked.refusals.length > 0 ? refusal('invalid_arguments', checked.refusals) : undefined;
  };

  const channelJson = (id: string): Result => ({
    id,
    name: channels[id]?.name ?? id.toLowerCase(),
    is_channel: id.startsWith('C'),
    is_group: id.startsWith('G'),
    is_im: id.startsWith('D'),
    is_private: isPrivate(id),
    is_archived: false,
    is_member: memberOf(id),
    created: 1_600_000_000,
    context_team_id: teamId,
  });

  const userJson = (id: string, user: SlackFakeUser): Result => ({
    id,
    team_id: teamId,
    name: user.name,
    deleted: false,
    real_name: user.real_name ?? user.name,
    tz: user.tz ?? 'Europe/London',
    tz_label: 'Local time',
    tz_offset: 0,
    is_bot: user.is_bot ?? false,
    is_admin: false,
    // Slack omits the email unless the app has users:read.email and the user has one.
    profile: {
      real_name: user.real_name ?? user.name,
      display_name: user.name,
      ...(user.email ? { email: user.email } : {}),
    },
  });

  const saveView = (view: Args, previous: SlackView | undefined, extra: Partial<SlackView> = {}): SlackView => {
    const id = previous?.id ?? nextId('V');
    const saved: SlackView = {
      ...view,
      id,
      team_id: teamId,
      type: str(view, 'type') ?? 'modal',
      blocks: Array.isArray(view.blocks) ? view.blocks : [],
      private_metadata: str(view, 'private_metadata') ?? '',
      callback_id: str(view, 'callback_id') ?? '',
      external_id: str(view, 'external_id') ?? previous?.external_id ?? '',
      state: { values: {} },
      hash: `${Math.floor(Date.now() / 1000)}.${nextId('h')}`,
      clear_on_close: false,
      notify_on_close: false,
      root_view_id: previous?.root_view_id ?? id,
      previous_view_id: previous?.previous_view_id ?? null,
      app_id: SLACK_DEFAULTS.apiAppId,
      app_installed_team_id: teamId,
      bot_id: botId,
      ...extra,
    };
    views.set(id, saved);
    return saved;
  };

  const findView = (args: Args): SlackView | undefined => {
    const viewId = str(args, 'view_id');
    if (viewId) return views.get(viewId);
    const externalId = str(args, 'external_id');
    return externalId ? [...views.values()].find((v) => v.external_id === externalId) : undefined;
  };

  // One function per Web API method: validate like Slack, change state, answer like Slack.
  const methods: Record<string, (args: Args) => Result> = {
    'api.test': (args) => ({ ok: true, args }),

    'auth.test': () => ({
      ok: true,
      url: `https://${SLACK_DEFAULTS.teamDomain}.slack.com/`,
      team: 'DMP Ops',
      user: 'dmp-bot',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const channel = str(args, 'channel');
      if (!channel) return fail('channel_not_found');
      if (!str(args, 'text') && args.blocks === undefined && args.attachments === undefined) return fail('no_text');
      const error = contentErrors('chat.postMessage', args);
      if (error) return error;
      const threadTs = str(args, 'thread_ts');
      const message = postMessage({
        channel,
        text: str(args, 'text') ?? '',
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(Array.isArray(args.attachments) ? { attachments: args.attachments } : {}),
        ...(args.metadata ? { metadata: args.metadata } : {}),
        user: botUserId,
        bot_id: botId,
        via: 'api',
      });
      return { ok: true, channel, ts: message.ts, message: messageJson(message) };
    },

    'chat.update': (args) => {
      const channel = str(args, 'channel');
      const message = findMessage(channel, str(args, 'ts'));
      if (!channel || !message) return fail('message_not_found');
      const error = contentErrors('chat.update', args);
      if (error) return error;
      const newText = str(args, 'text');
      if (newText !== undefined) message.text = newText;
      if (Array.isArray(args.blocks)) message.blocks = args.blocks;
      if (Array.isArray(args.attachments)) message.attachments = args.attachments;
      if (args.metadata) message.metadata = args.metadata;
      message.edited = { user: botUserId, ts: nextTs() };
      return { ok: true, channel, ts: message.ts, text: message.text, message: messageJson(message) };
    },

    'chat.postEphemeral': (args) => {
      const channel = str(args, 'channel');
      const user = str(args, 'user');
      if (!channel) return fail('channel_not_found');
      if (!user) return fail('user_not_found');
      if (!str(args, 'text') && args.blocks === undefined && args.attachments === undefined) return fail('no_text');
      const error = contentErrors('chat.postEphemeral', args);
      if (error) return error;
      const threadTs = str(args, 'thread_ts');
      const ts = nextTs();
      ephemerals.push({
        channel,
        user,
        ts,
        text: str(args, 'text') ?? '',
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        via: 'api',
      });
      return { ok: true, message_ts: ts };
    },

    'chat.delete': (args) => {
      const channel = str(args, 'channel');
      const message = findMessage(channel, str(args, 'ts'));
      if (!message) return fail('message_not_found');
      messages.splice(messages.indexOf(message), 1);
      return { ok: true, channel, ts: message.ts };
    },

    'chat.getPermalink': (args) => {
      const channel = str(args, 'channel');
      const message = findMessage(channel, str(args, 'message_ts'));
      if (!channel || !message) return fail('message_not_found');
      const base = `https://${SLACK_DEFAULTS.teamDomain}.slack.com/archives/${channel}/p${message.ts.replace('.', '')}`;
      const permalink = message.thread_ts ? `${base}?thread_ts=${message.thread_ts}&cid=${channel}` : base;
      return { ok: true, channel, permalink };
    },

    'views.open': (args) => {
      if (!str(args, 'trigger_id')) return fail('invalid_arguments');
      const refused = viewErrors('views.open', args.view);
      if (refused) return refused;
      return { ok: true, view: saveView(args.view as Args, undefined) };
    },

    'views.push': (args) => {
      if (!str(args, 'trigger_id')) return fail('invalid_arguments');
      const refused = viewErrors('views.push', args.view);
      if (refused) return refused;
      const top = [...views.values()].at(-1);
      return {
        ok: true,
        view: saveView(args.view as Args, undefined, {
          previous_view_id: top?.id ?? null,
          ...(top ? { root_view_id: top.root_view_id } : {}),
        }),
      };
    },

    'views.update': (args) => {
      const existing = findView(args);
      if (!existing) return fail('not_found');
      const hash = str(args, 'hash');
      if (hash !== undefined && hash !== existing.hash) return fail('hash_conflict');
      const refused = viewErrors('views.update', args.view);
      if (refused) return refused;
      return { ok: true, view: saveView(args.view as Args, existing) };
    },

    'views.publish': (args) => {
      const userId = str(args, 'user_id');
      if (!userId) return fail('invalid_arguments');
      const refused = viewErrors('views.publish', args.view);
      if (refused) return refused;
      const existing = [...views.values()].find((v) => v.type === 'home' && v.user_id === userId);
      return { ok: true, view: saveView(args.view as Args, existing, { user_id: userId }) };
    },

    'users.info': (args) => {
      const id = str(args, 'user') ?? '';
      const user = users[id];
      return user ? { ok: true, user: userJson(id, user) } : fail('user_not_found');
    },

    'users.lookupByEmail': (args) => {
      const email = (str(args, 'email') ?? '').toLowerCase();
      const found = Object.entries(users).find(([, u]) => u.email?.toLowerCase() === email);
      return found ? { ok: true, user: userJson(found[0], found[1]) } : fail('users_not_found');
    },

    'usergroups.users.list': (args) => {
      const members = usergroups[str(args, 'usergroup') ?? ''];
      return members ? { ok: true, users: [...members] } : fail('no_such_subteam');
    },

    'conversations.info': (args) => {
      const channel = str(args, 'channel');
      return channel ? { ok: true, channel: channelJson(channel) } : fail('channel_not_found');
    },

    'conversations.join': (args) => {
      const channel = str(args, 'channel');
      if (!channel) return fail('channel_not_found');
      if (!memberOf(channel) && isPrivate(channel)) return fail('method_not_supported_for_channel_type');
      const already = memberOf(channel);
      joined.add(channel);
      return { ok: true, channel: channelJson(channel), ...(already ? { warning: 'already_in_channel' } : {}) };
    },

    'conversations.open': (args) => {
      const userIds = (str(args, 'users') ?? '').split(',').filter(Boolean);
      if (userIds.length === 0) return fail('users_list_not_supplied');
      return { ok: true, channel: { id: `D${userIds.join('').replace(/^[UW]/, '')}` } };
    },

    'conversations.replies': (args) => {
      const channel = str(args, 'channel');
      const parent = findMessage(channel, str(args, 'ts'));
      if (!channel || !parent) return fail('thread_not_found');
      const rootTs = parent.thread_ts ?? parent.ts;
      const root = findMessage(channel, rootTs);
      const thread = [
        ...(root ? [root] : []),
        ...messages.filter((m) => m.channel === channel && m.thread_ts === rootTs),
      ];
      const withMetadata = bool(args.include_all_metadata);
      return {
        ok: true,
        messages: thread.map((m) => messageJson(m, withMetadata)),
        has_more: false,
        response_metadata: { next_cursor: '' },
      };
    },

    'conversations.history': (args) => {
      const channel = str(args, 'channel');
      if (!channel) return fail('channel_not_found');
      const top = messages.filter((m) => m.channel === channel && m.thread_ts === undefined).reverse();
      const withMetadata = bool(args.include_all_metadata);
      return {
        ok: true,
        messages: top.map((m) => messageJson(m, withMetadata)),
        has_more: false,
        response_metadata: { next_cursor: '' },
      };
    },

    'reactions.add': (args) => {
      const message = findMessage(str(args, 'channel'), str(args, 'timestamp'));
      const name = str(args, 'name');
      if (!message) return fail('message_not_found');
      if (!name) return fail('invalid_name');
      const reaction = message.reactions.find((r) => r.name === name);
      if (reaction?.users.includes(botUserId)) return fail('already_reacted');
      if (reaction) {
        reaction.users.push(botUserId);
        reaction.count += 1;
      } else {
        message.reactions.push({ name, users: [botUserId], count: 1 });
      }
      return { ok: true };
    },

    'files.getUploadURLExternal': (args) => {
      const filename = str(args, 'filename');
      const length = Number(str(args, 'length'));
      if (!filename || !Number.isFinite(length) || length <= 0) return fail('invalid_arguments');
      const fileId = nextId('F');
      uploads.set(fileId, { name: filename, length });
      return { ok: true, upload_url: `${server.url}/upload/v1/${fileId}`, file_id: fileId };
    },

    'files.completeUploadExternal': (args) => {
      const list = Array.isArray(args.files) ? (args.files as Args[]) : [];
      if (list.length === 0) return fail('invalid_arguments');
      const channel = str(args, 'channel_id');
      const threadTs = str(args, 'thread_ts');
      const comment = str(args, 'initial_comment');
      const done: SlackFile[] = [];
      for (const entry of list) {
        const id = str(entry, 'id') ?? '';
        const upload = uploads.get(id);
        if (!upload?.bytes) return fail('file_not_found');
        done.push({
          id,
          name: upload.name,
          title: str(entry, 'title') ?? upload.name,
          content: upload.bytes.toString('utf8'),
          bytes: upload.bytes,
          ...(channel ? { channel } : {}),
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(comment ? { initial_comment: comment } : {}),
        });
      }
      for (const file of done) uploads.delete(file.id);
      files.push(...done);
      const refs = done.map((f) => ({ id: f.id, title: f.title, name: f.name }));
      if (channel) {
        // Sharing a file posts a message carrying it, in the thread when one is given.
        postMessage({
          channel,
          text: comment ?? '',
          ...(threadTs ? { thread_ts: threadTs } : {}),
          files: refs,
          user: botUserId,
          bot_id: botId,
          via: 'file',
        });
      }
      return {
        ok: true,
        files: done.map((f) => ({
          id: f.id,
          name: f.name,
          title: f.title,
          size: f.bytes.length,
          permalink: `https://${SLACK_DEFAULTS.teamDomain}.slack.com/files/${botUserId}/${f.id}/${f.name}`,
        })),
      };
    },
  };

  const gates = new Map<string, Array<() => void>>();

  const record = (activity: SlackActivity): void => {
    if (activity.kind === 'call') calls.push(activity);
    else responses.push(activity);
    events.emit('activity', activity);
  };

  const authError = (req: IncomingMessage, args: Args): string | undefined => {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? str(args, 'token');
    if (!token) return 'not_authed';
    if (opts.botToken !== undefined && token !== opts.botToken) return 'invalid_auth';
    return undefined;
  };

  const handleApi = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    body: Buffer,
    query: URLSearchParams,
  ): Promise<void> => {
    const args = await decodeArgs(req, body, query);
    const gate = gates.get(method);
    if (gate) {
      await new Promise<void>((resolve) => gate.push(resolve));
      if (req.socket.destroyed) return;
    }
    const limit = rateLimits.get(method);
    const channel = typeof args.channel === 'string' ? args.channel : undefined;
    if (limit && limit.remaining > 0 && (!limit.channel || limit.channel === channel)) {
      limit.remaining -= 1;
      rateLimited.push({ method, at: Date.now(), ...(channel ? { channel } : {}) });
      json(res, 429, fail('ratelimited'), { 'retry-after': String(limit.retryAfterSec) });
      return;
    }
    const handler = methods[method];
    const unauthorized = method === 'api.test' ? undefined : authError(req, args);
    const result = !handler
      ? fail('unknown_method', { req_method: method })
      : unauthorized
        ? fail(unauthorized)
        : handler(args);
    delete args.token; // keep secrets out of what tests and the console print
    record({ kind: 'call', method, args, at: Date.now(), result });
    json(res, 200, result, {
      'x-oauth-scopes': 'chat:write,commands,users:read,users:read.email,files:write,reactions:write',
    });
  };

  const handleUpload = async (
    req: IncomingMessage,
    res: ServerResponse,
    fileId: string,
    body: Buffer,
  ): Promise<void> => {
    const upload = uploads.get(fileId);
    if (!upload) {
      text(res, 404, 'file_not_found');
      return;
    }
    // WebClient posts multipart form data; curl-style clients post the raw bytes.
    const type = req.headers['content-type'] ?? '';
    let bytes = body;
    if (type.includes('multipart/form-data')) {
      const form = await readMultipart(type, body);
      const part = [...form.values()][0];
      bytes =
        part === undefined
          ? Buffer.alloc(0)
          : typeof part === 'string'
            ? Buffer.from(part)
            : Buffer.from(await part.arrayBuffer());
    }
    upload.bytes = bytes;
    text(res, 200, `OK - ${bytes.length}`);
  };

  const handleResponseUrl = (res: ServerResponse, url: string, body: Buffer): void => {
    const entry = responseUrls.get(url);
    if (!entry) {
      json(res, 404, fail('no_service'));
      return;
    }
    if (entry.uses >= maxUses) {
      json(res, 404, fail('used_url'));
      return;
    }
    const parsed = parseJson(body);
    if (!parsed || typeof parsed !== 'object') {
      json(res, 400, fail('invalid_payload'));
      return;
    }
    const payload = parsed as Args;
    const checked = checkMessage(payload);
    flag('response_url', checked.flags);
    if (checked.error) {
      json(res, 400, refusal(checked.error, checked.refusals));
      return;
    }
    entry.uses += 1;
    applyResponse(entry.binding, payload);
    record({ kind: 'response', url, body: payload, at: Date.now() });
    json(res, 200, { ok: true });
  };

  // What Slack does with a response_url post, when we know where the command or click came from.
  const applyResponse = (binding: ResponseUrlBinding, payload: Args): void => {
    const original = findMessage(binding.channel, binding.messageTs);
    if (payload.delete_original === true || payload.delete_original === 'true') {
      if (original) messages.splice(messages.indexOf(original), 1);
      return;
    }
    const replyText = str(payload, 'text') ?? '';
    const blocks = Array.isArray(payload.blocks) ? payload.blocks : undefined;
    if ((payload.replace_original === true || payload.replace_original === 'true') && original) {
      original.text = replyText;
      if (blocks) original.blocks = blocks;
      else delete original.blocks;
      original.edited = { user: botUserId, ts: nextTs() };
      return;
    }
    if (!binding.channel) return;
    const threadTs = str(payload, 'thread_ts');
    if (payload.response_type === 'in_channel') {
      postMessage({
        channel: binding.channel,
        text: replyText,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(blocks ? { blocks } : {}),
        user: botUserId,
        bot_id: botId,
        via: 'response_url',
      });
    } else if (binding.user) {
      ephemerals.push({
        channel: binding.channel,
        user: binding.user,
        ts: nextTs(),
        text: replyText,
        ...(threadTs ? { thread_ts: threadTs } : {}),
        ...(blocks ? { blocks } : {}),
        via: 'response_url',
      });
    }
  };

  const server = await startHttpServer(
    async (req, res, body) => {
      const { path, query } = splitUrl(req);
      const api = /^\/api\/([\w.]+)$/.exec(path);
      if (api?.[1]) return handleApi(req, res, api[1], body, query);
      const upload = /^\/upload\/v1\/(\w+)$/.exec(path);
      if (upload?.[1] && req.method === 'POST') return handleUpload(req, res, upload[1], body);
      if (path.startsWith('/response/') && req.method === 'POST')
        return handleResponseUrl(res, `${server.url}${path}`, body);
      json(res, 404, fail('not_found'));
    },
    opts.port === undefined ? {} : { port: opts.port },
  );

  let responseCounter = 0;

  const matches = (match: string | ((a: SlackActivity) => boolean), activity: SlackActivity): boolean =>
    typeof match === 'string' ? activity.kind === 'call' && activity.method === match : match(activity);

  const commandText = (typed: string, o: { shouldEscape?: boolean } = {}): string => {
    const entities = typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    if (o.shouldEscape === false) return entities;
    return entities.replace(
      /(^|\s)(?:@([a-z0-9][a-z0-9._-]*)|#([a-z0-9][a-z0-9_-]*)|(https?:\/\/[^\s]+)|([^\s@]+@[^\s@]+\.[a-z]{2,}))(?=\s|$)/gi,
      (whole, lead: string, name?: string, chan?: string, url?: string, email?: string) => {
        if (name) {
          const id = Object.keys(users).find((k) => users[k]?.name.toLowerCase() === name.toLowerCase());
          return id ? `${lead}<@${id}|${users[id]?.name}>` : whole;
        }
        if (chan) {
          const id = Object.keys(channels).find((k) => channels[k]?.name.toLowerCase() === chan.toLowerCase());
          return id ? `${lead}<#${id}|${channels[id]?.name}>` : whole;
        }
        if (url) return `${lead}<${url}>`;
        return `${lead}<mailto:${email}|${email}>`;
      },
    );
  };

  const fake: SlackFake = {
    commandText,
    apiUrl: `${server.url}/api/`,
    url: server.url,
    http: server,
    calls,
    responses,
    messages,
    ephemerals,
    files,
    views,
    users,
    usergroups,
    events,
    botUserId,
    botId,
    teamId,
    rateLimited,
    violations,
    checkAck(payload, what = 'ack') {
      if (!payload || typeof payload !== 'object') return;
      const body = payload as Args;
      if (body.view !== undefined) flag(what, checkView(body.view).flags);
      if (body.blocks !== undefined || body.text !== undefined) flag(what, checkMessage(body).flags);
    },
    callsTo: (method) => calls.filter((c) => c.method === method),
    message: (channel, ts) => findMessage(channel, ts),
    userSays: (channel, user, text, threadTs) =>
      postMessage({ channel, user, text, via: 'api', ...(threadTs ? { thread_ts: threadTs } : {}) }),
    thread: (channel, threadTs) => messages.filter((m) => m.channel === channel && m.thread_ts === threadTs),
    topLevel: (channel) => messages.filter((m) => m.channel === channel && m.thread_ts === undefined),
    responseUrl(binding = {}) {
      responseCounter += 1;
      const url = `${server.url}/response/${responseCounter}`;
      responseUrls.set(url, { binding, uses: 0 });
      return url;
    },
    addMethod(method, handler) {
      methods[method] = handler;
    },
    onCall(listener) {
      events.on('activity', listener);
      return () => events.off('activity', listener);
    },
    waitFor(match, timeoutMs = 5000) {
      const seen = [...calls, ...responses].sort((a, b) => a.at - b.at).find((a) => matches(match, a));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const listener = (activity: SlackActivity): void => {
          if (!matches(match, activity)) return;
          clearTimeout(timer);
          events.off('activity', listener);
          resolve(activity);
        };
        const timer = setTimeout(() => {
          events.off('activity', listener);
          const recent = [...calls.map((c) => c.method), ...responses.map(() => 'response_url')].slice(-10);
          reject(
            new Error(`slack fake: nothing matched within ${timeoutMs} ms; recent: ${recent.join(', ') || 'none'}`),
          );
        }, timeoutMs);
        events.on('activity', listener);
      });
    },
    rateLimit(method, retryAfterSec, times = 1, channel) {
      rateLimits.set(method, { retryAfterSec, remaining: times, ...(channel ? { channel } : {}) });
    },
    hold(method) {
      const waiting: Array<() => void> = [];
      gates.set(method, waiting);
      return {
        waiting: () => waiting.length,
        open() {
          if (gates.get(method) === waiting) gates.delete(method);
          for (const go of waiting.splice(0)) go();
        },
      };
    },
    setFault: (kind, faultOpts) => server.setFault(kind, faultOpts),
    down: () => server.down(),
    up: () => server.up(),
    setChannel(id, change) {
      channels[id] = { name: channels[id]?.name ?? id.toLowerCase(), ...channels[id], ...change };
      // Removing the bot undoes its own join too.
      if (change.member === false) joined.delete(id);
    },
    reset() {
      for (const list of [calls, responses, messages, ephemerals, files, rateLimited, violations] as unknown[][])
        list.length = 0;
      views.clear();
      uploads.clear();
      responseUrls.clear();
      rateLimits.clear();
      for (const waiting of gates.values()) for (const go of waiting.splice(0)) go();
      gates.clear();
      joined.clear();
      server.setFault('none');
    },
    async close() {
      events.removeAllListeners();
      await server.close();
    },
  };
  return fake;
}
