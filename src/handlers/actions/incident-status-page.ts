// The root post's Status page and Post update controls (they open their modals, pre-filled from
// the incident), and Resolve, which asks for confirmation with the reason while the latest
// verification still finds something critical.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_RESOLVE } from '../../blocks/incident-ids.js';
import { postUpdateModal, resolveConfirmModal, statusPageModal } from '../../blocks/incident-status-page.js';
import { INCIDENT_POST_UPDATE, INCIDENT_STATUS_PAGE } from '../../blocks/status-ids.js';
import type { PlatformComponent } from '../../config.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { resolve } from '../../incidents/actions.js';
import { utc } from '../../incidents/postmortem.js';
import { updateDraft } from '../../incidents/stakeholder-updates.js';
import { getIncident } from '../../incidents/store.js';
import type { Incident } from '../../incidents/types.js';
import { latestVerification, type Verification } from '../../incidents/verification.js';
import { statuspageConfigured } from '../../statuspage/client.js';
import { statusPageDraft, statusPageOf } from '../../statuspage/store.js';
import { actingPerson, assertFromIncidentPost, incidentCtx, incidentOf, runIncidentAction } from './incident-common.js';

async function incidentFor(deps: Deps, id: string): Promise<Incident> {
  const i = await getIncident(deps.store, id);
  if (!i) throw new UserError(`I have no incident \`${id}\`.`);
  return i;
}

/** Why Resolve needs a confirmation, or undefined when it does not. */
export function criticalReason(v: Verification | undefined): string | undefined {
  if (!v?.critical) return undefined;
  const critical = v.checks.filter((c) => c.status === 'critical');
  const after = v.trigger === 'mitigated' ? 'Mitigated' : (v.label ?? 'a remediation');
  return `The latest verification (${utc(v.at)}, after ${after}) still finds ${critical.length} critical check${critical.length === 1 ? '' : 's'}: ${critical.map((c) => `${c.check}: ${c.summary}`).join('; ')}.`;
}

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_STATUS_PAGE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      if (!statuspageConfigured(deps.config))
        throw new UserError('No status page is configured: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID.');
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      await actingPerson(deps, client, body, { pagerDuty: false });
      const i = await incidentFor(deps, incidentId);
      if (i.pdStatus === 'resolved')
        throw new UserError('This incident is resolved; its status page was closed with it.');
      const open = await statusPageOf(deps.store, i.id);
      const components = Object.keys(deps.config.STATUSPAGE_COMPONENTS) as PlatformComponent[];
      await client.views.open({
        trigger_id: body.trigger_id,
        view: statusPageModal(i, statusPageDraft(deps.config, i, open), components, { correction: Boolean(open) }),
      });
      return { ok: true, text: [] };
    });
  });

  app.action<BlockAction<ButtonAction>>(INCIDENT_POST_UPDATE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      await actingPerson(deps, client, body, { pagerDuty: true });
      const i = await incidentFor(deps, incidentId);
      const open = statuspageConfigured(deps.config) ? await statusPageOf(deps.store, i.id) : undefined;
      const reaches = [
        'this thread',
        ...(deps.config.PAGERDUTY_API_TOKEN ? ['PagerDuty (status update)'] : []),
        ...(open && open.status !== 'resolved' ? ['the status page'] : []),
      ];
      await client.views.open({ trigger_id: body.trigger_id, view: postUpdateModal(i, updateDraft(i), reaches) });
      return { ok: true, text: [] };
    });
  });

  app.action<BlockAction<ButtonAction>>(INCIDENT_RESOLVE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      const user = await actingPerson(deps, client, body, { pagerDuty: true });
      const reason = criticalReason(await latestVerification(deps.store, incidentId));
      if (reason) {
        const i = await incidentFor(deps, incidentId);
        if (i.pdStatus !== 'resolved') {
          await client.views.open({ trigger_id: body.trigger_id, view: resolveConfirmModal(i, reason) });
          return { ok: true, text: [] };
        }
      }
      return resolve(incidentCtx(deps), incidentId, user);
    });
  });
}
