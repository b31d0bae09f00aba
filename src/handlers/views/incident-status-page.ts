// Submissions of the Status page, Post update and Resolve-anyway modals.
import type { App } from '@slack/bolt';
import {
  POST_UPDATE_VIEW,
  RESOLVE_CONFIRM_VIEW,
  SP_BODY,
  SP_COMPONENT_PREFIX,
  SP_NAME,
  SP_STATUS,
  STATUS_PAGE_VIEW,
  UPDATE_MESSAGE,
} from '../../blocks/status-ids.js';
import { PLATFORM_COMPONENTS, type PlatformComponent } from '../../config.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { recordActivity, resolve } from '../../incidents/actions.js';
import { postStakeholderUpdate } from '../../incidents/stakeholder-updates.js';
import { getIncident } from '../../incidents/store.js';
import { latestVerification } from '../../incidents/verification.js';
import { submitStatusPage } from '../../statuspage/store.js';
import {
  SP_COMPONENT_STATUSES,
  SP_INCIDENT_STATUSES,
  type SpComponentStatus,
  type SpIncidentStatus,
} from '../../statuspage/templates.js';
import { actingPerson, incidentCtx } from '../actions/incident-common.js';
import { criticalReason } from '../actions/incident-status-page.js';
import { answerOf } from '../answer.js';
import { inputOf } from '../picked.js';

type Values = Parameters<typeof inputOf>[0];

function read(values: Values, block: string): string | undefined {
  return inputOf(values, block)?.value;
}

const INCIDENT_ID = /^[A-Za-z0-9_-]{1,64}$/;

export function register(app: App, deps: Deps): void {
  const tell = async (client: Parameters<Parameters<App['view']>[1]>[0]['client'], user: string, text: string) => {
    await client.chat
      .postMessage({ channel: user, text })
      .catch((err: unknown) => deps.log.warn({ err }, 'could not tell the user'));
  };

  app.view(STATUS_PAGE_VIEW, async ({ ack, body, view, client }) => {
    const values = view.state.values as Values;
    const name = (read(values, SP_NAME) ?? '').trim();
    const status = read(values, SP_STATUS) as SpIncidentStatus | undefined;
    const text = (read(values, SP_BODY) ?? '').trim();
    const errors: Record<string, string> = {};
    if (name.length < 3) errors[SP_NAME] = 'Give the public a name of a few words.';
    if (!status || !SP_INCIDENT_STATUSES.includes(status)) errors[SP_STATUS] = 'Pick a status.';
    if (!INCIDENT_ID.test(view.private_metadata)) errors[SP_NAME] = 'This form lost its incident; open it again.';
    if (Object.keys(errors).length) {
      await ack({ response_action: 'errors', errors });
      return;
    }
    const impact: Partial<Record<PlatformComponent, SpComponentStatus>> = {};
    for (const c of PLATFORM_COMPONENTS) {
      const v = read(values, `${SP_COMPONENT_PREFIX}${c}`) as SpComponentStatus | undefined;
      if (v && SP_COMPONENT_STATUSES.includes(v) && v !== 'operational') impact[c] = v;
    }
    await ack();
    const refused = await answerOf(
      deps.log,
      async () => {
        const user = await actingPerson(deps, client, body, { pagerDuty: false });
        const ctx = incidentCtx(deps);
        const done = await deps.store.tx(async (q) => {
          const i = await getIncident(q, view.private_metadata, true);
          if (!i) throw new UserError(`I have no incident \`${view.private_metadata}\`.`);
          if (i.pdStatus === 'resolved')
            throw new UserError('This incident is resolved; its status page was closed with it.');
          return submitStatusPage(
            q,
            ctx,
            i,
            { name, status: status as SpIncidentStatus, body: text, impact },
            { source: 'slack', slackId: user.slackId, ...(user.name ? { name: user.name } : {}) },
          );
        });
        deps.wakeIncidents?.();
        deps.log.info({ incident: view.private_metadata, done }, 'status page submitted');
        return undefined;
      },
      {
        say: "The status page could not be updated: the details are in the bot's log.",
        log: 'status page submission failed',
      },
    );
    if (refused) await tell(client, body.user.id, refused);
  });

  app.view(POST_UPDATE_VIEW, async ({ ack, body, view, client }) => {
    const message = (read(view.state.values as Values, UPDATE_MESSAGE) ?? '').trim();
    if (message.length < 3 || !INCIDENT_ID.test(view.private_metadata)) {
      await ack({ response_action: 'errors', errors: { [UPDATE_MESSAGE]: 'Write the update in a few words.' } });
      return;
    }
    await ack();
    const refused = await answerOf(
      deps.log,
      async () => {
        const user = await actingPerson(deps, client, body, { pagerDuty: true });
        const result = await postStakeholderUpdate(incidentCtx(deps), view.private_metadata, user, message);
        deps.wakeIncidents?.();
        return result;
      },
      { say: "The update could not be posted: the details are in the bot's log.", log: 'posting an update failed' },
    );
    if (refused) await tell(client, body.user.id, refused);
  });

  app.view(RESOLVE_CONFIRM_VIEW, async ({ ack, body, view, client }) => {
    await ack();
    const id = view.private_metadata;
    if (!INCIDENT_ID.test(id)) return;
    const refused = await answerOf(
      deps.log,
      async () => {
        const user = await actingPerson(deps, client, body, { pagerDuty: true });
        const reason = criticalReason(await latestVerification(deps.store, id));
        const result = await resolve(incidentCtx(deps), id, user);
        if (result.ok && reason)
          await recordActivity(incidentCtx(deps), id, {
            actor: user,
            kind: 'button',
            text: `Resolved although the latest verification was critical (confirmed): ${reason}`,
          });
        deps.wakeIncidents?.();
        return result;
      },
      { say: "That did not work: the details are in the bot's log.", log: 'resolving failed' },
    );
    if (refused) await tell(client, body.user.id, refused);
  });
}
