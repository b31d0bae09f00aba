// The interaction payloads Slack sends for a button press and a modal submission, shaped as
// Bolt expects them, so the console feeds clicks and forms to app.processEvent as Slack would.
import { randomBytes } from 'node:crypto';
import { CONSOLE_TEAM } from './slack-server.js';

const APP_ID = 'A0CONSOLE';

export const newTriggerId = (): string => `${Date.now()}.${randomBytes(8).toString('hex')}`;
const team = { id: CONSOLE_TEAM, domain: 'console' };
const userObject = (u: { id: string; name: string }) => ({
  id: u.id,
  username: u.name,
  name: u.name,
  team_id: CONSOLE_TEAM,
});

export interface BlockActionInput {
  user: { id: string; name: string };
  channel: string;
  messageTs: string;
  threadTs?: string;
  /** The element's own part of the action: type, action_id, block_id and what was picked. */
  action: Record<string, unknown> & { type: string; action_id: string };
  responseUrl: string;
  message?: Record<string, unknown>;
  /** The message's input state (ticked checkboxes), which Slack sends with every click. */
  state?: Record<string, Record<string, unknown>>;
}

export function blockActionPayload(input: BlockActionInput): Record<string, unknown> {
  const actionTs = (Date.now() / 1000).toFixed(6);
  return {
    type: 'block_actions',
    user: userObject(input.user),
    api_app_id: APP_ID,
    token: 'console',
    container: {
      type: 'message',
      message_ts: input.messageTs,
      channel_id: input.channel,
      is_ephemeral: false,
      ...(input.threadTs ? { thread_ts: input.threadTs } : {}),
    },
    trigger_id: newTriggerId(),
    team,
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: input.channel, name: input.channel },
    ...(input.message ? { message: input.message } : {}),
    state: { values: input.state ?? {} },
    response_url: input.responseUrl,
    actions: [{ block_id: 'actions', ...input.action, action_ts: actionTs }],
  };
}

/** The view as Slack sends it back with a submission or a suggestion request: the bot's own fields and Slack's. */
function viewEnvelope<V extends { id: string }>(view: V): V & Record<string, unknown> {
  return {
    ...view,
    team_id: CONSOLE_TEAM,
    type: 'modal',
    hash: `${Math.floor(Date.now() / 1000)}.${randomBytes(4).toString('hex')}`,
    title: { type: 'plain_text', text: 'dmp' },
    root_view_id: view.id,
    app_id: APP_ID,
    external_id: '',
    bot_id: 'B0DMPBOT1',
  };
}

export interface ViewSubmissionInput {
  user: { id: string; name: string };
  view: { id: string; callback_id: string; private_metadata: string; state: unknown; blocks: unknown[] };
}

export function viewSubmissionPayload(input: ViewSubmissionInput): Record<string, unknown> {
  return {
    type: 'view_submission',
    team,
    user: userObject(input.user),
    api_app_id: APP_ID,
    token: 'console',
    trigger_id: newTriggerId(),
    view: viewEnvelope(input.view),
    response_urls: [],
    is_enterprise_install: false,
  };
}

export interface BlockSuggestionInput {
  user: { id: string; name: string };
  view: { id: string; callback_id: string; private_metadata: string; blocks: unknown[] };
  blockId: string;
  actionId: string;
  /** What was typed into the external select. */
  value: string;
}

/** What Slack sends to the options URL while someone types into an external select in a modal. */
export function blockSuggestionPayload(input: BlockSuggestionInput): Record<string, unknown> {
  return {
    type: 'block_suggestion',
    user: userObject(input.user),
    container: { type: 'view', view_id: input.view.id },
    api_app_id: APP_ID,
    token: 'console',
    action_id: input.actionId,
    block_id: input.blockId,
    value: input.value,
    team,
    enterprise: null,
    is_enterprise_install: false,
    view: viewEnvelope({ ...input.view, state: { values: {} } }),
  };
}
