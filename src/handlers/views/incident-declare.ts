// The "declare an incident" modal (`/dmp incident declare`): validated here, then the incident
// is created in PagerDuty through the outbox and its thread opens in #incidents.
import type { App } from '@slack/bolt';
import { z } from 'zod';
import {
  DECLARE_DESCRIPTION,
  DECLARE_SERVICE,
  DECLARE_SEVERITY,
  DECLARE_TITLE,
  DECLARE_VIEW,
} from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { declare } from '../../incidents/actions.js';
import { actingPerson, incidentCtx } from '../actions/incident-common.js';
import { answerOf } from '../answer.js';
import { inputOf } from '../picked.js';

const declaration = z.object({
  title: z
    .string()
    .trim()
    .min(3, 'Give the incident a title of a few words.')
    .max(250, 'Keep the title under 250 characters.'),
  severity: z.enum(['P1', 'P2', 'P3', 'P4'], { message: 'Pick a severity.' }),
  serviceId: z
    .string()
    .trim()
    .regex(/^[A-Z0-9]{2,20}$/i, 'That is not a PagerDuty service ID (like PABC123).'),
  description: z.string().trim().max(3000).optional(),
});

const FIELD_BLOCK: Record<string, string> = {
  title: DECLARE_TITLE,
  severity: DECLARE_SEVERITY,
  serviceId: DECLARE_SERVICE,
  description: DECLARE_DESCRIPTION,
};

type Values = Parameters<typeof inputOf>[0];

function read(values: Values, block: string): string | undefined {
  return inputOf(values, block)?.value;
}

export function register(app: App, deps: Deps): void {
  app.view(DECLARE_VIEW, async ({ ack, body, view, client }) => {
    const values = view.state.values as Values;
    const parsed = declaration.safeParse({
      title: read(values, DECLARE_TITLE) ?? '',
      severity: read(values, DECLARE_SEVERITY),
      serviceId: read(values, DECLARE_SERVICE) ?? '',
      description: read(values, DECLARE_DESCRIPTION),
    });
    if (!parsed.success) {
      const errors: Record<string, string> = {};
      for (const issue of parsed.error.issues) {
        const block = FIELD_BLOCK[String(issue.path[0])];
        if (block && !errors[block]) errors[block] = issue.message;
      }
      await ack({ response_action: 'errors', errors });
      return;
    }
    await ack();
    const text = await answerOf(
      deps.log,
      async () => {
        const user = await actingPerson(deps, client, body, { pagerDuty: true });
        const result = await declare(incidentCtx(deps), user, parsed.data, view.id);
        deps.wakeIncidents?.();
        return result;
      },
      {
        say: "The incident could not be declared: the details are in the bot's log.",
        log: 'declaring an incident failed',
      },
      { sayDone: true },
    );
    if (text)
      await client.chat
        .postMessage({ channel: body.user.id, text })
        .catch((e: unknown) => deps.log.warn({ err: e }, 'could not tell the user'));
  });
}
