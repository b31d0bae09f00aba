// What the incident listeners share: who clicked (with their email from users.info, for
// PagerDuty's From:), which incident a click is about, and how a refusal reaches the clicker.
import { setTimeout as sleep } from 'node:timers/promises';
import type { WebClient } from '@slack/web-api';
import { INCIDENT_BLOCK_PREFIX } from '../../blocks/incident-ids.js';
import type { Deps, IncidentGate } from '../../deps.js';
import { UserError } from '../../errors.js';
import type { ActionCtx, ActionResult, SlackUser } from '../../incidents/actions.js';
import { pacedPagerDuty } from '../../incidents/pagerduty-client.js';
import { type PagerDutyPeople, pagerDutyPeople } from '../../incidents/pagerduty-people.js';
import { getIncident, incidentByThread } from '../../incidents/store.js';
import { createOperators } from '../../remediations/operators.js';
import { answerOf } from '../answer.js';

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
  user: { id: string; team_id?: string };
  team?: { id?: string } | null;
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
async function tellUser(deps: Deps, client: WebClient, body: ActionBody, text: string): Promise<void> {
  const channel = body.channel?.id ?? body.container?.channel_id;
  if (!channel) return;
  const thread = body.container?.thread_ts ?? body.message?.thread_ts;
  await client.chat.postEphemeral({
    channel,
    user: body.user.id,
    text: deps.redactor.redact(text),
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
  const text = await answerOf(deps.log, async () => {
    const result = await work();
    deps.wakeIncidents?.();
    return result;
  });
  if (text) {
    try {
      await tellUser(deps, client, body, text);
    } catch (err) {
      deps.log.warn({ err }, 'could not tell the user');
    }
  }
}

/**
 * The incident gate for one bot, built once in bot.ts: the PagerDuty user cache, the responders'
 * groups (through `slack`, the bot's own client) and the team served.
 */
export function createIncidentGate(
  deps: Pick<Deps, 'config' | 'store' | 'metrics' | 'now' | 'log'>,
  slack: WebClient,
): IncidentGate {
  let team: Promise<string | undefined> | undefined;
  return {
    people: pagerDutyPeople(pacedPagerDuty(deps), deps.config.PAGERDUTY_USER_CACHE_TTL, () => deps.now().getTime()),
    ...(deps.config.INCIDENT_RESPONDERS.length
      ? {
          responders: createOperators({
            ids: deps.config.INCIDENT_RESPONDERS,
            listGroup: async (group) => (await slack.usergroups.users.list({ usergroup: group })).users ?? [],
            ttlMs: deps.config.OPERATOR_CACHE_TTL,
            now: () => deps.now().getTime(),
            log: deps.log,
          }),
        }
      : {}),
    servedTeam() {
      if (deps.config.SLACK_TEAM_ID) return Promise.resolve(deps.config.SLACK_TEAM_ID);
      team ??= slack.auth.test().then(
        (r) => r.team_id,
        (err: unknown) => {
          deps.log.warn({ err }, 'auth.test failed; cannot tell which workspace I serve yet');
          team = undefined;
          return undefined;
        },
      );
      return team;
    },
  };
}

export const NOT_RESPONDER =
  'Sorry, you are not allowed to do that: incident controls are for the incident responders only (INCIDENT_RESPONDERS), and you do not have permission. Nothing was changed.';

/**
 * Who may press an incident control, checked before anything is done: the request comes from the
 * workspace the bot serves and, when INCIDENT_RESPONDERS is set, from one of them. With
 * `pagerDuty`, the person must also be a PagerDuty user (by their Slack email), since the act
 * goes to PagerDuty as them. Refusals are UserErrors: a sentence for the presser alone.
 */
export async function actingPerson(
  deps: Deps,
  client: WebClient,
  body: ActionBody,
  opts: { pagerDuty: boolean },
): Promise<SlackUser> {
  const gate = deps.incidentGate;
  const from = body.team?.id ?? body.user.team_id;
  const served = await gate.servedTeam();
  if (!served) throw new UserError('I could not check which Slack workspace I serve; nothing was changed. Try again.');
  if (from !== served)
    throw new UserError('This request comes from a workspace I do not serve; not allowed, nothing was changed.');
  if (gate.responders && !(await gate.responders.isOperator(body.user.id))) throw new UserError(NOT_RESPONDER);
  const u = await slackUser(client, deps, body.user.id);
  if (!opts.pagerDuty || !deps.config.PAGERDUTY_API_TOKEN) return u;
  if (!u.email)
    throw new UserError(
      'I found no PagerDuty account for you: Slack shows me no email address for you, so I cannot act as you in PagerDuty. Nothing was sent to PagerDuty and nothing changed.',
    );
  let person: Awaited<ReturnType<PagerDutyPeople['byEmail']>>;
  try {
    person = await gate.people.byEmail(u.email);
  } catch (err) {
    deps.log.warn({ err }, 'could not look the user up in PagerDuty');
    throw new UserError(
      'PagerDuty did not answer when I looked up your account, so nothing was sent and nothing changed. Try again in a moment.',
    );
  }
  if (!person)
    throw new UserError(
      'I found no PagerDuty account with your Slack email, so I cannot act as you in PagerDuty. Nothing was sent to PagerDuty and nothing changed.',
    );
  return { ...u, email: person.email, pdId: person.id };
}

const ROOT_WAIT_MS = 3_000;

/** A click must come from the incident's own root post or its thread, in its channel. */
export async function assertFromIncidentPost(deps: Deps, body: ActionBody, incidentId: string): Promise<void> {
  let i = await getIncident(deps.store, incidentId);
  if (!i) throw new UserError(`I have no incident \`${incidentId.slice(0, 64)}\`.`);
  // A press right after the root appears may beat the store to its ts: wait for it briefly.
  for (let waited = 0; !i?.rootTs && waited < ROOT_WAIT_MS; waited += 100) {
    await sleep(100);
    i = await getIncident(deps.store, incidentId);
  }
  if (!i) throw new UserError(`I have no incident \`${incidentId.slice(0, 64)}\`.`);
  const channel = body.container?.channel_id ?? body.channel?.id;
  const messageTs = body.container?.message_ts ?? body.message?.ts;
  const threadTs = body.container?.thread_ts ?? body.message?.thread_ts;
  const onRoot = Boolean(i.rootTs) && (messageTs === i.rootTs || threadTs === i.rootTs);
  if (!i.channel || channel !== i.channel || !onRoot)
    throw new UserError(
      "That control is not on this incident's own post or thread, so it was not allowed; nothing was changed.",
    );
}
