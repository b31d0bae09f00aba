// Builds requests the way Slack sends them to an app: signed with the app's signing secret, with
// bodies shaped like real slash commands, interactions (block_actions, view_submission) and
// Events API callbacks. Tests and the console use these to drive the real Bolt receiver.
// Shapes follow fixtures/slack (captured from Slack's own SDK test suites).

import { createHmac, randomBytes } from 'node:crypto';

export interface SlackSignedHeaders {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
  'content-type': string;
  [name: string]: string;
}

/**
 * Signs a raw body exactly as Slack does:
 * `v0=` + hex(HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)).
 */
export function signSlackRequest(
  signingSecret: string,
  rawBody: string,
  timestampSec: number = Math.floor(Date.now() / 1000),
): SlackSignedHeaders {
  const timestamp = String(timestampSec);
  const digest = createHmac('sha256', signingSecret).update(`v0:${timestamp}:${rawBody}`).digest('hex');
  return {
    'x-slack-signature': `v0=${digest}`,
    'x-slack-request-timestamp': timestamp,
    // Events API callbacks are JSON; commands and interactions are form-encoded.
    'content-type': rawBody.trimStart().startsWith('{') ? 'application/json' : 'application/x-www-form-urlencoded',
  };
}

/** Identifiers shared by the default payloads, so several builders describe the same workspace. */
export const SLACK_DEFAULTS = {
  teamId: 'T0DMP0001',
  teamDomain: 'dmp-ops',
  apiAppId: 'A0DMPBOT1',
  channelId: 'C0OPS0001',
  channelName: 'ops',
  userId: 'U0ALICE01',
  userName: 'alice',
  token: 'verification_token',
} as const;

let triggerCounter = 0;

/** A trigger_id shaped like Slack's (`<digits>.<digits>.<hex>`). */
export function newTriggerId(): string {
  triggerCounter += 1;
  return `${Date.now()}.${triggerCounter}.${randomBytes(16).toString('hex')}`;
}

function actionTs(): string {
  const now = Date.now();
  return `${Math.floor(now / 1000)}.${String((now % 1000) * 1000).padStart(6, '0')}`;
}

export interface SlashCommandFields {
  token: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  user_id: string;
  user_name: string;
  command: string;
  text: string;
  api_app_id: string;
  is_enterprise_install: string;
  response_url: string;
  trigger_id: string;
  [extra: string]: string | undefined;
}

/**
 * A slash command body, form-encoded in Slack's field order. Missing fields get defaults; a field
 * given as `undefined` is left out (as older payloads lack `api_app_id`, for example).
 */
export function slashCommandBody(fields: Partial<SlashCommandFields> = {}): string {
  const defaults: SlashCommandFields = {
    token: SLACK_DEFAULTS.token,
    team_id: SLACK_DEFAULTS.teamId,
    team_domain: SLACK_DEFAULTS.teamDomain,
    channel_id: SLACK_DEFAULTS.channelId,
    channel_name: SLACK_DEFAULTS.channelName,
    user_id: SLACK_DEFAULTS.userId,
    user_name: SLACK_DEFAULTS.userName,
    command: '/dmp',
    text: '',
    api_app_id: SLACK_DEFAULTS.apiAppId,
    is_enterprise_install: 'false',
    response_url: `https://hooks.slack.com/commands/${SLACK_DEFAULTS.teamId}/1/placeholder`,
    trigger_id: newTriggerId(),
  };
  const merged: Record<string, string | undefined> = { ...defaults, ...fields };
  for (const key of Object.keys(fields)) {
    if (fields[key] === undefined) delete merged[key];
  }
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(merged)) {
    if (value !== undefined) params.append(key, value);
  }
  return params.toString();
}

