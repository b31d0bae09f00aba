// The incident root message's "Resolve" button: resolves in Slack and in PagerDuty and opens the post-mortem.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_RESOLVE } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { resolve } from '../../incidents/actions.js';
import { incidentCtx, incidentOf, runIncidentAction, slackUser } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_RESOLVE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      return resolve(incidentCtx(deps), incidentId, await slackUser(client, deps, body.user.id));
    });
  });
}
