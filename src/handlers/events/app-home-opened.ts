// The App Home tab: open incidents with severity, age, owner and state, published when opened.
import type { App } from '@slack/bolt';
import { homeView } from '../../blocks/incident-status.js';
import type { Deps } from '../../deps.js';
import { openIncidents } from '../../incidents/store.js';

export function register(app: App, deps: Deps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      const open = await openIncidents(deps.store);
      await client.views.publish({ user_id: event.user, view: homeView(open, deps.now()) });
    } catch (err) {
      deps.log.warn({ err, user: event.user }, 'could not publish the App Home tab');
    }
  });
}
