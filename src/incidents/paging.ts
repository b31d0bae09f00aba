// Paging from the thread (issue 12): PagerDuty users and escalation policies found as one types,
// and a responder request (`POST /incidents/{id}/responder_requests`) sent as the person who
// asked (From: their email, requester_id: their PagerDuty id), through the durable PagerDuty
// outbox. The thread and the timeline say who was paged once PagerDuty has accepted.
import { code, group, type Inline, user } from '../domain/text.js';
import { UserError } from '../errors.js';
import type { Sql } from '../store/sql.js';
import type { PagerDutyClient } from '../targets/pagerduty.js';
import { type ContactRole, contactsFor, ROLE_LABEL } from './contacts.js';
import type { WorkflowCtx } from './ctx.js';
import { enqueuePost } from './outbox.js';
import { enqueuePdCall, type PdCall } from './pd-outbox.js';
import type { SlackUser } from './person.js';
import { getIncident, type Q } from './store.js';
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

export interface PageResult {
  /** The responder request is queued for PagerDuty: the thread says who was paged once it accepts. */
  queued: boolean;
  /** The escalation contacts brought into the thread at once (Slack only). */
  broughtIn: number;
}

/** A repeated submission (a double press of Page, a redelivered view) within this window pages once. */
const REPEAT_WINDOW_MS = 10_000;

/**
 * Pages from the thread: the escalation contacts are brought in at once (Slack mentions); the
 * PagerDuty targets go as one responder request through the durable PagerDuty outbox (sent
 * once, retried, kept across a restart), From: the person, who is named its requester.
 */
export async function pageResponders(
  ctx: PageCtx,
  pd: PagerDutyClient,
  incidentId: string,
  by: SlackUser,
  targets: PageTarget[],
  message: string,
  /** ESCALATION_CONTACTS roles to bring into the thread as well (Slack mentions). */
  contactRoles: ContactRole[] = [],
): Promise<PageResult> {
  const contacts = contactsFor(ctx.config.ESCALATION_CONTACTS, contactRoles);
  if (targets.length && !pd.configured)
    throw new UserError('PagerDuty is not configured (PAGERDUTY_API_TOKEN), so I cannot page anyone.');
  if (targets.length && (!by.email || !by.pdId))
    throw new UserError('I found no PagerDuty account for you, so I cannot page as you. Nobody was paged.');
  if (targets.length === 0 && contacts.length === 0) throw new UserError('Pick whom to page.');
  const actor: Actor = { source: 'slack', slackId: by.slackId, ...(by.name ? { name: by.name } : {}) };
  return ctx.store.tx(async (q) => {
    const i = await getIncident(q, incidentId, true);
    if (!i) throw new UserError(['I have no incident ', code(incidentId.slice(0, 64)), '.']);
    if (i.pdStatus === 'resolved') throw new UserError('This incident is resolved; nobody was paged.');
    const now = ctx.now();
    let queued = false;
    if (targets.length) {
      const call = {
        kind: 'responder_request' as const,
        requesterId: by.pdId as string,
        message,
        targets: targets.map((t) => ({ kind: t.kind, id: t.id, name: t.name })),
      };
      const again = await q.query(
        `SELECT 1 FROM pd_outbox WHERE incident_id = $1 AND kind = 'responder_request' AND args = $2::jsonb AND created_at > $3 LIMIT 1`,
        [i.id, JSON.stringify(call), new Date(now.getTime() - REPEAT_WINDOW_MS)],
      );
      if (!again.length) {
        queued = await enqueuePdCall(q, { incidentId: i.id, call, fromEmail: by.email, requestedBy: actor }, now);
        await addTimeline(q, i.id, {
          at: now,
          kind: 'button',
          actor,
          text: `Page requested in Slack: ${targets.map((t) => t.name).join(', ')}`.slice(0, 4000),
          source: 'slack',
        });
      }
    }
    if (contacts.length) {
      const brought: Inline[] = contacts.flatMap((c, n) => {
        const id = c.mention.slackId;
        const m: Inline = id ? (id.startsWith('S') ? group(id) : user(id)) : c.mention.name;
        return [...(n ? [', '] : []), m, ` (${ROLE_LABEL[c.role] ?? c.role})`];
      });
      await addTimeline(q, i.id, {
        at: now,
        kind: 'escalation_contact',
        actor,
        text: `Brought in ${contacts.map((c) => ROLE_LABEL[c.role] ?? c.role).join(', ')}: ${message}`.slice(0, 4000),
        source: 'slack',
      });
      await enqueuePost(
        q,
        i,
        { type: 'change', change: 'responder', actor, detail: ['Bringing in ', ...brought, `: ${message}`] },
        now,
      );
    }
    return { queued, broughtIn: contacts.length };
  });
}

/**
 * PagerDuty accepted a responder request (pd-calls.ts, in the transaction that marks it done):
 * the timeline and the thread say who was paged, by whom, and why.
 */
export async function recordPaged(
  q: Q,
  ctx: WorkflowCtx,
  row: { incidentId?: string; call: PdCall; requestedBy?: Actor },
  body: unknown,
): Promise<void> {
  const call = row.call;
  if (call.kind !== 'responder_request' || !row.incidentId) return;
  const i = await getIncident(q, row.incidentId);
  if (!i) return;
  const named = pagedNames(body);
  const names = named.length ? named : call.targets.map((t) => t.name);
  const now = ctx.now();
  const actor = row.requestedBy ?? { source: 'slack' as const };
  await addTimeline(q, i.id, {
    at: now,
    kind: 'escalation_contact',
    actor,
    text: `Paged ${names.join(', ')}: ${call.message}`.slice(0, 4000),
    source: 'slack',
  });
  await enqueuePost(
    q,
    i,
    { type: 'change', change: 'responder', actor, detail: [`Paged ${names.join(', ')}: ${call.message}`] },
    now,
  );
}

/** The names PagerDuty gives the request's targets in its answer. */
function pagedNames(body: unknown): string[] {
  return (
    (
      body as {
        responder_request?: { responder_request_targets?: Array<{ responder_request_target?: { summary?: string } }> };
      }
    )?.responder_request?.responder_request_targets ?? []
  )
    .map((t) => t.responder_request_target?.summary)
    .filter((n): n is string => typeof n === 'string');
}
