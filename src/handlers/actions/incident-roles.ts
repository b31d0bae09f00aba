// The incident root's "Take command" button: the presser becomes the commander (a hand-over when
// someone else was). Roles are Slack's own, so nothing goes to PagerDuty.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_TAKE_COMMAND } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { assignRole } from '../../incidents/roles.js';
import { actingPerson, assertFromIncidentPost, incidentCtx, incidentOf, runIncidentAction } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_TAKE_COMMAND, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      const by = await actingPerson(deps, client, body, { pagerDuty: false });
      return assignRole({ ...incidentCtx(deps), store: deps.store }, incidentId, by, 'commander', by);
    });
  });
}
