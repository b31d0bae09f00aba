// Who is on call now (issue 12): PagerDuty's on-calls (`GET /oncalls`, users included) per
// escalation policy and level, until when, with the Slack user each PagerDuty email maps to.
// A filter names a policy or a service (its policy), by name or id.
import { code } from '../domain/text.js';
import { UserError } from '../errors.js';
import type { PagerDutyClient } from '../targets/pagerduty.js';

export interface OnCallPerson {
  name: string;
  email?: string;
  slackId?: string;
  /** When this on-call ends; undefined: on call for good (a user on the level, not a schedule). */
  until?: Date;
  schedule?: string;
}

export interface PolicyOnCall {
  id: string;
  name: string;
  levels: Array<{ level: number; people: OnCallPerson[] }>;
}

interface RawOnCall {
  escalation_policy?: { id?: string; summary?: string };
  escalation_level?: number;
  schedule?: { summary?: string } | null;
  user?: { id?: string; summary?: string; name?: string; email?: string };
  end?: string | null;
}

type Lookup = (email: string) => Promise<string | undefined>;

function ok(res: { status: number; body: unknown }, what: string): Record<string, unknown> {
  if (res.status < 200 || res.status >= 300)
    throw new UserError(`PagerDuty did not list the ${what} (HTTP ${res.status}).`);
  return (res.body ?? {}) as Record<string, unknown>;
}

/** The escalation policy ids a filter names: a policy by name or id, else a service's policy. */
async function policiesNamed(pd: PagerDutyClient, filter: string): Promise<string[]> {
  const want = filter.toLowerCase();
  const policies = (ok(
    await pd.request('GET', '/escalation_policies', { query: { limit: '100' } }),
    'escalation policies',
  ).escalation_policies ?? []) as Array<{ id?: string; name?: string; summary?: string }>;
  const byPolicy = policies.filter(
    (p) => p.id?.toLowerCase() === want || (p.name ?? p.summary ?? '').toLowerCase().includes(want),
  );
  if (byPolicy.length) return byPolicy.map((p) => String(p.id));
  const services = (ok(await pd.request('GET', '/services', { query: { limit: '100' } }), 'services').services ??
    []) as Array<{ id?: string; name?: string; summary?: string; escalation_policy?: { id?: string } }>;
  const ids = services
    .filter((s) => s.id?.toLowerCase() === want || (s.name ?? s.summary ?? '').toLowerCase().includes(want))
    .map((s) => s.escalation_policy?.id)
    .filter((id): id is string => typeof id === 'string');
  return [...new Set(ids)];
}

export async function whoIsOnCall(
  pd: PagerDutyClient,
  filter: string | undefined,
  lookup?: Lookup,
): Promise<PolicyOnCall[]> {
  if (!pd.configured)
    throw new UserError('PagerDuty is not configured (PAGERDUTY_API_TOKEN), so I cannot say who is on call.');
  const ids = filter ? await policiesNamed(pd, filter) : [];
  if (filter && ids.length === 0)
    throw new UserError(['No PagerDuty escalation policy or service matches ', code(filter.slice(0, 80)), '.']);
  return onCallOfPolicies(pd, ids, lookup);
}

/** The on-calls of these policies (every policy when none is named), by policy and level. */
async function onCallOfPolicies(pd: PagerDutyClient, ids: string[], lookup?: Lookup): Promise<PolicyOnCall[]> {
  const res = await pd.request('GET', '/oncalls', {
    query: {
      'include[]': ['users'],
      limit: '100',
      ...(ids.length ? { 'escalation_policy_ids[]': ids } : {}),
    },
  });
  const raw = (ok(res, 'on-calls').oncalls ?? []) as RawOnCall[];
  const slackOf = new Map<string, Promise<string | undefined>>();
  const policies = new Map<string, PolicyOnCall>();
  for (const o of raw) {
    const pid = o.escalation_policy?.id;
    if (!pid || !o.user) continue;
    let policy = policies.get(pid);
    if (!policy) {
      policy = { id: pid, name: o.escalation_policy?.summary ?? pid, levels: [] };
      policies.set(pid, policy);
    }
    const level = o.escalation_level ?? 1;
    let row = policy.levels.find((l) => l.level === level);
    if (!row) {
      row = { level, people: [] };
      policy.levels.push(row);
    }
    const email = o.user.email;
    if (email && lookup && !slackOf.has(email))
      slackOf.set(
        email,
        lookup(email).catch(() => undefined),
      );
    const slackId = email ? await slackOf.get(email) : undefined;
    row.people.push({
      name: o.user.name ?? o.user.summary ?? o.user.id ?? 'someone',
      ...(email ? { email } : {}),
      ...(slackId ? { slackId } : {}),
      ...(o.end ? { until: new Date(o.end) } : {}),
      ...(o.schedule?.summary ? { schedule: o.schedule.summary } : {}),
    });
  }
  const out = [...policies.values()].sort((a, b) => a.name.localeCompare(b.name));
  for (const p of out) p.levels.sort((a, b) => a.level - b.level);
  return out;
}

