// The console's Slack: a small in-process Web API (the methods the bot calls), response URLs
// and file uploads, served on loopback so the bot's real WebClient talks to it unchanged. It
// keeps what was posted and tells the console about every call; it is no test fake (those
// live in the sim package and check what Slack checks), only enough Slack to run the bot.
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const CONSOLE_TEAM = 'T0CONSOLE';
const BOT_USER = 'U0DMPBOT1';
const BOT_ID = 'B0DMPBOT1';
/** Fields Slack's Web API takes as JSON inside a form body. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata', 'files']);

type Args = Record<string, unknown>;

export interface ConsoleUser {
  name: string;
  real_name?: string;
  email?: string;
}

export interface ConsoleMessage {
  channel: string;
  ts: string;
  thread_ts?: string;
  text: string;
  blocks?: unknown[];
  metadata?: unknown;
  via: 'api' | 'response_url' | 'file';
}

export interface ConsoleFile {
  id: string;
  title: string;
  content: string;
  /** The uploaded filename and size: a PNG is named, not printed. */
  name?: string;
  size?: number;
  channel?: string;
  thread_ts?: string;
}

/** A Web API call, or a post to a response URL, as the console sees it. */
export type ConsoleActivity =
  | { kind: 'call'; method: string; args: Args; result: Args }
  | { kind: 'response'; body: Args; binding: ResponseUrlBinding };

export interface ResponseUrlBinding {
  channel: string;
  user: string;
  messageTs?: string;
}

export interface ConsoleSlack {
  apiUrl: string;
  teamId: string;
  messages: ConsoleMessage[];
  files: ConsoleFile[];
  message(channel: string, ts: string): ConsoleMessage | undefined;
  responseUrl(binding: ResponseUrlBinding): string;
  onActivity(listener: (a: ConsoleActivity) => void): void;
  close(): Promise<void>;
}

export interface ConsoleSlackOptions {
  users: Record<string, ConsoleUser>;
  channels: Record<string, { name: string }>;
}

