// Paging from the thread (issue 12): PagerDuty users and escalation policies found as one types,
// and a responder request (`POST /incidents/{id}/responder_requests`) sent as the person who
// asked (From: their email, requester_id: their PagerDuty id). The thread and the timeline say
// who was paged once PagerDuty has accepted.
import { group, type Inline, user } from '../domain/text.js';
import { UserError } from '../errors.js';
import type { Sql } from '../store/sql.js';
import { type PagerDutyClient, pdErrorText } from '../targets/pagerduty.js';
import { type ContactRole, contactsFor, ROLE_LABEL } from './contacts.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import type { SlackUser } from './person.js';
import { getIncident } from './store.js';
import { addTimeline } from './timeline.js';
import type { Actor } from './types.js';

export interface PageTarget {
  kind: 'user' | 'ep';
  id: string;
  name: string;
}

const ID = /^[A-Z0-9]{2,20}$/;

/** PagerDuty users and escalation policies whose name (or email) holds the query. */
export async function searchTargets(pd: PagerDutyClient, query: string): Promise<PageTarget[]> {
  const q = query.trim().slice(0, 100);
  if (!q || !pd.configured) return [];
  const [users, policies] = await Promise.all([
    pd.request('GET', '/users', { query: { query: q, limit: '25' } }),
    pd.request('GET', '/escalation_policies', { query: { query: q, limit: '25' } }),
  ]);
  const out: PageTarget[] = [];
  for (const u of (users.body as { users?: Array<{ id?: string; name?: string }> } | undefined)?.users ?? [])
    if (u.id) out.push({ kind: 'user', id: u.id, name: u.name ?? u.id });
  for (const p of (policies.body as { escalation_policies?: Array<{ id?: string; name?: string }> } | undefined)
    ?.escalation_policies ?? [])
    if (p.id) out.push({ kind: 'ep', id: p.id, name: p.name ?? p.id });
  return out;
}

/** `user:P…` / `ep:P…` as the select's values carry them; anything else is refused. */
export function parseTargets(values: string[]): PageTarget[] {
  return values.map((v) => {
    const [kind, id] = v.split(':');
    if ((kind !== 'user' && kind !== 'ep') || !id || !ID.test(id))
      throw new UserError('Pick whom to page from the list.');
    return { kind, id, name: id };
  });
}

interface PageCtx extends WorkflowCtx {
  store: Sql;
}

export async function pageResponders(
  ctx: PageCtx,
  pd: PagerDutyClient,
  incidentId: string,
  by: SlackUser,
  targets: PageTarget[],
  message: string,
  /** ESCALATION_CONTACTS roles to bring into the thread as well (Slack mentions). */
  contactRoles: ContactRole[] = [],
): Promise<void> {
  const contacts = contactsFor(ctx.config.ESCALATION_CONTACTS, contactRoles);
  if (!pd.configured)
    throw new UserError('PagerDuty is not configured (PAGERDUTY_API_TOKEN), so I cannot page anyone.');
  if (!by.email || !by.pdId)
    throw new UserError('I found no PagerDuty account for you, so I cannot page as you. Nobody was paged.');
  if (targets.length === 0 && contacts.length === 0) throw new UserError('Pick whom to page.');
  const i = await getIncident(ctx.store, incidentId);
  if (!i) throw new UserError(`I have no incident \`${incidentId.slice(0, 64)}\`.`);
  if (i.pdStatus === 'resolved') throw new UserError('This incident is resolved; nobody was paged.');
  const named = targets.length ? await sendRequest(pd, i.id, by, targets, message) : [];
  const actor: Actor = { source: 'slack', slackId: by.slackId, ...(by.name ? { name: by.name } : {}) };
  const brought: Inline[] = contacts.flatMap((c, n) => {
    const id = c.mention.slackId;
    const m: Inline = id ? (id.startsWith('S') ? group(id) : user(id)) : c.mention.name;
    return [...(n ? [', '] : []), m, ` (${ROLE_LABEL[c.role] ?? c.role})`];
  });
  const detail: Inline[] = [
    ...(named.length ? [`Paged ${named.join(', ')}`] : []),
    ...(brought.length ? [named.length ? '; bringing in ' : 'Bringing in ', ...brought] : []),
    `: ${message}`,
  ];
  const text = `${named.length ? `Paged ${named.join(', ')}` : ''}${contacts.length ? `${named.length ? '; ' : ''}brought in ${contacts.map((c) => ROLE_LABEL[c.role] ?? c.role).join(', ')}` : ''}: ${message}`;
  const now = ctx.now();
  await ctx.store.tx(async (q) => {
    await addTimeline(q, i.id, {
      at: now,
      kind: 'escalation_contact',
      actor,
      text: text.slice(0, 4000),
      source: 'slack',
    });
    await enqueuePost(q, i, { type: 'change', change: 'responder', actor, detail }, now);
  });
}

/** The responder request itself; the names PagerDuty gives its targets. */
async function sendRequest(
  pd: PagerDutyClient,
  incidentId: string,
  by: SlackUser,
  targets: PageTarget[],
  message: string,
): Promise<string[]> {
  const res = await pd.request('POST', `/incidents/${encodeURIComponent(incidentId)}/responder_requests`, {
    from: by.email,
    data: {
      requester_id: by.pdId as string,
      message,
      responder_request_targets: targets.map((t) => ({
        responder_request_target: {
          id: t.id,
          type: t.kind === 'user' ? 'user_reference' : 'escalation_policy_reference',
        },
      })),
    },
  });
  if (res.status < 200 || res.status >= 300)
    throw new UserError(`PagerDuty did not take the page: ${pdErrorText(res)}. Nobody was paged.`);
  const named = (
    (
      res.body as {
        responder_request?: { responder_request_targets?: Array<{ responder_request_target?: { summary?: string } }> };
      }
    )?.responder_request?.responder_request_targets ?? []
  )
    .map((t) => t.responder_request_target?.summary)
    .filter((n): n is string => typeof n === 'string');
  return named.length ? named : targets.map((t) => t.id);
}
