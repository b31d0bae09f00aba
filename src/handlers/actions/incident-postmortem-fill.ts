// The post-mortem's "Fill in" button: opens the modal for root cause, action items and learnings.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { POSTMORTEM_FILL } from '../../blocks/incident-ids.js';
import { postmortemModal } from '../../blocks/incident-postmortem.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { getPostmortem } from '../../incidents/postmortem.js';
import { getIncident } from '../../incidents/store.js';
import { actingPerson, assertFromIncidentPost, incidentOf, runIncidentAction } from './incident-common.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(POSTMORTEM_FILL, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      await actingPerson(deps, client, body, { pagerDuty: false });
      const [incident, pm] = await Promise.all([
        getIncident(deps.store, incidentId),
        getPostmortem(deps.store, incidentId),
      ]);
      if (!incident || !pm)
        throw new UserError('This incident has no post-mortem yet: it opens when the incident is resolved.');
      await client.views.open({ trigger_id: body.trigger_id, view: postmortemModal(incident, pm) });
      return { ok: true, text: [] };
    });
  });
}
