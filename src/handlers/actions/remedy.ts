// The `remedy:*` buttons the diagnosis replies carry: ack, check the operator, preview, and post
// the confirmation (Confirm/Cancel) in the thread of the message the button sits on. Marking a
// scan failed opens its modal instead, which is its own confirmation.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { z } from 'zod';
import { REMEDY_ACTION_PATTERN } from '../../blocks/ids.js';
import { renderText } from '../../blocks/mrkdwn.js';
import { duplicateText, nothingToDoMessage, previewMessage, scanFailModalFor } from '../../blocks/remediation.js';
import type { Deps } from '../../deps.js';
import { pickedOf } from '../picked.js';
import { placeOf, post, tell, threadOf } from '../remediation-kit.js';

const buttonValue = z.object({
  remedy: z.string().max(64),
  params: z.record(z.string(), z.union([z.string().max(200), z.number()])).default({}),
});

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(REMEDY_ACTION_PATTERN, async ({ ack, body, action, client, respond }) => {
    await ack();
    const place = placeOf(body);
    const service = deps.remediations;
    let value: z.infer<typeof buttonValue>;
    try {
      value = buttonValue.parse(JSON.parse(pickedOf(action).value ?? ''));
    } catch {
      await tell(deps, client, place, 'That button carries no action I know; nothing was changed.', respond);
      return;
    }
    const thread = threadOf(place);
    if (value.remedy === 'mark-scan-failed') {
      const refused = await service.refusal(
        place.userId,
        place.channelId,
        'mark-scan-failed',
        'open the mark-scan-failed form',
      );
      if (refused) return tell(deps, client, place, refused, respond);
      const scanId = typeof value.params.scanId === 'string' ? value.params.scanId : undefined;
      const view = scanFailModalFor(
        { channelId: place.channelId, threadTs: thread },
        await service.showScan({ userId: place.userId, channelId: place.channelId, threadTs: thread }, scanId),
      );
      await client.views.open({ trigger_id: body.trigger_id, view });
      return;
    }
    const res = await service.start({
      remedy: value.remedy,
      params: value.params,
      userId: place.userId,
      channelId: place.channelId,
      threadTs: thread,
      openKey: `button:${place.channelId}:${place.messageTs ?? ''}:${action.action_id}`,
    });
    switch (res.kind) {
      case 'refused':
      case 'invalid':
        return tell(deps, client, place, renderText(res.message), respond);
      case 'duplicate':
        return tell(deps, client, place, duplicateText(res.action, service.labelOf(res.action)), respond);
      case 'nothing':
        await post(deps, client, place.channelId, thread, nothingToDoMessage(res.label, res.preview), respond);
        return;
      case 'preview': {
        const message = previewMessage({
          action: res.action,
          label: res.label,
          highRisk: res.highRisk,
          twoPerson: deps.config.TWO_PERSON_RULE,
          ttlMs: deps.config.CONFIRM_TTL,
        });
        const ts = await post(deps, client, place.channelId, thread, message, respond);
        if (ts) await service.attachMessage(res.action.id, { messageTs: ts });
      }
    }
  });
}
