// The incident root message's "Escalate" button: moves the incident to the next escalation level in PagerDuty.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_ESCALATE } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { escalate } from '../../incidents/actions.js';
import { incidentCtx, incidentOf, runIncidentAction, slackUser } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_ESCALATE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      return escalate(incidentCtx(deps), incidentId, await slackUser(client, deps, body.user.id));
    });
  });
}
