// A reply as the handlers send it: fallback text, Block Kit, and files too long for a message.
import type { KnownBlock, View } from '@slack/types';
import type { Text } from '../domain/text.js';
import { esc, renderText } from './mrkdwn.js';

export { esc };

export interface OutFile {
  filename: string;
  title: string;
  content: string;
  /** A binary file (a PNG chart): uploaded as these bytes instead of `content`. */
  data?: Buffer;
}

export interface Message {
  /** Notification and screen-reader text; also what a client without blocks shows. */
  text: string;
  blocks: KnownBlock[];
  files?: OutFile[];
  /** A modal to open instead of (or beside) the message, for commands that ask for input. */
  modal?: View;
  /** For the asker alone (ephemeral; files go to their DM with the bot): logs, audit, timelines, post-mortems. */
  ephemeral?: boolean;
  /** The same every time and built from the bot's own text alone (`/dmp help`): its rendering may be kept and reused. */
  fixed?: boolean;
}

export const STATUS_EMOJI = {
  ok: ':large_green_circle:',
  warn: ':large_yellow_circle:',
  critical: ':red_circle:',
  unknown: ':white_circle:',
} as const;

export function section(text: string): KnownBlock {
  return { type: 'section', text: { type: 'mrkdwn', text } };
}

export function context(text: string): KnownBlock {
  return { type: 'context', elements: [{ type: 'mrkdwn', text }] };
}

export function header(text: string): KnownBlock {
  return { type: 'header', text: { type: 'plain_text', text: text.slice(0, 150), emoji: true } };
}

/** Words as a message: escaped once, in the blocks and in the notification text alike. */
export function textMessage(text: Text): Message {
  const shown = renderText(text);
  return { text: shown, blocks: [section(shown)] };
}
