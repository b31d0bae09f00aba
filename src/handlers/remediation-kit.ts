// Slack glue shared by the remediation listeners: where a click came from, telling one user
// something, posting in the action's thread, updating the confirmation so its buttons are gone,
// and running a confirmed action with its progress and outcome in the thread.
import type { BlockAction, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import type { Message } from '../blocks/message.js';
import {
  finishedMessage,
  outcomeMessage,
  progressMessage,
  runningMessage,
  type ScanModalMeta,
} from '../blocks/remediation.js';
import type { Deps } from '../deps.js';
import { plainText } from '../domain/text.js';
import { recordActivity } from '../incidents/actions.js';
import { incidentByThread } from '../incidents/store.js';
import { requestVerification } from '../incidents/verification.js';
import type { ActionRow } from '../remediations/flow.js';
import type { ProgressNote } from '../remediations/types.js';
import { incidentCtx } from './actions/incident-common.js';

/** The operator-group port the remediation service is given: a group's members, from Slack. */
export function slackGroupMembers(slack: WebClient): (groupId: string) => Promise<string[]> {
  return async (group) => {
    const res = await slack.usergroups.users.list({ usergroup: group });
    return res.users ?? [];
  };
}

export interface Place {
  userId: string;
  channelId: string;
  messageTs?: string;
  threadTs?: string;
}

/** Where a click happened: the channel, the message and the thread it sits in. */
export function placeOf(body: BlockAction): Place {
  const c = body.container as { channel_id?: string; message_ts?: string; thread_ts?: string };
  const message = body.message as { ts?: string; thread_ts?: string } | undefined;
  return {
    userId: body.user.id,
    channelId: c.channel_id ?? body.channel?.id ?? '',
    messageTs: c.message_ts ?? message?.ts,
    threadTs: c.thread_ts ?? message?.thread_ts,
  };
}

/** The thread results go to: the one the message sits in, else the message's own. */
export function threadOf(p: Place): string | undefined {
  return p.threadTs ?? p.messageTs;
}

/** A line for one person only: an ephemeral message, else through response_url. */
export async function tell(deps: Deps, client: WebClient, p: Place, text: string, respond?: RespondFn): Promise<void> {
  const clean = deps.redactor.redact(text);
  try {
    await client.chat.postEphemeral({
      channel: p.channelId,
      user: p.userId,
      text: clean,
      ...(p.threadTs ? { thread_ts: p.threadTs } : {}),
    });
    return;
  } catch (err) {
    deps.log.warn({ err }, 'chat.postEphemeral failed; answering through response_url');
  }
  await respond?.({ response_type: 'ephemeral', replace_original: false, text: clean }).catch((err: unknown) =>
    deps.log.warn({ err }, 'could not tell the user'),
  );
}

const slackError = (err: unknown): string | undefined => (err as { data?: { error?: string } })?.data?.error;

/**
 * Posts in a channel or thread; the message's ts, or undefined when only a fallback worked.
 * The bot not in the channel: it joins a public one; otherwise response_url, else a direct
 * message to `dmTo` (the person the post concerns), so the post always has a reader.
 */
export async function post(
  deps: Deps,
  client: WebClient,
  channelId: string,
  threadTs: string | undefined,
  m: Message,
  respond?: RespondFn,
  dmTo?: string,
): Promise<string | undefined> {
  const safe = deps.redactor.redactDeep({ text: m.text, blocks: m.blocks });
  const send = async () =>
    (await client.chat.postMessage({ channel: channelId, ...(threadTs ? { thread_ts: threadTs } : {}), ...safe })).ts;
  try {
    return await send();
  } catch (err) {
    if (slackError(err) === 'not_in_channel') {
      const joined = await client.conversations.join({ channel: channelId }).then(
        () => true,
        () => false,
      );
      if (joined) {
        const ts = await send().catch(() => undefined);
        if (ts) return ts;
      }
    }
    deps.log.warn({ err, channel: channelId }, 'chat.postMessage failed; answering through a fallback');
  }
  if (respond) {
    const answered = await respond({ response_type: 'in_channel', replace_original: false, ...safe }).then(
      () => true,
      (err: unknown) => {
        deps.log.warn({ err }, 'could not post the reply through response_url');
        return false;
      },
    );
    if (answered) return undefined;
  }
  if (dmTo) await direct(deps, client, dmTo, m);
  return undefined;
}

/** A direct message to one person; the ts in that DM, undefined when Slack would not take it. */
export async function direct(deps: Deps, client: WebClient, userId: string, m: Message): Promise<string | undefined> {
  try {
    const res = await client.chat.postMessage({
      channel: userId,
      ...deps.redactor.redactDeep({ text: m.text, blocks: m.blocks }),
    });
    return res.ts;
  } catch (err) {
    deps.log.warn({ err, user: userId }, 'could not send a direct message');
    return undefined;
  }
}

/** A link to a message, for a DM that points back at it; undefined when Slack has none. */
export async function permalink(client: WebClient, channelId: string, ts: string): Promise<string | undefined> {
  try {
    return (await client.chat.getPermalink({ channel: channelId, message_ts: ts })).permalink;
  } catch {
    return undefined;
  }
}

/** Replaces a message (its buttons go); through response_url when chat.update cannot. */
export async function update(
  deps: Deps,
  client: WebClient,
  channelId: string,
  ts: string | undefined,
  m: Message,
  respond?: RespondFn,
): Promise<void> {
  const safe = deps.redactor.redactDeep({ text: m.text, blocks: m.blocks });
  if (ts) {
    try {
      await client.chat.update({ channel: channelId, ts, ...safe });
      return;
    } catch (err) {
      deps.log.warn({ err, channel: channelId }, 'chat.update failed; replacing through response_url');
    }
  }
  await respond?.({ replace_original: true, ...safe }).catch((err: unknown) =>
    deps.log.warn({ err }, 'could not update the message'),
  );
}

/**
 * Runs an action this caller moved to `running`: the confirmation says so (no buttons), progress
 * and the outcome go to the thread where it started, and the confirmation ends saying who did what.
 */
export async function runAndReport(deps: Deps, client: WebClient, row: ActionRow, respond?: RespondFn): Promise<void> {
  const service = deps.remediations;
  const label = service.labelOf(row);
  const thread = row.threadTs ?? row.messageTs;
  if (row.messageTs || respond)
    await update(deps, client, row.channelId, row.messageTs, runningMessage(row, label), respond);
  // Progress and outcome reach the requester by DM when the channel cannot take them.
  const progress = async (note: ProgressNote) => {
    await post(deps, client, row.channelId, thread, progressMessage(note), undefined, row.requestedBy);
  };
  const { action, outcome } = await service.execute(row, progress);
  const told = outcomeMessage(action, label, outcome);
  await post(deps, client, row.channelId, thread, told, respond, row.requestedBy);
  // The timeline keeps plain words (rendered, and escaped, when shown), not the posted mrkdwn.
  await recordInIncident(
    deps,
    row.channelId,
    thread,
    row.requestedBy,
    `${label}: ${plainText(outcome.summary)}`,
    label,
  );
  if (row.messageTs || respond)
    await update(deps, client, row.channelId, row.messageTs, finishedMessage(action, label, outcome), respond);
}

/** A remediation carried out in an incident's thread goes into that incident's timeline, outcome and all. */
export async function recordInIncident(
  deps: Deps,
  channelId: string,
  threadTs: string | undefined,
  userId: string,
  text: string,
  label?: string,
): Promise<void> {
  if (!threadTs) return;
  try {
    const incident = await incidentByThread(deps.store, channelId, threadTs);
    if (incident) {
      await recordActivity(incidentCtx(deps), incident.id, {
        actor: { slackId: userId },
        kind: 'remediation',
        text: `Remediation: ${text}`,
      });
      // Finished (its rollout included): the bot checks whether it fixed what the diagnosis found.
      if (label && incident.pdStatus !== 'resolved') {
        await requestVerification(deps.store, incidentCtx(deps), incident, 'remediation', {
          label,
          actor: { source: 'slack', slackId: userId },
        });
        deps.wakeIncidents?.();
      }
    }
  } catch (err) {
    deps.log.warn({ err }, 'could not record a remediation outcome in the incident timeline');
  }
}

const scanModalMeta = z.object({ c: z.string(), t: z.string().optional(), s: z.string().optional() });

export function parseScanModalMeta(text: string): ScanModalMeta | undefined {
  try {
    const r = scanModalMeta.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
