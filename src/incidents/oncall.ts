// Who is on call now (issue 12): PagerDuty's on-calls (`GET /oncalls`, users included) per
// escalation policy and level, until when, with the Slack user each PagerDuty email maps to.
// A filter names a policy or a service (its policy), by name or id.
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
    throw new UserError(`No PagerDuty escalation policy or service matches \`${filter.slice(0, 80)}\`.`);
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
