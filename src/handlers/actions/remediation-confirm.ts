// "Confirm" on a preview: ack, then one atomic step decides — run it now, ask for a reason (high
// risk), or tell the presser it expired or was already done. Only the press that moved the row runs it.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { expiredMessage, pickBlockId, reasonModal, refusalText } from '../../blocks/remediation.js';
import { REMEDIATION_CONFIRM, REMEDIATION_PICK } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { inputOf, pickedOf } from '../picked.js';
import { placeOf, runAndReport, tell, update } from '../remediation-kit.js';

/** The ticked checkboxes, when the message has them (Slack sends the message's state with the click). */
function picked(body: BlockAction, id: string): string[] | undefined {
  const values = body.state?.values as Parameters<typeof inputOf>[0];
  const state = values?.[pickBlockId(id)]?.[REMEDIATION_PICK];
  if (!state?.selected_options) return undefined;
  return inputOf(values, pickBlockId(id), REMEDIATION_PICK)?.values;
}

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(REMEDIATION_CONFIRM, async ({ ack, body, action, client, respond }) => {
    await ack();
    const place = placeOf(body);
    const service = deps.remediations;
    const id = pickedOf(action).value ?? '';
    const res = await service.confirm({ id, ...place, selected: picked(body, id) });
    const refused = refusalText(res, (a) => service.labelOf(a), 'confirmation');
    if (refused) return tell(deps, client, place, refused, respond);
    switch (res.kind) {
      case 'expired':
        await update(
          deps,
          client,
          place.channelId,
          place.messageTs,
          expiredMessage(res.action, service.labelOf(res.action)),
          respond,
        );
        return tell(
          deps,
          client,
          place,
          'This confirmation expired; nothing was done. Run the command again for a fresh preview.',
          respond,
        );
      case 'needs_reason':
        try {
          await client.views.open({
            trigger_id: body.trigger_id,
            view: reasonModal(
              res.action,
              service.labelOf(res.action),
              JSON.stringify({ id: res.action.id }),
              deps.config.TWO_PERSON_RULE,
            ),
          });
        } catch (err) {
          // An expired trigger or a Slack hiccup: say so, or the action waits for a reason nobody was asked for.
          deps.log.warn({ err }, 'could not open the reason form');
          return tell(
            deps,
            client,
            place,
            'Slack did not open the form asking for a reason; press Confirm again.',
            respond,
          );
        }
        return;
      case 'running':
        return runAndReport(deps, client, res.action, respond);
      default:
        return tell(deps, client, place, 'Nothing was done.', respond);
    }
  });
}
