// A follow-up added from the incident's thread (the Add follow-up modal): queued like a
// post-mortem action item, so the follow-up lane files it as one GitHub issue however often the
// form is submitted or Slack retries it, recorded in the timeline as the person who added it, and
// put into the post-mortem document (when there is one) at once.
import type { Config } from '../config.js';
import { code, type RichText } from '../domain/text.js';
import { UserError } from '../errors.js';
import type { SlackUser } from '../incidents/person.js';
import { refreshPostmortem } from '../incidents/postmortem.js';
import { getIncident } from '../incidents/store.js';
import { addTimeline } from '../incidents/timeline.js';
import type { Actor } from '../incidents/types.js';
import type { Sql } from '../store/sql.js';
import { actionItems } from './items.js';
import { followupsConfigured, queueThreadFollowup } from './store.js';

export interface AddFollowupCtx {
  config: Config;
  store: Sql;
  now(): Date;
}

export interface NewFollowup {
  title: string;
  owner?: SlackUser;
  /** `YYYY-MM-DD`. */
  dueOn?: string;
}

const actorOf = (u: SlackUser): Actor => ({ source: 'slack', slackId: u.slackId, ...(u.name ? { name: u.name } : {}) });

export async function addFollowup(
  ctx: AddFollowupCtx,
  incidentId: string,
  by: SlackUser,
  f: NewFollowup,
): Promise<{ ok: boolean; text: RichText; repo?: string }> {
  if (!followupsConfigured(ctx.config))
    throw new UserError('Follow-ups are not configured here (GITHUB_TOKEN and FOLLOWUP_REPO), so nothing was added.');
  const repo = ctx.config.FOLLOWUP_REPO as string;
  const [item] = actionItems(f.title);
  if (!item) return { ok: false, text: ['A follow-up needs a title; nothing was added.'] };
  return ctx.store.tx(async (q) => {
    const i = await getIncident(q, incidentId, true);
    if (!i) throw new UserError(['I have no incident ', code(incidentId.slice(0, 64)), '.']);
    const now = ctx.now();
    const addedBy = actorOf(by);
    const owner = f.owner ? actorOf(f.owner) : undefined;
    const id = await queueThreadFollowup(
      q,
      i.id,
      repo,
      { item, addedBy, ...(owner ? { owner } : {}), ...(f.dueOn ? { dueOn: f.dueOn } : {}) },
      now,
    );
    if (id === undefined)
      return {
        ok: false,
        text: ['“', item.title, '” is already a follow-up of this incident, so no second issue is made.'],
      };
    await addTimeline(q, i.id, {
      at: now,
      kind: 'postmortem',
      actor: addedBy,
      text: `Follow-up added: ${item.title}${owner ? ` (owner ${owner.name ?? owner.slackId})` : ''}${f.dueOn ? ` (due ${f.dueOn})` : ''}`,
      source: 'slack',
    });
    await refreshPostmortem(q, i, now);
    return {
      ok: true,
      text: ['Follow-up added: “', item.title, `” becomes an issue in ${repo}; the thread says when.`],
      repo,
    };
  });
}
