// Add follow-up: the button on an incident's root and post-mortem reply opens the modal (for
// those the other incident controls let through, from the incident's own post); submitting it
// adds the follow-up as the person who submitted, and the follow-up lane files it in GitHub.
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { z } from 'zod';
import { FOLLOWUP_TITLE_MAX, followupModal } from '../../blocks/followup.js';
import { FOLLOWUP_VIEW, FU_DUE, FU_OWNER, FU_TITLE, INCIDENT_ADD_FOLLOWUP } from '../../blocks/incident-ids.js';
import { renderRich } from '../../blocks/mrkdwn.js';
import type { Deps } from '../../deps.js';
import { UserError } from '../../errors.js';
import { addFollowup } from '../../followups/add.js';
import { followupsConfigured } from '../../followups/store.js';
import { getIncident } from '../../incidents/store.js';
import { inputOf } from '../picked.js';
import { actingPerson, assertFromIncidentPost, incidentOf, runIncidentAction, slackUser } from './incident-common.js';

const NOT_CONFIGURED = 'Follow-ups are not configured here (GITHUB_TOKEN and FOLLOWUP_REPO), so nothing can be added.';

const form = z.object({
  incidentId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  title: z.string().trim().min(3).max(FOLLOWUP_TITLE_MAX),
  owner: z
    .string()
    .regex(/^[UW][A-Z0-9]{2,20}$/)
    .optional(),
  dueOn: z
    .string()
    .regex(/^\d{4}-\d{2}-\d{2}$/)
    .refine((d) => !Number.isNaN(Date.parse(`${d}T00:00:00Z`)))
    .optional(),
});

/** The presser's answer in the incident's thread (only they see it), else as a DM. */
async function tell(client: WebClient, deps: Deps, userId: string, incidentId: string, text: string): Promise<void> {
  const i = await getIncident(deps.store, incidentId).catch(() => undefined);
  try {
    if (i?.channel && i.rootTs)
      await client.chat.postEphemeral({
        channel: i.channel,
        thread_ts: i.rootTs,
        user: userId,
        text: deps.redactor.redact(text),
      });
    else await client.chat.postMessage({ channel: userId, text: deps.redactor.redact(text) });
  } catch (err) {
    deps.log.warn({ err }, 'could not tell the user about their follow-up');
  }
}

export function register(app: App, deps: Deps): void {
  app.action<BlockAction<ButtonAction>>(INCIDENT_ADD_FOLLOWUP, async ({ ack, body, action, client }) => {
    await ack();
    await runIncidentAction(deps, client, body, async () => {
      if (!followupsConfigured(deps.config)) throw new UserError(NOT_CONFIGURED);
      const incidentId = await incidentOf(deps, body, action);
      await assertFromIncidentPost(deps, body, incidentId);
      await actingPerson(deps, client, body, { pagerDuty: false });
      const i = await getIncident(deps.store, incidentId);
      if (!i) throw new UserError(`I have no incident \`${incidentId}\`.`);
      await client.views.open({
        trigger_id: body.trigger_id,
        view: followupModal(i, deps.config.FOLLOWUP_REPO as string),
      });
      return { ok: true, text: [] };
    });
  });

  app.view(FOLLOWUP_VIEW, async ({ ack, body, view, client }) => {
    const values = view.state.values;
    const raw = {
      incidentId: view.private_metadata,
      title: inputOf(values, FU_TITLE, FU_TITLE)?.value ?? '',
      owner: inputOf(values, FU_OWNER, FU_OWNER)?.value,
      dueOn: inputOf(values, FU_DUE, FU_DUE)?.value,
    };
    const parsed = form.safeParse(raw);
    if (!parsed.success) {
      const bad = new Set(parsed.error.issues.map((x) => String(x.path[0])));
      const errors: Record<string, string> = {};
      if (bad.has('incidentId')) errors[FU_TITLE] = 'This form lost its incident; open it again from the incident.';
      else if (bad.has('title')) errors[FU_TITLE] = `Say what should be done in 3 to ${FOLLOWUP_TITLE_MAX} characters.`;
      if (bad.has('owner')) errors[FU_OWNER] = 'Pick the owner from the list.';
      if (bad.has('dueOn')) errors[FU_DUE] = 'Pick a date from the calendar.';
      await ack({ response_action: 'errors', errors });
      return;
    }
    const today = deps.now().toISOString().slice(0, 10);
    if (parsed.data.dueOn && parsed.data.dueOn < today) {
      await ack({ response_action: 'errors', errors: { [FU_DUE]: `Pick a date from today (${today}) on.` } });
      return;
    }
    await ack();
    const { incidentId, title, owner, dueOn } = parsed.data;
    let text: string;
    try {
      if (!followupsConfigured(deps.config)) throw new UserError(NOT_CONFIGURED);
      // The one who submits acts as themselves, checked as the other incident controls check them.
      const by = await actingPerson(deps, client, body as Parameters<typeof actingPerson>[2], { pagerDuty: false });
      const result = await addFollowup(deps, incidentId, by, {
        title,
        ...(owner ? { owner: await slackUser(client, deps, owner) } : {}),
        ...(dueOn ? { dueOn } : {}),
      });
      deps.wakeIncidents?.();
      text = renderRich(result.text);
    } catch (err) {
      if (err instanceof UserError) text = renderRich(err.text);
      else {
        deps.log.error({ err }, 'adding a follow-up failed');
        text = "The follow-up could not be added: the details are in the bot's log.";
      }
    }
    await tell(client, deps, body.user.id, incidentId, text);
  });
}
