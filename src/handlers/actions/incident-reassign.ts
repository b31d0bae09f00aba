// The incident root message's "Reassign to…" user picker: reassigns in PagerDuty to the user with the picked person's email.
import type { App, BlockAction, UsersSelectAction } from '@slack/bolt';
import { INCIDENT_REASSIGN } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { reassign } from '../../incidents/actions.js';
import { pickedOf } from '../picked.js';
import {
  actingPerson,
  assertFromIncidentPost,
  incidentCtx,
  incidentOf,
  runIncidentAction,
  slackUser,
} from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<UsersSelectAction>>(INCIDENT_REASSIGN, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, { block_id: action.block_id });
      const picked = pickedOf(action).value;
      if (!picked || !/^[UW][A-Z0-9]+$/.test(picked)) throw new UserError('Pick a person to reassign to.');
      await assertFromIncidentPost(deps, body, incidentId);
      const [by, to] = await Promise.all([
        actingPerson(deps, client, body, { pagerDuty: true }),
        slackUser(client, deps, picked),
      ]);
      return reassign(incidentCtx(deps), incidentId, by, to);
    });
  });
}
