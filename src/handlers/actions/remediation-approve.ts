// "Approve" on a high-risk request: a second operator, never the requester (two-person rule).
// The press that moves the row runs the action; every other press is told why nothing happened.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { approvedMessage, expiredMessage, refusalText } from '../../blocks/remediation.js';
import { REMEDIATION_APPROVE } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { pickedOf } from '../picked.js';
import { placeOf, runAndReport, tell, update } from '../remediation-kit.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(REMEDIATION_APPROVE, async ({ ack, body, action, client, respond }) => {
    await ack();
    const place = placeOf(body);
    const service = deps.remediations;
    const res = await service.approve({ id: pickedOf(action).value ?? '', ...place });
    const refused = refusalText(res, (a) => service.labelOf(a), 'request');
    if (refused) return tell(deps, client, place, refused, respond);
    switch (res.kind) {
      case 'expired': {
        const label = service.labelOf(res.action);
        await update(deps, client, place.channelId, place.messageTs, expiredMessage(res.action, label), respond);
        if (res.action.messageTs && res.action.messageTs !== place.messageTs)
          await update(deps, client, res.action.channelId, res.action.messageTs, expiredMessage(res.action, label));
        return;
      }
      case 'running': {
        await update(
          deps,
          client,
          place.channelId,
          place.messageTs,
          approvedMessage(res.action, service.labelOf(res.action)),
          respond,
        );
        // The confirmation message is updated by runAndReport; this click's response_url belongs to the approval.
        return runAndReport(deps, client, res.action);
      }
      default:
        return tell(deps, client, place, 'Nothing was done.', respond);
    }
  });
}
