// Runs the text after `/dmp`: resolves the command, runs it, records it in the audit log.
// Every failure becomes a sentence; the cause goes to the log, never to Slack.
import { randomUUID } from 'node:crypto';
import { deadline } from '../async.js';
import { esc, type Message, section, textMessage } from '../blocks/message.js';
import type { Deps } from '../deps.js';
import { TargetError, UserError } from '../errors.js';
import { helpMessage, unknownCommandMessage, usageOf } from './help.js';
import { resolve } from './parse.js';
import type { Command } from './types.js';

const AUDIT_WAIT_MS = 1_000;

export interface RunContext {
  userId: string;
  channelId: string;
  /** The asker's Slack name as the slash command carries it (`user_name`), for the timeline. */
  userName?: string;
}

export interface CommandRun {
  message: Message;
  /** The audit log write: awaited after the ack, so it never sits in Slack's 3 seconds. Never rejects. */
  recorded: Promise<void>;
}

/** Runs the command and awaits its audit record too (the console, tests, non-Slack callers). */
export async function runCommandText(
  deps: Deps,
  commands: readonly Command[],
  ctx: RunContext,
  text: string,
): Promise<Message> {
  const run = await runCommand(deps, commands, ctx, text);
  await deadline(
    AUDIT_WAIT_MS,
    () => run.recorded,
    () => undefined,
  );
  return run.message;
}

export async function runCommand(
  deps: Deps,
  commands: readonly Command[],
  ctx: RunContext,
  text: string,
): Promise<CommandRun> {
  const started = performance.now();
  // `/dmp` alone is `/dmp help` (whose answer is rendered once), audited as help as before.
  const r = resolve(commands, text.trim() || 'help');
  let message: Message;
  let outcome: 'ok' | 'error' | 'refused' = 'ok';
  let action = 'unknown';
  if (!r.command) {
    const words = text.trim();
    message = words
      ? unknownCommandMessage(
          commands,
          `I don't know \`/dmp ${esc(words.slice(0, 80))}\`.${r.suggestion ? ` Did you mean \`${esc(usageOf(r.suggestion))}\`?` : ''}`,
        )
      : helpMessage(commands);
    if (words) outcome = 'refused';
    else action = 'help';
  } else {
    action = r.command.words.join(' ');
    try {
      message = await r.command.run(deps, {
        userId: ctx.userId,
        channelId: ctx.channelId,
        ...(ctx.userName ? { userName: ctx.userName } : {}),
        text,
        args: r.args,
      });
    } catch (err) {
      outcome = err instanceof UserError ? 'refused' : 'error';
      message = errorMessage(deps, err);
    }
    if (r.command.private) message = { ...message, ephemeral: true };
  }
  const durationMs = Math.round(performance.now() - started);
  deps.metrics.countCommand(action, outcome);
  // A slow or lost bot database must not hold the reply: the caller awaits this after replying.
  const recorded = deps.audit
    .record({
      userId: ctx.userId,
      channelId: ctx.channelId,
      kind: 'command',
      action,
      text: `/dmp ${text}`.trim(),
      outcome,
      durationMs,
    })
    .catch((err: unknown) => {
      deps.log.error({ err }, 'could not write the audit log');
    });
  return { message, recorded };
}

/** A sentence for people; the cause, with an id to find it, for the log. */
export function errorMessage(deps: Pick<Deps, 'log'>, err: unknown): Message {
  if (err instanceof UserError) return textMessage(err.text);
  if (err instanceof TargetError) return textMessage(err.sentence());
  const id = randomUUID().slice(0, 8);
  deps.log.error({ err, errorId: id }, 'command failed');
  return {
    text: `Something went wrong (error ${id}); the details are in the bot's log.`,
    blocks: [section(`:warning: Something went wrong (error \`${id}\`); the details are in the bot's log.`)],
  };
}
