// The incident root message's "Run diagnosis" select: runs the chosen runbook procedure and posts its findings in the thread.
import type { App, BlockAction, StaticSelectAction } from '@slack/bolt';
import { INCIDENT_DIAGNOSE } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { requestDiagnosis } from '../../incidents/actions.js';
import { pickedOf } from '../picked.js';
import { actingPerson, assertFromIncidentPost, incidentCtx, incidentOf, runIncidentAction } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<StaticSelectAction>>(INCIDENT_DIAGNOSE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const picked = pickedOf(action);
      const choice = picked.option;
      const incidentId = choice?.incidentId ?? (await incidentOf(deps, body, { block_id: action.block_id }));
      const procedureId = choice?.choice ?? picked.value ?? '';
      await assertFromIncidentPost(deps, body, incidentId);
      const by = await actingPerson(deps, client, body, { pagerDuty: false });
      return requestDiagnosis(incidentCtx(deps), incidentId, by, procedureId);
    });
  });
}