export async function startConsoleSlack(opts: ConsoleSlackOptions): Promise<ConsoleSlack> {
  const events = new EventEmitter();
  const messages: ConsoleMessage[] = [];
  const files: ConsoleFile[] = [];
  const uploads = new Map<string, { name: string; bytes?: Buffer }>();
  const bindings = new Map<string, ResponseUrlBinding>();
  let seq = 0;
  let baseUrl = '';

  const nextTs = () => {
    seq += 1;
    return `${Math.floor(Date.now() / 1000)}.${String(seq).padStart(6, '0')}`;
  };
  const nextId = (prefix: string) => {
    seq += 1;
    return `${prefix}${String(seq).padStart(10, '0')}`;
  };
  const find = (channel: unknown, ts: unknown) => messages.find((m) => m.channel === channel && m.ts === ts);
  const text = (a: Args, k: string) => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
  const post = (m: Omit<ConsoleMessage, 'ts'>) => {
    const message = { ...m, ts: nextTs() };
    messages.push(message);
    return message;
  };
  const asJson = (m: ConsoleMessage) => ({
    type: 'message',
    ts: m.ts,
    text: m.text,
    user: BOT_USER,
    bot_id: BOT_ID,
    ...(m.blocks ? { blocks: m.blocks } : {}),
    ...(m.metadata ? { metadata: m.metadata } : {}),
    ...(m.thread_ts ? { thread_ts: m.thread_ts } : {}),
  });
  const view = (v: unknown) => ({ ...(v as Args), id: nextId('V'), team_id: CONSOLE_TEAM });
  const user = (id: string) => opts.users[id];

  const methods: Record<string, (a: Args) => Args> = {
    'auth.test': () => ({
      ok: true,
      team_id: CONSOLE_TEAM,
      user_id: BOT_USER,
      bot_id: BOT_ID,
      team: 'console',
      user: 'dmp-bot',
    }),
    'chat.postMessage': (a) => {
      const channel = text(a, 'channel');
      if (!channel) return { ok: false, error: 'channel_not_found' };
      const m = post({
        channel,
        text: text(a, 'text') ?? '',
        ...(text(a, 'thread_ts') ? { thread_ts: text(a, 'thread_ts') } : {}),
        ...(Array.isArray(a.blocks) ? { blocks: a.blocks } : {}),
        ...(a.metadata ? { metadata: a.metadata } : {}),
        via: 'api',
      });
      return { ok: true, channel, ts: m.ts, message: asJson(m) };
    },
    'chat.update': (a) => {
      const m = find(a.channel, a.ts);
      if (!m) return { ok: false, error: 'message_not_found' };
      if (text(a, 'text') !== undefined) m.text = text(a, 'text') as string;
      if (Array.isArray(a.blocks)) m.blocks = a.blocks;
      if (a.metadata) m.metadata = a.metadata;
      return { ok: true, channel: m.channel, ts: m.ts, text: m.text, message: asJson(m) };
    },
    'chat.postEphemeral': () => ({ ok: true, message_ts: nextTs() }),
    'chat.getPermalink': (a) => ({
      ok: true,
      channel: a.channel,
      permalink: `https://console.invalid/archives/${a.channel}/p${String(a.message_ts).replace('.', '')}`,
    }),
    'views.open': (a) => ({ ok: true, view: view(a.view) }),
    'views.push': (a) => ({ ok: true, view: view(a.view) }),
    'views.update': (a) => ({ ok: true, view: { ...view(a.view), id: a.view_id ?? nextId('V') } }),
    'views.publish': (a) => ({ ok: true, view: view(a.view) }),
    'users.info': (a) => {
      const id = text(a, 'user') ?? '';
      const u = user(id);
      if (!u) return { ok: false, error: 'user_not_found' };
      return {
        ok: true,
        user: {
          id,
          team_id: CONSOLE_TEAM,
          name: u.name,
          real_name: u.real_name ?? u.name,
          profile: { email: u.email, real_name: u.real_name ?? u.name, display_name: u.name },
        },
      };
    },
    'users.lookupByEmail': (a) => {
      const hit = Object.entries(opts.users).find(([, u]) => u.email !== undefined && u.email === a.email);
      return hit
        ? { ok: true, user: { id: hit[0], name: hit[1].name, profile: { email: hit[1].email } } }
        : { ok: false, error: 'users_not_found' };
    },
    'usergroups.users.list': () => ({ ok: true, users: [] }),
    'conversations.info': (a) => ({
      ok: true,
      channel: { id: a.channel, name: opts.channels[String(a.channel)]?.name ?? String(a.channel), is_member: true },
    }),
    'conversations.join': (a) => ({ ok: true, channel: { id: a.channel } }),
    'conversations.history': (a) => ({
      ok: true,
      messages: messages
        .filter((m) => m.channel === a.channel && !m.thread_ts)
        .reverse()
        .map(asJson),
      has_more: false,
      response_metadata: { next_cursor: '' },
    }),
    'conversations.replies': (a) => ({
      ok: true,
      messages: messages.filter((m) => m.channel === a.channel && (m.ts === a.ts || m.thread_ts === a.ts)).map(asJson),
      has_more: false,
      response_metadata: { next_cursor: '' },
    }),
    'reactions.add': () => ({ ok: true }),
    'files.getUploadURLExternal': (a) => {
      const id = nextId('F');
      uploads.set(id, { name: text(a, 'filename') ?? 'file' });
      return { ok: true, upload_url: `${baseUrl}/upload/${id}`, file_id: id };
    },
    'files.completeUploadExternal': (a) => {
      const list = Array.isArray(a.files) ? (a.files as Args[]) : [];
      const channel = text(a, 'channel_id');
      const thread = text(a, 'thread_ts');
      const done: ConsoleFile[] = [];
      for (const entry of list) {
        const up = uploads.get(String(entry.id));
        if (!up?.bytes) return { ok: false, error: 'file_not_found' };
        uploads.delete(String(entry.id));
        done.push({
          id: String(entry.id),
          title: text(entry, 'title') ?? up.name,
          content: up.bytes.toString('utf8'),
          name: up.name,
          size: up.bytes.length,
          ...(channel ? { channel } : {}),
          ...(thread ? { thread_ts: thread } : {}),
        });
      }
      files.push(...done);
      return { ok: true, files: done.map((f) => ({ id: f.id, title: f.title, name: f.title })) };
    },
  };

  const respond = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void handle(req, res, Buffer.concat(chunks)).catch(() =>
        respond(res, 500, { ok: false, error: 'internal_error' }),
      );
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const api = /^\/api\/([\w.]+)$/.exec(path)?.[1];
    if (api) {
      const args = await readArgs(req, body);
      delete args.token;
      const method = methods[api];
      const result = method ? method(args) : { ok: false, error: 'unknown_method' };
      events.emit('activity', { kind: 'call', method: api, args, result } satisfies ConsoleActivity);
      return respond(res, 200, result);
    }
    const upload = /^\/upload\/(\w+)$/.exec(path)?.[1];
    if (upload && uploads.has(upload)) {
      const type = req.headers['content-type'] ?? '';
      let bytes = body;
      if (type.includes('multipart/form-data')) {
        const part = [...(await formData(type, body)).values()][0];
        bytes =
          part === undefined
            ? Buffer.alloc(0)
            : typeof part === 'string'
              ? Buffer.from(part)
              : Buffer.from(await part.arrayBuffer());
      }
      (uploads.get(upload) as { bytes?: Buffer }).bytes = bytes;
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`OK - ${bytes.length}`);
      return;
    }
    const binding = bindings.get(path);
    if (binding && req.method === 'POST') {
      let payload: Args;
      try {
        payload = JSON.parse(body.toString('utf8')) as Args;
      } catch {
        return respond(res, 400, { ok: false, error: 'invalid_payload' });
      }
      applyResponse(binding, payload);
      events.emit('activity', { kind: 'response', body: payload, binding } satisfies ConsoleActivity);
      return respond(res, 200, { ok: true });
    }
    respond(res, 404, { ok: false, error: 'not_found' });
  };

  // What Slack does with a response_url post: replace the original, or post in the channel.
  const applyResponse = (binding: ResponseUrlBinding, payload: Args) => {
    const original = binding.messageTs ? find(binding.channel, binding.messageTs) : undefined;
    const blocks = Array.isArray(payload.blocks) ? payload.blocks : undefined;
    if (payload.replace_original === true && original) {
      original.text = text(payload, 'text') ?? '';
      if (blocks) original.blocks = blocks;
      else delete original.blocks;
      return;
    }
    if (payload.response_type === 'in_channel') {
      post({
        channel: binding.channel,
        text: text(payload, 'text') ?? '',
        ...(text(payload, 'thread_ts') ? { thread_ts: text(payload, 'thread_ts') } : {}),
        ...(blocks ? { blocks } : {}),
        via: 'response_url',
      });
    }
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    apiUrl: `${baseUrl}/api/`,
    teamId: CONSOLE_TEAM,
    messages,
    files,
    message: (channel, ts) => find(channel, ts),
    responseUrl(binding) {
      const path = `/response/${nextId('R')}`;
      bindings.set(path, binding);
      return `${baseUrl}${path}`;
    },
    onActivity: (listener) => events.on('activity', listener),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function readArgs(req: IncomingMessage, body: Buffer): Promise<Args> {
  const type = req.headers['content-type'] ?? '';
  const args: Args = {};
  if (type.includes('application/json')) {
    Object.assign(args, JSON.parse(body.toString('utf8') || '{}') as Args);
    return args;
  }
  const entries = type.includes('multipart/form-data')
    ? [...(await formData(type, body))]
    : [...new URLSearchParams(body.toString('utf8'))];
  for (const [key, value] of entries) {
    args[key] = typeof value === 'string' && JSON_FIELDS.has(key) ? parseJson(value) : value;
  }
  return args;
}

function parseJson(value: string): unknown {
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}

/** Node's fetch Request has a multipart parser of its own. */
function formData(contentType: string, body: Buffer): Promise<FormData> {
  return new Request('http://console.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: new Uint8Array(body),
  }).formData();
}
