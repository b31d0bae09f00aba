// The App Home tab: open incidents with severity, age, owner and state, and the last 30 days'
// stats, published when opened; above them, where the viewer is on call now (PagerDuty) and
// which incidents they lead.
import type { App } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { type HomeViewer, homeView } from '../../blocks/incident-status.js';
import type { Deps } from '../../deps.js';
import { whoIsOnCall } from '../../incidents/oncall.js';
import { pacedPagerDuty } from '../../incidents/pagerduty-client.js';
import { incidentStats } from '../../incidents/stats.js';
import { openIncidents } from '../../incidents/store.js';

/** The tab must not wait long on PagerDuty: without an answer it shows no on-call line. */
const ONCALL_LOOKUP_MS = 2_000;

async function viewerOf(deps: Deps, client: WebClient, user: string): Promise<HomeViewer> {
  if (!deps.config.PAGERDUTY_API_TOKEN) return { slackId: user, onCall: [] };
  try {
    const policies = await whoIsOnCall(pacedPagerDuty(deps, ONCALL_LOOKUP_MS), undefined, async (email) => {
      const res = await client.users.lookupByEmail({ email });
      return res.user?.id;
    });
    const onCall = policies.flatMap((p) =>
      p.levels.flatMap((l) =>
        l.people
          .filter((u) => u.slackId === user)
          .map((u) => ({ policy: p.name, level: l.level, ...(u.until ? { until: u.until } : {}) })),
      ),
    );
    return { slackId: user, onCall };
  } catch (err) {
    deps.log.warn({ err, user }, 'could not tell whether the App Home viewer is on call');
    return { slackId: user, onCall: [] };
  }
}

export function register(app: App, deps: Deps): void {
  app.event('app_home_opened', async ({ event, client }) => {
    if (event.tab && event.tab !== 'home') return;
    try {
      const [open, viewer] = await Promise.all([openIncidents(deps.store), viewerOf(deps, client, event.user)]);
      // The stats are a nicety: the open incidents show without them.
      const stats = await incidentStats(deps.store, '30d', deps.now()).catch((err: unknown) => {
        deps.log.warn({ err }, 'could not count the last 30 days for the App Home tab');
        return undefined;
      });
      await client.views.publish({ user_id: event.user, view: homeView(open, deps.now(), stats, viewer) });
    } catch (err) {
      deps.log.warn({ err, user: event.user }, 'could not publish the App Home tab');
    }
  });
}
