// "Cancel" on a preview or an approval request: the action will not run, and both messages say who cancelled it.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { cancelledMessage, refusalText } from '../../blocks/remediation.js';
import { REMEDIATION_CANCEL } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { pickedOf } from '../picked.js';
import { placeOf, tell, update } from '../remediation-kit.js';

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(REMEDIATION_CANCEL, async ({ ack, body, action, client, respond }) => {
    await ack();
    const place = placeOf(body);
    const service = deps.remediations;
    const res = await service.cancel({ id: pickedOf(action).value ?? '', ...place });
    const refused = refusalText(res, (a) => service.labelOf(a), 'confirmation');
    if (refused) return tell(deps, client, place, refused, respond);
    switch (res.kind) {
      case 'cancelled': {
        const label = service.labelOf(res.action);
        const message = cancelledMessage(res.action, label);
        await update(deps, client, place.channelId, place.messageTs, message, respond);
        for (const ts of [res.action.messageTs, res.action.approvalTs]) {
          if (ts && ts !== place.messageTs) await update(deps, client, res.action.channelId, ts, message);
        }
        return;
      }
      default:
        return tell(deps, client, place, 'I no longer know this confirmation; nothing was done.', respond);
    }
  });
}
