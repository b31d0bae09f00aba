// The incident root message's "Change severity" select: sets P1–P4 here and the matching priority in PagerDuty.
import type { App, BlockAction, StaticSelectAction } from '@slack/bolt';
import { INCIDENT_SEVERITY } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { setSeverity } from '../../incidents/actions.js';
import { isSeverity } from '../../incidents/severity.js';
import { pickedOf } from '../picked.js';
import { actingPerson, assertFromIncidentPost, incidentCtx, incidentOf, runIncidentAction } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<StaticSelectAction>>(INCIDENT_SEVERITY, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const choice = pickedOf(action).option;
      const incidentId = choice?.incidentId ?? (await incidentOf(deps, body, { block_id: action.block_id }));
      const severity = choice?.choice ?? '';
      if (!isSeverity(severity)) throw new UserError('Pick a severity from P1 to P4.');
      await assertFromIncidentPost(deps, body, incidentId);
      return setSeverity(
        incidentCtx(deps),
        incidentId,
        await actingPerson(deps, client, body, { pagerDuty: true }),
        severity,
      );
    });
  });
}
