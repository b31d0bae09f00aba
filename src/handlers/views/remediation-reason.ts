// The reason a high-risk action asks for. With the two-person rule on, an approval request
// (Approve/Cancel) goes to the thread and the confirmation says it waits; with it off, it runs.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Message } from '../../blocks/message.js';
import { esc, section } from '../../blocks/message.js';
import { renderInline } from '../../blocks/mrkdwn.js';
import { approvalRequestMessage, awaitingMessage, expiredMessage, refusalText } from '../../blocks/remediation.js';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../blocks/remediation-ids.js';
import type { Deps } from '../../deps.js';
import { whoIsOnCall } from '../../incidents/oncall.js';
import { pacedPagerDuty } from '../../incidents/pagerduty-client.js';
import type { ActionRow } from '../../remediations/flow.js';
import { direct, permalink, post, runAndReport, update } from '../remediation-kit.js';

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
        const request = approvalRequestMessage(a, label, deps.config.CONFIRM_TTL);
        const ts = await post(deps, client, a.channelId, a.threadTs ?? a.messageTs, request);
        if (ts) await service.attachMessage(a.id, { approvalTs: ts });
        await update(deps, client, a.channelId, a.messageTs, awaitingMessage(a, label));
        await askApprovers(deps, client, a, request, ts);
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

/** How long the on-call look-up may delay the approval DMs; after it they go to every operator alike. */
const ONCALL_LOOKUP_MS = 3_000;

/** The Slack users on call now in PagerDuty (by their PagerDuty email); none when it cannot say. */
async function onCallNow(deps: Deps, client: WebClient): Promise<Set<string>> {
  if (!deps.config.PAGERDUTY_API_TOKEN) return new Set();
  try {
    const policies = await whoIsOnCall(pacedPagerDuty(deps, ONCALL_LOOKUP_MS), undefined, async (email) => {
      const res = await client.users.lookupByEmail({ email });
      return res.user?.id;
    });
    return new Set(
      policies
        .flatMap((p) => p.levels.flatMap((l) => l.people.map((u) => u.slackId)))
        .filter((id): id is string => !!id),
    );
  } catch (err) {
    deps.log.warn({ err }, 'could not tell who is on call; asking every operator alike');
    return new Set();
  }
}

/**
 * Every eligible approver (an operator who is not the requester) gets the request by DM, the
 * operators on call now in PagerDuty first (told so), then the others: a link
 * back to it when it is in the channel, the request itself (Approve and all) when the channel
 * could not take it, so it never waits unseen.
 */
async function askApprovers(
  deps: Deps,
  client: WebClient,
  a: ActionRow,
  request: Message,
  ts: string | undefined,
): Promise<void> {
  const approvers = (await deps.remediations.operators.list()).filter(
    (id) => id !== a.requestedBy && id !== a.confirmedBy,
  );
  const link = ts ? await permalink(client, a.channelId, ts) : undefined;
  const dm: Message = link
    ? {
        text: `${request.text} — ${esc(link)}`,
        blocks: [
          ...request.blocks.filter((b) => b.type !== 'actions'),
          section(renderInline({ link, label: 'Open the request' })),
        ],
      }
    : request;
  const onCall = await onCallNow(deps, client);
  const first = approvers.filter((id) => onCall.has(id));
  for (const id of first)
    await direct(deps, client, id, {
      ...dm,
      text: `:pager: You are on call now — ${dm.text}`,
      blocks: [section(':pager: You are on call now, so you are asked first.'), ...dm.blocks],
    });
  for (const id of approvers.filter((x) => !onCall.has(x))) await direct(deps, client, id, dm);
}
