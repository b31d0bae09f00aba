// Page: the root's button opens the Page modal (as the presser, who must be a PagerDuty user);
// its external select is answered from PagerDuty as one types (block_suggestion); submitting
// sends the responder request as the person and the thread says who was paged.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { INCIDENT_PAGE, PAGE_CONTACTS, PAGE_MESSAGE, PAGE_TARGETS, PAGE_VIEW } from '../../blocks/incident-ids.js';
import { pageModal, pageOptions } from '../../blocks/incident-page.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { type ContactRole, ROLE_LABEL } from '../../incidents/contacts.js';
import { pacedPagerDuty } from '../../incidents/pagerduty-client.js';
import { pageResponders, parseTargets, searchTargets } from '../../incidents/paging.js';
import { getIncident } from '../../incidents/store.js';
import { answerOf } from '../answer.js';
import { inputOf } from '../picked.js';
import { actingPerson, assertFromIncidentPost, incidentCtx, incidentOf, runIncidentAction } from './incident-common.js';

const INCIDENT_ID = /^[A-Za-z0-9_-]{1,64}$/;
/** The select must answer within Slack's three seconds. */
const SEARCH_TIMEOUT_MS = 2_000;

type Values = Parameters<typeof inputOf>[0];

const SHORTCUT_ROLES: ContactRole[] = ['dba', 'security', 'engineering_lead'];

/** The runbook's escalation contacts that ESCALATION_CONTACTS names. */
function shortcuts(deps: Deps): Array<{ role: ContactRole; label: string }> {
  return SHORTCUT_ROLES.filter((r) => deps.config.ESCALATION_CONTACTS?.[r]).map((role) => ({
    role,
    label: ROLE_LABEL[role] ?? role,
  }));
}

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_PAGE, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      await actingPerson(deps, client, body, { pagerDuty: true });
      const i = await getIncident(deps.store, incidentId);
      if (!i) throw new UserError(`I have no incident \`${incidentId}\`.`);
      await client.views.open({ trigger_id: body.trigger_id, view: pageModal(i, shortcuts(deps)) });
      return { ok: true, text: [] };
    });
  });

  app.options(PAGE_TARGETS, async ({ ack, body }) => {
    try {
      const query = typeof body.value === 'string' ? body.value : '';
      await ack(pageOptions(await searchTargets(pacedPagerDuty(deps, SEARCH_TIMEOUT_MS), query)));
    } catch (err) {
      deps.log.warn({ err }, 'could not search PagerDuty for the Page modal');
      await ack({ options: [] });
    }
  });

  app.view(PAGE_VIEW, async ({ ack, body, view, client }) => {
    const values = view.state.values as Values;
    const picked = inputOf(values, PAGE_TARGETS, PAGE_TARGETS)?.values ?? [];
    const message = (inputOf(values, PAGE_MESSAGE, PAGE_MESSAGE)?.value ?? '').trim();
    const offered = shortcuts(deps).map((c) => c.role);
    const roles = (inputOf(values, PAGE_CONTACTS, PAGE_CONTACTS)?.values ?? []).filter((r): r is ContactRole =>
      (offered as string[]).includes(r),
    );
    if (picked.length === 0 && roles.length === 0) {
      await ack({ response_action: 'errors', errors: { [PAGE_TARGETS]: 'Pick whom to page.' } });
      return;
    }
    if (message.length < 3) {
      await ack({ response_action: 'errors', errors: { [PAGE_MESSAGE]: 'Say in a few words why they are paged.' } });
      return;
    }
    if (!INCIDENT_ID.test(view.private_metadata)) {
      await ack({
        response_action: 'errors',
        errors: { [PAGE_TARGETS]: 'This form lost its incident; open it again.' },
      });
      return;
    }
    await ack();
    const text = await answerOf(
      deps.log,
      async () => {
        const by = await actingPerson(deps, client, body, { pagerDuty: true });
        await pageResponders(
          incidentCtx(deps),
          pacedPagerDuty(deps),
          view.private_metadata,
          by,
          parseTargets(picked),
          message,
          roles,
        );
        deps.wakeIncidents?.();
        return undefined;
      },
      { say: "Nobody was paged: the details are in the bot's log.", log: 'paging failed' },
    );
    if (text) {
      await client.chat
        .postMessage({ channel: body.user.id, text: deps.redactor.redact(text) })
        .catch((e: unknown) => deps.log.warn({ err: e }, 'could not tell the user'));
    }
  });
}
