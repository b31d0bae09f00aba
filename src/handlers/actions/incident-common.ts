// What the incident listeners share: who clicked (with their email from users.info, for
// PagerDuty's From:), which incident a click is about, and how a refusal reaches the clicker.
import type { WebClient } from '@slack/web-api';
import { INCIDENT_BLOCK_PREFIX } from '../../blocks/incident-ids.js';
import { renderRich } from '../../blocks/mrkdwn.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import type { ActionCtx, ActionResult, SlackUser } from '../../incidents/actions.js';
import { incidentByThread } from '../../incidents/store.js';
import { redact } from '../../redact.js';

export function incidentCtx(deps: Deps): ActionCtx {
  return { config: deps.config, log: deps.log, now: deps.now, store: deps.store };
}

/** The Slack user with the name and email Slack shows the bot (users:read.email), when it can. */
export async function slackUser(client: WebClient, deps: Pick<Deps, 'log'>, userId: string): Promise<SlackUser> {
  try {
    const res = await client.users.info({ user: userId });
    const u = res.user;
    return {
      slackId: userId,
      ...(u?.real_name || u?.name ? { name: u.real_name || u.name } : {}),
      ...(u?.profile?.email ? { email: u.profile.email } : {}),
    };
  } catch (err) {
    deps.log.warn({ err, user: userId }, "users.info failed; acting without the user's email");
    return { slackId: userId };
  }
}

interface ActionBody {
  user: { id: string };
  channel?: { id: string };
  container?: { channel_id?: string; message_ts?: string; thread_ts?: string };
  message?: { ts?: string; thread_ts?: string };
}

/** The incident a click is about: the button's value, else its block id, else the message it sits on. */
export async function incidentOf(
  deps: Deps,
  body: ActionBody,
  action: { value?: string; block_id?: string },
): Promise<string> {
  if (action.value && /^[A-Za-z0-9_-]{1,64}$/.test(action.value)) return action.value;
  const fromBlock = action.block_id?.startsWith(INCIDENT_BLOCK_PREFIX)
    ? action.block_id.slice(INCIDENT_BLOCK_PREFIX.length).split(':')[0]
    : undefined;
  if (fromBlock) return fromBlock;
  const channel = body.channel?.id ?? body.container?.channel_id;
  const ts = body.container?.thread_ts ?? body.message?.thread_ts ?? body.container?.message_ts ?? body.message?.ts;
  if (channel && ts) {
    const found = await incidentByThread(deps.store, channel, ts);
    if (found) return found.id;
  }
  throw new UserError('I could not tell which incident this is about.');
}

/** Tells the clicker (only them) a sentence, in the thread when there is one. */
async function tellUser(client: WebClient, body: ActionBody, text: string): Promise<void> {
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (!channel) return;
  const thread = body.container?.thread_ts ?? body.message?.thread_ts;
  await client.chat.postEphemeral({
    channel,
    user: body.user.id,
    text: redact(text),
    ...(thread ? { thread_ts: thread } : {}),
  });
}

/**
 * Runs one incident action for a click: the domain decides, the worker is woken to post, and a
 * refusal or failure is told to the clicker in a sentence (the cause goes to the log).
 */
export async function runIncidentAction(
  deps: Deps,
  client: WebClient,
  body: ActionBody,
  work: () => Promise<ActionResult>,
): Promise<void> {
  let text: string | undefined;
  try {
    const result = await work();
    deps.wakeIncidents?.();
    if (!result.ok) text = renderRich(result.text);
  } catch (err) {
    if (err instanceof UserError) text = err.message;
    else {
      deps.log.error({ err }, 'incident action failed');
      text = "That did not work: the details are in the bot's log.";
    }
  }
  if (text) {
    try {
      await tellUser(client, body, text);
    } catch (err) {
      deps.log.warn({ err }, 'could not tell the user');
    }
  }
}
