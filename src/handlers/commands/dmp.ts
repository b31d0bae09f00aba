// `/dmp …`: acknowledged at once, answered inline when the checks finish in time, otherwise
// through response_url when they do (Socket Mode too, where Bolt runs no 3-second timer).
import { randomUUID } from 'node:crypto';
import type { App } from '@slack/bolt';
import { deadline } from '../../async.js';
import type { Message } from '../../blocks/message.js';
import { fromSlackText } from '../../commands/parse.js';
import { commandRateRefusal } from '../../commands/rate-limit.js';
import { runCommand } from '../../commands/router.js';
import type { Command } from '../../commands/types.js';
import type { Deps } from '../../deps.js';
import { ackBody, INLINE_BUDGET_MS, respondLate, uploadFiles } from '../reply.js';

export const SLASH_COMMAND = '/dmp';

export function register(app: App, deps: Deps, commands: readonly Command[]): void {
  // The acks of fixed answers (`/dmp help`), rendered and redacted once for this bot.
  const fixedAcks = new WeakMap<Message, ReturnType<typeof ackBody>>();
  const ackOf = (m: Message): ReturnType<typeof ackBody> => {
    if (!m.fixed) return ackBody(m, deps.redactor);
    let body = fixedAcks.get(m);
    if (!body) {
      body = ackBody(m, deps.redactor);
      fixedAcks.set(m, body);
    }
    return body;
  };
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    const received = performance.now();
    const where = { channelId: command.channel_id, userId: command.user_id };
    const text = (command.text ?? '').slice(0, 200);
    // One request id follows the command from ack to the last reply in the logs; at info, one
    // line a command once it is answered (with its text), and a line when it arrives at debug.
    const log = deps.log.child({ reqId: randomUUID().slice(0, 12), user: command.user_id });
    log.debug({ text }, 'slash command');
    const limited = await commandRateRefusal(deps, command.user_id);
    if (limited) {
      await ack({ response_type: 'ephemeral', text: limited });
      await deps.audit
        .record({
          ...where,
          kind: 'command',
          action: 'rate limit',
          text: `/dmp ${command.text ?? ''}`.trim(),
          outcome: 'refused',
          reason: 'rate limited (COMMAND_RATE_LIMIT)',
        })
        .catch((err: unknown) => log.error({ err }, 'could not write the audit log'));
      return;
    }
    // Slack escapes the text (manifest.yml: should_escape: true): mentions carry ids, links and entities are undone.
    const run = runCommand(
      { ...deps, log },
      commands,
      { ...where, ...(command.user_name ? { userName: command.user_name } : {}) },
      fromSlackText(command.text ?? ''),
    );
    const work = run.then((r) => r.message);
    try {
      const ready = await deadline<Awaited<typeof work> | undefined>(
        INLINE_BUDGET_MS,
        () => work,
        () => undefined,
      );
      const command_name = (command.text ?? '').trim().split(/\s+/).slice(0, 2).join(' ') || 'help';
      if (ready) {
        if (ready.modal) {
          await ack();
          await client.views.open({ trigger_id: command.trigger_id, view: ready.modal });
        } else {
          await ack(ackOf(ready));
        }
        deps.metrics.observeCommandAck((performance.now() - received) / 1000);
        await uploadFiles(client, where, ready, log, deps.redactor);
        log.info({ text, ms: Math.round(performance.now() - received), inline: true }, 'replied');
        return;
      }
      await ack({ response_type: 'ephemeral', text: ':hourglass_flowing_sand: Checking… the answer follows here.' });
      deps.metrics.observeCommandAck((performance.now() - received) / 1000);
      const message = await work;
      log.info(
        { text, command: command_name, ms: Math.round(performance.now() - received), inline: false },
        'late reply',
      );
      if (message.modal) {
        await respondLate(
          respond,
          client,
          where,
          { text: 'That took too long to open a form; run the command again.', blocks: [] },
          log,
          deps.redactor,
        );
        return;
      }
      await respondLate(respond, client, where, message, log, deps.redactor);
      await uploadFiles(client, where, message, log, deps.redactor);
    } finally {
      // The audit row goes in after Slack has its answer, whatever happened to the reply.
      await (await run).recorded;
    }
  });
}
