// The post-mortem "Fill in" modal: root cause, action items, learnings and impact go into the
// stored document, which is posted again in the thread.
import type { App } from '@slack/bolt';
import { z } from 'zod';
import { PM_ACTION_ITEMS, PM_IMPACT, PM_LEARNINGS, PM_ROOT_CAUSE, POSTMORTEM_VIEW } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { fillPostmortem } from '../../incidents/actions.js';
import { incidentCtx, slackUser } from '../actions/incident-common.js';
import { answerOf } from '../answer.js';

const text = z.string().trim().max(3000).optional();
const fields = z.object({ rootCause: text, actionItems: text, learnings: text, impact: text });

type Values = Record<string, Record<string, { value?: string | null }>>;

export function register(app: App, deps: Deps): void {
  app.view(POSTMORTEM_VIEW, async ({ ack, body, view, client }) => {
    const incidentId = view.private_metadata;
    const values = view.state.values as Values;
    const get = (block: string) => values[block]?.value?.value ?? undefined;
    const parsed = fields.safeParse({
      rootCause: get(PM_ROOT_CAUSE),
      actionItems: get(PM_ACTION_ITEMS),
      learnings: get(PM_LEARNINGS),
      impact: get(PM_IMPACT),
    });
    if (!parsed.success || !/^[A-Za-z0-9_-]{1,64}$/.test(incidentId)) {
      await ack({
        response_action: 'errors',
        errors: { [PM_ROOT_CAUSE]: 'Each answer must be under 3000 characters.' },
      });
      return;
    }
    await ack();
    const message = await answerOf(
      deps.log,
      async () => {
        const result = await fillPostmortem(
          incidentCtx(deps),
          incidentId,
          await slackUser(client, deps, body.user.id),
          parsed.data,
        );
        deps.wakeIncidents?.();
        return result;
      },
      {
        say: "The post-mortem could not be saved: the details are in the bot's log.",
        log: 'saving a post-mortem failed',
      },
    );
    if (message)
      await client.chat
        .postMessage({ channel: body.user.id, text: message })
        .catch((e: unknown) => deps.log.warn({ err: e }, 'could not tell the user'));
  });
}
