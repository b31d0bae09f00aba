// Remediation buttons pressed in an incident's thread (Restart, Scale, Confirm, Approve…) go into
// that incident's timeline. A middleware, so the remediation listeners stay as they are.
import type { App } from '@slack/bolt';
import { REMEDY_ACTION_PREFIX } from '../../blocks/ids.js';
import type { Deps } from '../../deps.js';
import { recordActivity } from '../../incidents/actions.js';
import { incidentByThread } from '../../incidents/store.js';
import { incidentCtx } from './incident-common.js';

const REMEDIATION_PREFIX = 'remediation:';

interface ActionsBody {
  type?: string;
  user?: { id?: string; name?: string };
  channel?: { id?: string };
  container?: { channel_id?: string; thread_ts?: string; message_ts?: string };
  message?: { thread_ts?: string };
  actions?: Array<{ action_id?: string; text?: { text?: string }; selected_option?: { text?: { text?: string } } }>;
}

export function register(app: App, deps: Deps): void {
  app.use(async ({ body, next }) => {
    // Recorded after the listeners ran, so the remediation's own acknowledgement is never delayed.
    await next();
    const b = body as ActionsBody;
    const action = b.type === 'block_actions' ? b.actions?.[0] : undefined;
    const id = action?.action_id ?? '';
    if (action && (id.startsWith(REMEDY_ACTION_PREFIX) || id.startsWith(REMEDIATION_PREFIX))) {
      const channel = b.channel?.id ?? b.container?.channel_id;
      const thread = b.container?.thread_ts ?? b.message?.thread_ts;
      if (channel && thread && b.user?.id) {
        try {
          const incident = await incidentByThread(deps.store, channel, thread);
          if (incident) {
            const label = action.text?.text ?? action.selected_option?.text?.text ?? id;
            await recordActivity(incidentCtx(deps), incident.id, {
              actor: { slackId: b.user.id, name: b.user.name },
              kind: 'remediation',
              text: `Remediation: ${label} pressed`,
            });
          }
        } catch (err) {
          deps.log.warn({ err }, 'could not record a remediation in the incident timeline');
        }
      }
    }
  });
}
