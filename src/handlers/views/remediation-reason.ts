// The reason a high-risk action asks for. With the two-person rule on, an approval request
// (Approve/Cancel) goes to the thread and the confirmation says it waits; with it off, it runs.
import type { App } from '@slack/bolt';
import { z } from 'zod';
import { approvalRequestMessage, awaitingMessage, expiredMessage, refusalText } from '../../blocks/remediation.js';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { post, runAndReport, update } from '../remediation-kit.js';

const meta = z.object({ id: z.string().min(1).max(64) });

export function register(app: App, deps: Deps): void {
  app.view(REASON_MODAL, async ({ ack, body, view, client }) => {
    const service = deps.remediations;
    let id: string;
    try {
      id = meta.parse(JSON.parse(view.private_metadata)).id;
    } catch {
      await ack({
        response_action: 'errors',
        errors: { [REASON_BLOCK]: 'This form lost track of its action; start again from the command.' },
      });
      return;
    }
    const reason = view.state.values[REASON_BLOCK]?.[REASON_INPUT]?.value ?? '';
    const res = await service.submitReason({ id, userId: body.user.id, reason });
    const refused = refusalText(res, (a) => service.labelOf(a), 'action');
    if (refused) {
      await ack({ response_action: 'errors', errors: { [REASON_BLOCK]: refused } });
      return;
    }
    switch (res.kind) {
      case 'expired':
        await ack({
          response_action: 'errors',
          errors: { [REASON_BLOCK]: 'This confirmation expired; nothing was done. Run the command again.' },
        });
        await update(
          deps,
          client,
          res.action.channelId,
          res.action.messageTs,
          expiredMessage(res.action, service.labelOf(res.action)),
        );
        return;
      case 'awaiting': {
        await ack();
        const a = res.action;
        const label = service.labelOf(a);
        const ts = await post(
          deps,
          client,
          a.channelId,
          a.threadTs ?? a.messageTs,
          approvalRequestMessage(a, label, deps.config.CONFIRM_TTL),
        );
        if (ts) await service.attachMessage(a.id, { approvalTs: ts });
        await update(deps, client, a.channelId, a.messageTs, awaitingMessage(a, label));
        return;
      }
      case 'running':
        await ack();
        await runAndReport(deps, client, res.action);
        return;
      default:
        await ack();
    }
  });
}
