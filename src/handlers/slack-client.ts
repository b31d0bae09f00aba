// The Web API client's shared options: a timeout, a bounded retry policy and a fetch that fits
// every outgoing payload to Slack's limits and counts calls for /metrics. Used by app.ts (Bolt's
// clients and its response_url posts), bot.ts and the incident outbox's own client, so every
// post, update, ephemeral, view and response_url reply passes through fittingFetch.
import type { WebClient, WebClientOptions } from '@slack/web-api';
import { fitMessage, fitView, overflowNote, textOnly } from '../blocks/fit.js';
import type { Deps } from '../deps.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';

type FetchInput = Parameters<typeof fetch>[0];

/** The Web API client's options: a request timeout and a bounded retry policy (its defaults are none and ten retries over half an hour). */
export function slackClientOptions(apiUrl: string, metrics?: Metrics, log?: Logger): WebClientOptions {
  const base = metrics ? countingFetch(metrics) : (input: FetchInput, init?: RequestInit) => fetch(input, init);
  return {
    slackApiUrl: apiUrl,
    fetch: fittingFetch(base, log),
    timeout: 10_000,
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000, randomize: true },
  };
}

/** Counts every Slack Web API call by method and HTTP status for /metrics. */
function countingFetch(metrics: Metrics): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = /\/api\/([\w.]+)/.exec(url)?.[1] ?? 'upload';
    try {
      const res = await fetch(input, init);
      metrics.apiCalls.inc({ service: 'slack', method, result: String(res.status) });
      return res;
    } catch (err) {
      metrics.apiCalls.inc({ service: 'slack', method, result: 'network_error' });
      throw err;
    }
  };
}

type Obj = Record<string, unknown>;
type Fetch = (input: FetchInput, init?: RequestInit) => Promise<Response>;