/** What the incident root shows of its service's on-call: who, or that PagerDuty could not say. */
export type RootOnCall = { known: true; policy: PolicyOnCall } | { known: false };

export interface ServiceOnCall {
  /** The service's escalation policy's on-call now; undefined when the service has none (or no PagerDuty). */
  forService(serviceId: string): Promise<RootOnCall | undefined>;
}

/** How long a service's on-call is taken as known, at most (it is asked again after, or at a shift's end). */
const ONCALL_FRESH_MS = 60_000;
/** After PagerDuty failed to say, how long before it is asked again (a root re-rendered meanwhile waits for nothing). */
const ONCALL_RETRY_MS = 30_000;
/** How long the last answer still stands in while PagerDuty cannot say. */
const ONCALL_STALE_MS = 15 * 60_000;
/** A service's escalation policy changes rarely. */
const POLICY_FRESH_MS = 10 * 60_000;

/**
 * The on-call of a service's escalation policy (`GET /services/{id}` for the policy, then
 * `GET /oncalls?escalation_policy_ids[]=…`), remembered briefly per service so re-rendering a
 * root (every change of the incident) asks PagerDuty at most once a minute; when PagerDuty
 * cannot say, the last answer stands for a while, then "unknown".
 */
export function serviceOnCall(pd: PagerDutyClient, lookup: Lookup | undefined, now: () => Date): ServiceOnCall {
  const policies = new Map<string, { id: string | undefined; at: number }>();
  const known = new Map<string, { value: RootOnCall | undefined; at: number; freshUntil: number }>();
  const inFlight = new Map<string, Promise<RootOnCall | undefined>>();

  const policyOf = async (serviceId: string): Promise<string | undefined> => {
    const hit = policies.get(serviceId);
    if (hit && now().getTime() - hit.at < POLICY_FRESH_MS) return hit.id;
    const res = await pd.request('GET', `/services/${encodeURIComponent(serviceId)}`);
    if (res.status === 404) {
      policies.set(serviceId, { id: undefined, at: now().getTime() });
      return undefined;
    }
    const service = ok(res, 'service').service as { escalation_policy?: { id?: unknown } } | undefined;
    const id = typeof service?.escalation_policy?.id === 'string' ? service.escalation_policy.id : undefined;
    if (policies.size > 500) policies.clear();
    policies.set(serviceId, { id, at: now().getTime() });
    return id;
  };

  const ask = async (serviceId: string): Promise<RootOnCall | undefined> => {
    const at = now().getTime();
    const before = known.get(serviceId);
    try {
      const policyId = await policyOf(serviceId);
      let value: RootOnCall | undefined;
      if (policyId) {
        const [policy] = await onCallOfPolicies(pd, [policyId], lookup);
        value = { known: true, policy: policy ?? { id: policyId, name: policyId, levels: [] } };
      }
      // Known until a minute passes or the first shift in it ends, whichever comes first.
      const ends = value?.known
        ? value.policy.levels.flatMap((l) => l.people.map((u) => u.until?.getTime() ?? Infinity))
        : [];
      const freshUntil = Math.max(at + 1_000, Math.min(at + ONCALL_FRESH_MS, ...ends));
      if (known.size > 500) known.clear();
      known.set(serviceId, { value, at, freshUntil });
      return value;
    } catch {
      const stale = before && at - before.at < ONCALL_STALE_MS ? before.value : ({ known: false } as const);
      known.set(serviceId, { value: stale, at: before?.at ?? at, freshUntil: at + ONCALL_RETRY_MS });
      return stale;
    }
  };

  return {
    async forService(serviceId) {
      if (!pd.configured) return undefined;
      const hit = known.get(serviceId);
      if (hit && now().getTime() < hit.freshUntil) return hit.value;
      const running = inFlight.get(serviceId) ?? ask(serviceId).finally(() => inFlight.delete(serviceId));
      inFlight.set(serviceId, running);
      return running;
    },
  };
}
