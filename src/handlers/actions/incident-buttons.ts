// The incident root message's buttons that act on the incident as the clicker and nothing else,
// from one table of action_id → domain act: Acknowledge (in Slack and in PagerDuty, From: the
// clicker's own PagerDuty account, checked first), Mitigated (runbook step 4), Escalate (the next escalation level in
// PagerDuty) and Resolve (in Slack and PagerDuty; the post-mortem opens).
import type { App, BlockAction, ButtonAction, OverflowAction } from '@slack/bolt';
import { INCIDENT_ACK, INCIDENT_ESCALATE, INCIDENT_MITIGATE, INCIDENT_MORE } from '../../blocks/incident-ids.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import {
  type ActionCtx,
  type ActionResult,
  acknowledge,
  escalate,
  mitigate,
  type SlackUser,
} from '../../incidents/actions.js';
import { pickedOf } from '../picked.js';
import { actingPerson, assertFromIncidentPost, incidentCtx, incidentOf, runIncidentAction } from './incident-common.js';

type Act = (ctx: ActionCtx, incidentId: string, by: SlackUser) => Promise<ActionResult>;

const BUTTONS: ReadonlyArray<readonly [actionId: string, act: Act]> = [
  [INCIDENT_ACK, acknowledge],
  [INCIDENT_ESCALATE, escalate],
  [INCIDENT_MITIGATE, mitigate],
  // Resolve: incident-status-page.ts (it asks for confirmation while the latest verification is critical).
];

export function register(app: App, deps: Deps): void {
  for (const [actionId, act] of BUTTONS) {
    app.action<BlockAction<ButtonAction>>(actionId, async ({ ack, body, action, client }) => {
      await ack();
      await runIncidentAction(deps, client, body, async () => {
        const incidentId = await incidentOf(deps, body, action);
        await assertFromIncidentPost(deps, body, incidentId);
        return act(incidentCtx(deps), incidentId, await actingPerson(deps, client, body, { pagerDuty: true }));
      });
    });
  }
  // The root's "More…" overflow: an option stands for one of the buttons above (`<incident>|<action_id>`).
  app.action<BlockAction<OverflowAction>>(INCIDENT_MORE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const choice = pickedOf(action).option;
      const act = BUTTONS.find(([id]) => id === choice?.choice)?.[1];
      if (!choice || !act)
        throw new UserError('That choice is not one I know; pick it again from the incident message.');
      await assertFromIncidentPost(deps, body, choice.incidentId);
      return act(incidentCtx(deps), choice.incidentId, await actingPerson(deps, client, body, { pagerDuty: true }));
    });
  });
}
