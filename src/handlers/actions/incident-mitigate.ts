// The incident root message's "Mitigated" button: records that a fix or workaround is in place (runbook step 4).
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_MITIGATE } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { mitigate } from '../../incidents/actions.js';
import { incidentCtx, incidentOf, runIncidentAction, slackUser } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_MITIGATE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      return mitigate(incidentCtx(deps), incidentId, await slackUser(client, deps, body.user.id));
    });
  });
}