const MESSAGE_METHODS = new Set(['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'chat.scheduleMessage']);
const VIEW_METHODS = new Set(['views.open', 'views.push', 'views.update', 'views.publish']);
/** Slack's answers that mean "not these blocks", which a text-only version gets past. */
const REFUSALS = new Set(['invalid_blocks', 'invalid_blocks_format', 'msg_too_long', 'invalid_attachments']);
/** WebClient sends these as JSON inside its form body. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata', 'files']);

const urlOf = (input: FetchInput): string =>
  typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;

function decodeForm(body: string): Obj {
  const out: Obj = {};
  for (const [key, value] of new URLSearchParams(body)) {
    if (!JSON_FIELDS.has(key)) {
      out[key] = value;
      continue;
    }
    try {
      out[key] = JSON.parse(value) as unknown;
    } catch {
      out[key] = value;
    }
  }
  return out;
}

function encodeForm(args: Obj): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(args)) {
    if (value === undefined) continue;
    params.set(key, typeof value === 'string' ? value : JSON.stringify(value));
  }
  return params.toString();
}

async function answerOf(res: Response): Promise<Obj | undefined> {
  try {
    const parsed = (await res.clone().json()) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Obj) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fits each chat.* / views.* / response_url payload to Slack's limits before it leaves (see
 * src/blocks/fit.ts); what does not fit goes into a file uploaded beside it (files.getUploadURLExternal
 * and completeUploadExternal, through the same SLACK_API_URL). A refusal of the blocks
 * (invalid_blocks, msg_too_long) is logged and answered by sending a text-only version, so the
 * post is never dropped.
 */
export function fittingFetch(base: Fetch, log?: Logger): typeof fetch {
  const fitting: Fetch = async (input, init) => {
    const url = urlOf(input);
    const body = init?.body;
    if (typeof body !== 'string' || init?.method !== 'POST') return base(input, init);
    const method = /\/api\/([\w.]+)$/.exec(url)?.[1];
    if (method && MESSAGE_METHODS.has(method)) return sendMessage(base, log, url, method, init, decodeForm(body));
    if (method && VIEW_METHODS.has(method)) {
      const args = decodeForm(body);
      if (args.view && typeof args.view === 'object') args.view = fitView(args.view as Obj);
      return base(input, { ...init, body: encodeForm(args) });
    }
    if (!method && !url.includes('/api/')) return sendResponseUrl(base, log, url, init, body);
    return base(input, init);
  };
  return fitting as typeof fetch;
}

async function sendMessage(
  base: Fetch,
  log: Logger | undefined,
  url: string,
  method: string,
  init: RequestInit,
  args: Obj,
): Promise<Response> {
  const fitted = fitMessage(args);
  const payload = fitted.payload;
  const api = url.slice(0, url.length - method.length);
  const headers = init.headers;
  const where = fileWhere(method, payload);
  if (fitted.overflow && Array.isArray(payload.blocks)) payload.blocks = [...payload.blocks, overflowNote(where.note)];
  else if (fitted.overflow) payload.text = `${String(payload.text ?? '')}\n_${where.note}_`;
  let res = await base(url, { ...init, body: encodeForm(payload) });
  let answer = await answerOf(res);
  if (answer?.ok === false && REFUSALS.has(String(answer.error))) {
    const cause = (answer.response_metadata as Obj | undefined)?.messages;
    log?.warn({ method, error: answer.error, cause }, 'Slack refused the blocks; sending a text-only version');
    const plain = textOnly(payload);
    const { blocks: _blocks, attachments: _attachments, ...rest } = payload;
    const retry: Obj = { ...rest, text: plain.overflow.length ? `${plain.text}\n_${where.note}_` : plain.text };
    if (method === 'chat.update') retry.blocks = [];
    res = await base(url, { ...init, body: encodeForm(retry) });
    answer = await answerOf(res);
    if (plain.overflow.length) fitted.overflow = [fitted.overflow, ...plain.overflow].filter(Boolean).join('\n');
  }
  if (fitted.overflow && answer?.ok === true) {
    const ts = typeof answer.ts === 'string' ? answer.ts : undefined;
    await uploadOverflow(base, api, headers, method, payload, ts, fitted.overflow).catch((err: unknown) =>
      log?.warn({ err, method }, 'could not upload what did not fit in the message'),
    );
  }
  return res;
}

/** Where the file holding a message's rest goes, and how the message names it. */
function fileWhere(method: string, payload: Obj): { note: string } {
  if (method === 'chat.postEphemeral') return { note: 'the whole text is in a file sent to you in a direct message' };
  if (typeof payload.thread_ts === 'string' || method === 'chat.update' || method === 'chat.postMessage')
    return { note: 'the whole text is in the file *message.txt* in this thread' };
  return { note: 'the whole text is in the file *message.txt*' };
}

async function uploadOverflow(
  base: Fetch,
  api: string,
  headers: RequestInit['headers'],
  method: string,
  payload: Obj,
  ts: string | undefined,
  overflow: string,
): Promise<void> {
  const call = async (name: string, args: Obj): Promise<Obj> => {
    const res = await base(`${api}${name}`, {
      method: 'POST',
      headers: { ...(headers as Record<string, string>), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: encodeForm(args),
    });
    const answer = (await res.json()) as Obj;
    if (answer.ok !== true) throw new Error(`${name}: ${String(answer.error)}`);
    return answer;
  };
  let channel = typeof payload.channel === 'string' ? payload.channel : undefined;
  let threadTs = typeof payload.thread_ts === 'string' ? payload.thread_ts : ts;
  if (method === 'chat.postEphemeral' && typeof payload.user === 'string') {
    const opened = await call('conversations.open', { users: payload.user });
    channel = String((opened.channel as Obj | undefined)?.id);
    threadTs = undefined;
  }
  const bytes = Buffer.from(overflow, 'utf8');
  const target = await call('files.getUploadURLExternal', { filename: 'message.txt', length: String(bytes.length) });
  const put = await base(String(target.upload_url), { method: 'POST', body: new Uint8Array(bytes) });
  if (!put.ok) throw new Error(`upload: HTTP ${put.status}`);
  await call('files.completeUploadExternal', {
    files: [{ id: String(target.file_id), title: 'The whole message' }],
    ...(channel ? { channel_id: channel } : {}),
    ...(channel && threadTs ? { thread_ts: threadTs } : {}),
  });
}

/** A response_url post (Bolt's respond): fitted; a refusal is retried as text. No file: the channel is unknown here. */
async function sendResponseUrl(
  base: Fetch,
  log: Logger | undefined,
  url: string,
  init: RequestInit,
  body: string,
): Promise<Response> {
  let payload: Obj;
  try {
    payload = JSON.parse(body) as Obj;
  } catch {
    return base(url, init);
  }
  if (!payload || typeof payload !== 'object' || (payload.text === undefined && payload.blocks === undefined))
    return base(url, init);
  const fitted = fitMessage(payload);
  const out = fitted.payload;
  if (fitted.overflow) {
    const more = fitted.overflow.split('\n').length;
    const note = `…and ${more} more line${more === 1 ? '' : 's'} that did not fit in one message`;
    if (Array.isArray(out.blocks)) out.blocks = [...out.blocks, overflowNote(note)];
    else out.text = `${String(out.text ?? '')}\n_${note}_`;
  }
  const res = await base(url, { ...init, body: JSON.stringify(out) });
  if (res.ok) return res;
  const answer = await answerOf(res);
  if (!REFUSALS.has(String(answer?.error))) return res;
  log?.warn(
    { error: answer?.error, cause: (answer?.response_metadata as Obj | undefined)?.messages },
    'Slack refused the blocks of a response_url reply; sending a text-only version',
  );
  const { blocks: _blocks, ...rest } = out;
  return base(url, { ...init, body: JSON.stringify({ ...rest, text: textOnly(out).text }) });
}

/** What the Slack glue is given: the app's dependencies and the bot's Web API client (SLACK_API_URL; in console mode the console's own Slack). */
export interface SlackDeps extends Deps {
  slack: WebClient;
}
