// A message marked :pushpin: in an incident thread becomes a PagerDuty note and a timeline entry;
// the bot reacts with :pushpin: so the writer sees it was recorded.
import type { App } from '@slack/bolt';
import { fromSlackText } from '../../blocks/mrkdwn.js';
import type { Deps } from '../../deps.js';
import { pinNote } from '../../incidents/actions.js';
import { incidentByThread } from '../../incidents/store.js';
import { actingPerson, incidentCtx, runIncidentAction } from '../actions/incident-common.js';

const PIN = ':pushpin:';

export function register(app: App, deps: Deps): void {
  app.event('message', async ({ event, body, client }) => {
    const m = event as {
      subtype?: string;
      channel?: string;
      user?: string;
      text?: string;
      ts?: string;
      thread_ts?: string;
      bot_id?: string;
    };
    if (m.subtype || m.bot_id || !m.user || !m.channel || !m.thread_ts || !m.ts || !m.text?.includes(PIN)) return;
    if (deps.config.INCIDENTS_CHANNEL && m.channel !== deps.config.INCIDENTS_CHANNEL) return;
    try {
      // In a storm digest's shared thread the note must name its incident (id or #number).
      const incident = await incidentByThread(deps.store, m.channel, m.thread_ts, m.text);
      if (!incident) return;
      // Stored as written (entities decoded), its Slack links and mentions kept as such.
      const content = fromSlackText(m.text.split(PIN).join(' ').replace(/\s+/g, ' ').trim());
      // As a click in the thread: the same workspace, responder and PagerDuty-account checks.
      const like = {
        user: { id: m.user },
        team: { id: (body as { team_id?: string }).team_id },
        channel: { id: m.channel },
        container: { channel_id: m.channel, message_ts: m.ts, thread_ts: m.thread_ts },
      };
      let pinned = false;
      await runIncidentAction(deps, client, like, async () => {
        const by = await actingPerson(deps, client, like, { pagerDuty: true });
        const result = await pinNote(incidentCtx(deps), incident.id, by, content, `${m.channel}:${m.ts}`);
        pinned = result.ok;
        return result;
      });
      if (pinned)
        await client.reactions.add({ channel: m.channel, timestamp: m.ts, name: 'pushpin' }).catch(() => undefined);
    } catch (err) {
      deps.log.warn({ err }, 'could not record a pinned message');
    }
  });
}
