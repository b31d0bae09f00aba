// `/dmp incident stats`: how incidents went over a window, from PagerDuty's own times — an
// incident's `created_at` (triggered_at) to the `occurred_at` of its first incident.acknowledged
// and incident.resolved events, never when the bot received them — and, for time to mitigate, to
// the first verification that found nothing critical (as the post-mortem counts it).
import type { Severity } from '../config.js';
import type { Q } from './store.js';

export const STATS_WINDOWS = { '7d': 7, '30d': 30, '90d': 90 } as const;
export type StatsWindow = keyof typeof STATS_WINDOWS;

/** Pages outside 08:00–18:00 UTC on weekdays count as out of hours. */
export const WORKING_HOURS_UTC = { from: 8, to: 18 } as const;

export interface Spread {
  count: number;
  medianMs?: number;
  p90Ms?: number;
}

export interface SeverityStats {
  severity: Severity;
  incidents: number;
  toAcknowledge: Spread;
  toMitigate: Spread;
  toResolve: Spread;
}

export interface WeekStats {
  /** Monday 00:00 UTC of the week. */
  weekStart: Date;
  incidents: number;
  toAcknowledgeMedianMs?: number;
  toResolveMedianMs?: number;
}

export interface IncidentStats {
  window: StatsWindow;
  since: Date;
  until: Date;
  incidents: number;
  bySeverity: SeverityStats[];
  byService: Array<{ name: string; count: number }>;
  byProcedure: Array<{ name: string; count: number }>;
  byWeek: WeekStats[];
  outOfHours: number;
  /**
   * Remediations carried out in the incidents' threads (succeeded or failed), and the
   * verifications that followed them: how many, and how many found nothing critical.
   */
  remediations: { run: number; succeeded: number; verified: number; verifiedGreen: number };
  followups: { open: number; closed: number; pending: number };
}

/** The median (the mean of the two middle values for an even count) and the nearest-rank 90th percentile. */
export function spread(values: number[]): Spread {
  const v = [...values].sort((a, b) => a - b);
  const n = v.length;
  if (!n) return { count: 0 };
  const mid = Math.floor(n / 2);
  const median = n % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  const p90 = v[Math.max(0, Math.ceil(0.9 * n) - 1)] as number;
  return { count: n, medianMs: Math.round(median), p90Ms: p90 };
}

export function outOfHours(at: Date): boolean {
  const day = at.getUTCDay();
  const hour = at.getUTCHours();
  return day === 0 || day === 6 || hour < WORKING_HOURS_UTC.from || hour >= WORKING_HOURS_UTC.to;
}

function weekStart(at: Date): Date {
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d;
}

interface Row {
  id: string;
  severity: Severity;
  service_name: string | null;
  procedure_id: string | null;
  triggered_at: Date | string;
  first_ack: Date | string | null;
  first_resolve: Date | string | null;
  first_clear: Date | string | null;
}

const SEVERITY_ORDER: Severity[] = ['P1', 'P2', 'P3', 'P4'];
const ms = (v: Date | string | null): number | undefined => (v === null ? undefined : new Date(v).getTime());

