// Sends a Message the way Slack allows at that moment: in the ack, through response_url,
// or through chat.* when response_url is gone; long output is uploaded as a file.
import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { fitMessage, overflowNote } from '../blocks/fit.js';
import type { Message } from '../blocks/message.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../redact.js';

/** Slack's 3-second rule leaves room for the network: inline only what is ready by then. */
export const INLINE_BUDGET_MS = 2_500;

/** The reply as an ack's body: fitted like every other payload (blocks/fit.ts); the HTTP answer carries no file, so it says what it left out. */
export function ackBody(
  m: Message,
  redactor: Redactor,
): {
  response_type: 'in_channel' | 'ephemeral';
  text: string;
  blocks: Message['blocks'];
} {
  const fitted = fitMessage({ text: m.text, blocks: m.blocks });
  const blocks = fitted.payload.blocks as Message['blocks'];
  if (fitted.overflow) {
    const more = fitted.overflow.split('\n').length;
    blocks.push(overflowNote(`…and ${more} more line${more === 1 ? '' : 's'}`) as unknown as Message['blocks'][number]);
  }
  return redactor.redactDeep({ response_type: responseType(m), text: String(fitted.payload.text), blocks });
}

function responseType(m: Message): 'in_channel' | 'ephemeral' {
  return m.ephemeral ? 'ephemeral' : 'in_channel';
}

export interface Where {
  channelId: string;
  userId: string;
  threadTs?: string;
}

/** A late reply: response_url first, then chat.postMessage, then chat.postEphemeral, then a DM to the asker. */
export async function respondLate(
  respond: RespondFn,
  client: WebClient,
  where: Where,
  m: Message,
  log: Logger,
  redactor: Redactor,
): Promise<void> {
  const safe = redactor.redactDeep({ text: m.text, blocks: m.blocks });
  try {
    await respond({ response_type: responseType(m), replace_original: false, ...safe });
    return;
  } catch (err) {
    log.warn({ err }, 'response_url failed; posting through the Web API');
  }
  if (m.ephemeral) {
    await client.chat.postEphemeral({ channel: where.channelId, user: where.userId, ...safe });
    return;
  }
  try {
    await client.chat.postMessage({ channel: where.channelId, thread_ts: where.threadTs, ...safe });
  } catch (err) {
    log.warn({ err }, 'chat.postMessage failed; trying an ephemeral message');
    try {
      await client.chat.postEphemeral({ channel: where.channelId, user: where.userId, ...safe });
    } catch (err2) {
      // Not in the channel at all (a private one): the person who asked still gets the answer.
      log.warn({ err: err2 }, 'chat.postEphemeral failed; sending a direct message');
      await client.chat.postMessage({ channel: where.userId, ...safe });
    }
  }
}

/** Uploads the files a reply carries (full logs, query plans) beside it. */
export async function uploadFiles(
  client: WebClient,
  where: Where,
  m: Message,
  log: Logger,
  redactor: Redactor,
): Promise<void> {
  if (m.ephemeral && m.files?.length) return uploadPrivately(client, where, m, log, redactor);
  for (const f of m.files ?? []) {
    try {
      const file = f.data
        ? { filename: f.filename, title: f.title, file: f.data }
        : { filename: f.filename, title: f.title, content: redactor.redactDeep(f.content) };
      await (where.threadTs
        ? client.filesUploadV2({ channel_id: where.channelId, thread_ts: where.threadTs, ...file })
        : client.filesUploadV2({ channel_id: where.channelId, ...file }));
    } catch (err) {
      log.warn({ err, file: f.filename }, 'could not upload a file');
    }
  }
}

/** A private answer's files go to the asker's DM with the bot, never to the channel. */
async function uploadPrivately(
  client: WebClient,
  where: Where,
  m: Message,
  log: Logger,
  redactor: Redactor,
): Promise<void> {
  let dm: string | undefined;
  try {
    dm = (await client.conversations.open({ users: where.userId })).channel?.id;
  } catch (err) {
    log.warn({ err }, 'could not open a DM for a private file');
  }
  if (!dm) return;
  for (const f of m.files ?? []) {
    try {
      await client.filesUploadV2({
        channel_id: dm,
        filename: f.filename,
        title: f.title,
        ...(f.data ? { file: f.data } : { content: redactor.redactDeep(f.content) }),
      });
    } catch (err) {
      log.warn({ err, file: f.filename }, 'could not upload a file');
    }
  }
}
