// A message in an incident's thread marked with :ballot_box_with_check: becomes a follow-up: its
// first line is the title, the person who reacted adds it (as themselves, under the same checks as
// the incident controls), and the follow-up lane files it as one GitHub issue — a second
// reaction, or Slack redelivering the event, adds nothing.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { FOLLOWUP_TITLE_MAX } from '../../blocks/followup.js';
import { fromSlackText, linkedText, renderRich } from '../../blocks/mrkdwn.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { addFollowup } from '../../followups/add.js';
import { followupsConfigured } from '../../followups/store.js';
import { incidentByThread } from '../../incidents/store.js';
import { actingPerson, slackUser } from '../actions/incident-common.js';

/** ☑️ — a to-do's box, where ✅ often means "done" or "seen" in a thread. */
export const FOLLOWUP_REACTION = 'ballot_box_with_check';

interface ReactionEvent {
  user?: string;
  reaction?: string;
  item?: { type?: string; channel?: string; ts?: string };
}

interface ThreadMessage {
  ts?: string;
  thread_ts?: string;
  text?: string;
  user?: string;
  bot_id?: string;
  subtype?: string;
}

/** The reacted-to message, read from its thread (reaction events carry no text). */
async function messageAt(client: WebClient, channel: string, ts: string): Promise<ThreadMessage | undefined> {
  const res = await client.conversations.replies({ channel, ts, oldest: ts, inclusive: true, limit: 50 });
  const found = (res.messages as ThreadMessage[] | undefined)?.find((m) => m.ts === ts);
  if (found) return found;
  const all = await client.conversations.replies({ channel, ts, limit: 200 });
  return (all.messages as ThreadMessage[] | undefined)?.find((m) => m.ts === ts);
}

/** The message's first line as a title: mentions as names, links as their words. */
async function titleOf(client: WebClient, deps: Deps, text: string): Promise<string> {
  const firstLine =
    fromSlackText(text)
      .split(/\r?\n/)
      .find((l) => l.trim()) ?? '';
  const parts = await Promise.all(
    linkedText(firstLine).map(async (p) => {
      if (typeof p === 'string') return p;
      if ('user' in p) return `@${(await slackUser(client, deps, p.user)).name ?? p.user}`;
      if ('link' in p) return p.label ?? p.link;
      if ('channel' in p) return `#${p.channel}`;
      if ('group' in p) return `@${p.group}`;
      return '';
    }),
  );
  const title = parts.join('').replace(/\s+/g, ' ').trim();
  return title.length > FOLLOWUP_TITLE_MAX ? `${title.slice(0, FOLLOWUP_TITLE_MAX - 1)}…` : title;
}

export function register(app: App, deps: Deps): void {
  app.event('reaction_added', async ({ event, body, client }) => {
    const e = event as ReactionEvent;
    const channel = e.item?.channel;
    const ts = e.item?.ts;
    if (e.reaction !== FOLLOWUP_REACTION || e.item?.type !== 'message' || !e.user || !channel || !ts) return;
    if (!followupsConfigured(deps.config)) return;
    if (deps.config.INCIDENTS_CHANNEL && channel !== deps.config.INCIDENTS_CHANNEL) return;
    const tell = (text: string, threadTs: string) =>
      client.chat
        .postEphemeral({ channel, user: e.user as string, thread_ts: threadTs, text: deps.redactor.redact(text) })
        .catch((err: unknown) => deps.log.warn({ err }, 'could not tell the user about their follow-up'));
    try {
      const m = await messageAt(client, channel, ts);
      // Only replies in a thread: the root is the bot's own post about the incident.
      if (!m?.thread_ts || m.thread_ts === m.ts || m.subtype) return;
      const incident = await incidentByThread(deps.store, channel, m.thread_ts, m.text);
      if (!incident) return;
      const threadTs = m.thread_ts;
      let text: string;
      try {
        if (m.bot_id)
          throw new UserError(
            'Follow-ups come from what people wrote: react with :ballot_box_with_check: on a message of the thread, or use Add follow-up.',
          );
        const title = await titleOf(client, deps, m.text ?? '');
        if (title.length < 3)
          throw new UserError('That message has no words to make a follow-up of; nothing was added.');
        const like = {
          user: { id: e.user },
          team: { id: (body as { team_id?: string }).team_id },
          channel: { id: channel },
          container: { channel_id: channel, message_ts: m.ts, thread_ts: threadTs },
        };
        const by = await actingPerson(deps, client, like, { pagerDuty: false });
        const result = await addFollowup(deps, incident.id, by, { title });
        deps.wakeIncidents?.();
        text = renderRich(result.text);
      } catch (err) {
        if (!(err instanceof UserError)) throw err;
        text = renderRich(err.text);
      }
      await tell(text, threadTs);
    } catch (err) {
      deps.log.warn({ err }, 'could not add a follow-up from a reaction');
    }
  });
}