export async function incidentStats(q: Q, window: StatsWindow, now: Date): Promise<IncidentStats> {
  const since = new Date(now.getTime() - STATS_WINDOWS[window] * 86_400_000);
  const rows = await q.query<Row>(
    `SELECT i.id, i.severity, i.service_name, i.procedure_id, i.triggered_at,
            (SELECT min(e.occurred_at) FROM pd_webhook_events e
              WHERE e.incident_id = i.id AND e.event_type = 'incident.acknowledged') AS first_ack,
            (SELECT min(e.occurred_at) FROM pd_webhook_events e
              WHERE e.incident_id = i.id AND e.event_type = 'incident.resolved') AS first_resolve,
            (SELECT min(v.at) FROM incident_verifications v
              WHERE v.incident_id = i.id AND v.trigger <> 'diagnosis' AND NOT v.critical) AS first_clear
       FROM incidents i
      WHERE i.triggered_at >= $1 AND i.triggered_at <= $2
      ORDER BY i.triggered_at`,
    [since, now],
  );
  const after = (r: Row, v: Date | string | null): number | undefined => {
    const t = ms(v);
    return t === undefined ? undefined : Math.max(0, t - new Date(r.triggered_at).getTime());
  };
  const durations = rows.map((r) => ({
    r,
    ack: after(r, r.first_ack),
    mitigate: after(r, r.first_clear),
    resolve: after(r, r.first_resolve),
  }));
  const defined = (xs: Array<number | undefined>): number[] => xs.filter((x): x is number => x !== undefined);
  const bySeverity = SEVERITY_ORDER.map((severity) => {
    const of = durations.filter((d) => d.r.severity === severity);
    return {
      severity,
      incidents: of.length,
      toAcknowledge: spread(defined(of.map((d) => d.ack))),
      toMitigate: spread(defined(of.map((d) => d.mitigate))),
      toResolve: spread(defined(of.map((d) => d.resolve))),
    };
  }).filter((s) => s.incidents > 0);
  const counted = (names: string[]) =>
    [...names.reduce((m, n) => m.set(n, (m.get(n) ?? 0) + 1), new Map<string, number>())]
      .map(([name, count]) => ({ name, count }))
      .sort((a, b) => b.count - a.count || a.name.localeCompare(b.name));
  const weeks = new Map<number, typeof durations>();
  for (const d of durations) {
    const k = weekStart(new Date(d.r.triggered_at)).getTime();
    weeks.set(k, [...(weeks.get(k) ?? []), d]);
  }
  const ids = rows.map((r) => r.id);
  const [rem] = await q.query<{ verified: string; green: string }>(
    `SELECT count(*) AS verified, count(*) FILTER (WHERE NOT critical) AS green
       FROM incident_verifications WHERE trigger = 'remediation' AND incident_id = ANY($1::text[])`,
    [ids],
  );
  // An action belongs to an incident when it was started in its thread (a storm's digest thread
  // is shared: each action counts once).
  const [ran] = await q.query<{ run: string; succeeded: string }>(
    `SELECT count(*) AS run, count(*) FILTER (WHERE a.state = 'succeeded') AS succeeded
       FROM remediation_actions a
      WHERE a.state IN ('succeeded', 'failed')
        AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = ANY($1::text[])
                     AND i.channel = a.channel_id AND i.root_ts IS NOT NULL AND i.root_ts = a.thread_ts)`,
    [ids],
  );
  const [fu] = await q.query<{ open: string; closed: string; pending: string }>(
    `SELECT count(*) FILTER (WHERE issue_url IS NOT NULL AND state = 'closed') AS closed,
            count(*) FILTER (WHERE issue_url IS NOT NULL AND state IS DISTINCT FROM 'closed') AS open,
            count(*) FILTER (WHERE done_at IS NULL) AS pending
       FROM incident_followups WHERE incident_id = ANY($1::text[])`,
    [ids],
  );
  return {
    window,
    since,
    until: now,
    incidents: rows.length,
    bySeverity,
    byService: counted(rows.map((r) => r.service_name ?? 'unknown service')),
    byProcedure: counted(rows.map((r) => r.procedure_id ?? 'no procedure')),
    byWeek: [...weeks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([k, ds]) => ({
        weekStart: new Date(k),
        incidents: ds.length,
        toAcknowledgeMedianMs: spread(defined(ds.map((d) => d.ack))).medianMs,
        toResolveMedianMs: spread(defined(ds.map((d) => d.resolve))).medianMs,
      })),
    outOfHours: rows.filter((r) => outOfHours(new Date(r.triggered_at))).length,
    remediations: {
      run: Number(ran?.run ?? 0),
      succeeded: Number(ran?.succeeded ?? 0),
      verified: Number(rem?.verified ?? 0),
      verifiedGreen: Number(rem?.green ?? 0),
    },
    followups: { open: Number(fu?.open ?? 0), closed: Number(fu?.closed ?? 0), pending: Number(fu?.pending ?? 0) },
  };
}
