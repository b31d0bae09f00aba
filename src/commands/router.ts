// Runs the text after `/dmp`: resolves the command, runs it, records it in the audit log.
// Every failure becomes a sentence; the cause goes to the log, never to Slack.
import { randomUUID } from 'node:crypto';
import { esc, type Message, section, textMessage } from '../blocks/message.js';
import type { Deps } from '../deps.js';
import { TargetError, UserError } from '../errors.js';
import { within } from '../async.js';
import { recordAudit } from '../store/audit.js';
import { helpMessage, usageOf } from './help.js';
import { resolve } from './parse.js';
import { allCommands } from './registry.js';

const AUDIT_WAIT_MS = 1_000;

export interface RunContext {
  userId: string;
  channelId: string;
}

export async function runCommandText(deps: Deps, ctx: RunContext, text: string): Promise<Message> {
  const started = performance.now();
  const commands = allCommands();
  const r = resolve(commands, text);
  let message: Message;
  let outcome: 'ok' | 'error' | 'refused' = 'ok';
  let action = 'unknown';
  if (!r.command) {
    const words = text.trim();
    const intro = words
      ? `I don't know \`/dmp ${esc(words.slice(0, 80))}\`.${r.suggestion ? ` Did you mean \`${usageOf(r.suggestion)}\`?` : ''}`
      : undefined;
    message = helpMessage(commands, intro);
    if (words) outcome = 'refused';
    else action = 'help';
  } else {
    action = r.command.words.join(' ');
    try {
      message = await r.command.run(deps, { userId: ctx.userId, channelId: ctx.channelId, text, args: r.args });
    } catch (err) {
      outcome = err instanceof UserError ? 'refused' : 'error';
      message = errorMessage(deps, err);
    }
  }
  const durationMs = Math.round(performance.now() - started);
  deps.metrics.commands.inc({ command: action, outcome });
  // A slow or lost bot database must not hold the reply: wait briefly, log if it fails.
  const audit = recordAudit(deps.store, { userId: ctx.userId, channelId: ctx.channelId, kind: 'command', action, text: `/dmp ${text}`.trim(), outcome, durationMs }).then(
    () => true,
    (err: unknown) => {
      deps.log.error({ err }, 'could not write the audit log');
      return false;
    },
  );
  if ((await within(audit, AUDIT_WAIT_MS)) === undefined) deps.log.warn('audit log write still pending; replying anyway');
  return message;
}

/** A sentence for people; the cause, with an id to find it, for the log. */
export function errorMessage(deps: Pick<Deps, 'log'>, err: unknown): Message {
  if (err instanceof UserError) return textMessage(err.message);
  if (err instanceof TargetError) return textMessage(err.sentence());
  const id = randomUUID().slice(0, 8);
  deps.log.error({ err, errorId: id }, 'command failed');
  return { text: `Something went wrong (error ${id}); the details are in the bot's log.`, blocks: [section(`:warning: Something went wrong (error \`${id}\`); the details are in the bot's log.`)] };
}