/** An interactivity body: `payload=` + the URL-encoded JSON payload, as Slack posts it. */
export function interactionBody(payload: object): string {
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

export type SlackUserRef = string | { id: string; name?: string; username?: string; team_id?: string };
export type SlackChannelRef = string | { id: string; name?: string };

function userObject(
  user: SlackUserRef,
  teamId: string,
): { id: string; username: string; name: string; team_id: string } {
  const ref = typeof user === 'string' ? { id: user } : user;
  const name = ref.name ?? ref.username ?? ref.id.toLowerCase();
  return { id: ref.id, username: ref.username ?? name, name, team_id: ref.team_id ?? teamId };
}

function channelObject(channel: SlackChannelRef): { id: string; name: string } {
  const ref = typeof channel === 'string' ? { id: channel } : channel;
  return { id: ref.id, name: ref.name ?? ref.id.toLowerCase() };
}

function teamObject(teamId: string): { id: string; domain: string } {
  return { id: teamId, domain: SLACK_DEFAULTS.teamDomain };
}

export interface SelectOption {
  text: { type: 'plain_text'; text: string; emoji?: boolean };
  value: string;
}

export interface BlockActionInput {
  user: SlackUserRef;
  channel: SlackChannelRef;
  messageTs: string;
  actionId: string;
  value?: string;
  blockId?: string;
  responseUrl: string;
  triggerId?: string;
  /** The message the button sits on, as Slack includes it (blocks, text, ts...). */
  message?: Record<string, unknown>;
  /** Makes the action a `static_select` choice instead of a button click. */
  selectedOption?: SelectOption;
  /** With selectedOption: the element it was chosen in (`overflow` for an overflow menu). */
  elementType?: 'static_select' | 'overflow';
  /** The button's label; Slack echoes it back in the action. */
  text?: string;
  threadTs?: string;
  isEphemeral?: boolean;
  teamId?: string;
  apiAppId?: string;
}

/** A `block_actions` payload for one button click (or select choice) on a message. */
export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const channel = channelObject(input.channel);
  const action: Record<string, unknown> = input.selectedOption
    ? {
        type: input.elementType ?? 'static_select',
        action_id: input.actionId,
        block_id: input.blockId ?? 'actions',
        selected_option: input.selectedOption,
        ...(input.elementType === 'overflow'
          ? {}
          : { placeholder: { type: 'plain_text', text: 'Select', emoji: true } }),
        action_ts: actionTs(),
      }
    : {
        action_id: input.actionId,
        block_id: input.blockId ?? 'actions',
        text: { type: 'plain_text', text: input.text ?? input.actionId, emoji: true },
        ...(input.value === undefined ? {} : { value: input.value }),
        type: 'button',
        action_ts: actionTs(),
      };
  const container: Record<string, unknown> = {
    type: 'message',
    message_ts: input.messageTs,
    channel_id: channel.id,
    is_ephemeral: input.isEphemeral ?? false,
    ...(input.threadTs === undefined ? {} : { thread_ts: input.threadTs }),
  };
  return {
    type: 'block_actions',
    user: userObject(input.user, teamId),
    api_app_id: input.apiAppId ?? SLACK_DEFAULTS.apiAppId,
    token: SLACK_DEFAULTS.token,
    container,
    trigger_id: input.triggerId ?? newTriggerId(),
    team: teamObject(teamId),
    enterprise: null,
    is_enterprise_install: false,
    channel,
    // Slack leaves `message` out for ephemeral messages; include it only when the test has one.
    ...(input.message === undefined ? {} : { message: input.message }),
    state: { values: {} },
    response_url: input.responseUrl,
    actions: [action],
  };
}

export interface ViewSubmissionInput {
  user: SlackUserRef;
  view: {
    callback_id: string;
    private_metadata?: string;
    state: { values: Record<string, Record<string, Record<string, unknown>>> };
    id?: string;
    hash?: string;
    blocks?: unknown[];
    title?: string;
    external_id?: string;
    root_view_id?: string;
    previous_view_id?: string | null;
  };
  triggerId?: string;
  responseUrls?: Array<{ block_id: string; action_id: string; channel_id: string; response_url: string }>;
  teamId?: string;
  apiAppId?: string;
}

/** A `view_submission` payload for a modal the user submitted. */
export function viewSubmissionPayload(input: ViewSubmissionInput): Record<string, unknown> {
  const teamId = input.teamId ?? SLACK_DEFAULTS.teamId;
  const appId = input.apiAppId ?? SLACK_DEFAULTS.apiAppId;
  const viewId = input.view.id ?? 'V0000000001';
  return {
    type: 'view_submission',
    team: teamObject(teamId),
    user: userObject(input.user, teamId),
    api_app_id: appId,
    token: SLACK_DEFAULTS.token,
    trigger_id: input.triggerId ?? newTriggerId(),
    view: {
      id: viewId,
      team_id: teamId,
      type: 'modal',
      blocks: input.view.blocks ?? [],
      private_metadata: input.view.private_metadata ?? '',
      callback_id: input.view.callback_id,
      state: input.view.state,
      hash: input.view.hash ?? `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
      title: { type: 'plain_text', text: input.view.title ?? 'dmp' },
      clear_on_close: false,
      notify_on_close: false,
      close: { type: 'plain_text', text: 'Cancel' },
      submit: { type: 'plain_text', text: 'Submit' },
      previous_view_id: input.view.previous_view_id ?? null,
      root_view_id: input.view.root_view_id ?? viewId,
      app_id: appId,
      external_id: input.view.external_id ?? '',
      app_installed_team_id: teamId,
      bot_id: 'B0DMPBOT1',
    },
    response_urls: input.responseUrls ?? [],
    is_enterprise_install: false,
  };
}

let eventCounter = 0;

export interface EventCallbackOptions {
  teamId?: string;
  apiAppId?: string;
  eventId?: string;
  eventTime?: number;
  authedUsers?: string[];
}

/** An Events API `event_callback` body (JSON string) wrapping one event. */
export function eventCallbackBody(event: Record<string, unknown>, opts: EventCallbackOptions = {}): string {
  eventCounter += 1;
  const teamId = opts.teamId ?? SLACK_DEFAULTS.teamId;
  return JSON.stringify({
    token: SLACK_DEFAULTS.token,
    team_id: teamId,
    api_app_id: opts.apiAppId ?? SLACK_DEFAULTS.apiAppId,
    event,
    type: 'event_callback',
    event_id: opts.eventId ?? `Ev${String(eventCounter).padStart(9, '0')}`,
    event_time: opts.eventTime ?? Math.floor(Date.now() / 1000),
    authed_users: opts.authedUsers ?? [],
  });
}

/** The `url_verification` handshake Slack sends when the request URL is configured. */
export function urlVerificationBody(challenge: string): string {
  return JSON.stringify({ token: SLACK_DEFAULTS.token, challenge, type: 'url_verification' });
}
