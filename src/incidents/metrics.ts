// What /metrics reads from the bot store when it is scraped: the outboxes' depths (the Slack one
// by channel), timers pending and incidents open. The store is shared, so every replica reports
// the same figures: aggregate them with max(), not sum().
import type { QueueSnapshot } from '../metrics.js';
import type { Sql } from '../store/sql.js';
import { pendingPostsByChannel } from './outbox.js';
import { pendingPdCalls } from './pd-outbox.js';
import { countOpen } from './store.js';
import { pendingTimers } from './timers.js';

/** `channels` are reported even when nothing waits for them (INCIDENTS_CHANNEL: a 0 is a figure too). */
export async function collectQueues(store: Sql, channels: Array<string | undefined> = []): Promise<QueueSnapshot> {
  const [pending, pagerDutyPending, timersPending, incidentsOpen] = await Promise.all([
    pendingPostsByChannel(store),
    pendingPdCalls(store),
    pendingTimers(store),
    countOpen(store),
  ]);
  const slackByChannel = [...pending];
  for (const channel of channels)
    if (channel && !slackByChannel.some((c) => c.channel === channel)) slackByChannel.push({ channel, n: 0 });
  return { slackByChannel, pagerDutyPending, timersPending, incidentsOpen };
}
