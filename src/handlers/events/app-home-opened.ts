// The App Home tab: open incidents with severity, age, owner and state, and the last 30 days'
// stats, published when opened.
import type { App } from '@slack/bolt';
import { homeView } from '../../blocks/incident-status.js';
import type { Deps } from '../../deps.js';
import { incidentStats } from '../../incidents/stats.js';
import { openIncidents } from '../../incidents/store.js';

export function register(app: App, deps: Deps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      const open = await openIncidents(deps.store);
      // The stats are a nicety: the open incidents show without them.
      const stats = await incidentStats(deps.store, '30d', deps.now()).catch((err: unknown) => {
        deps.log.warn({ err }, 'could not count the last 30 days for the App Home tab');
        return undefined;
      });
      await client.views.publish({ user_id: event.user, view: homeView(open, deps.now(), stats) });
    } catch (err) {
      deps.log.warn({ err, user: event.user }, 'could not publish the App Home tab');
    }
  });
}
