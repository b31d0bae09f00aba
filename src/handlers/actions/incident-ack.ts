// The incident root message's "Acknowledge" button: acknowledges in Slack and in PagerDuty (From: the clicker's email).
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_ACK } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { acknowledge } from '../../incidents/actions.js';
import { incidentCtx, incidentOf, runIncidentAction, slackUser } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_ACK, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      return acknowledge(incidentCtx(deps), incidentId, await slackUser(client, deps, body.user.id));
    });
  });
}
