// The pages the simulated PagerDuty can send: each one of the runbook's common issues as
// monitoring would raise it, with the service, priority and text a real alert carries.
// Paging also makes sure the platform still shows the trouble the page is about.
import type { PdService } from '@dmp-bot/sim/pagerduty-fake';

export const PD_SERVICES: PdService[] = [
  { id: 'PDMPAPI', name: 'DMP API' },
  { id: 'PDMPWRK', name: 'DMP Scan Workers' },
  { id: 'PDMPDB', name: 'DMP Database' },
];

export type ScenarioId = 'scans-stuck' | 'database-cpu' | 'auth-failures' | 'bad-deploy';

export interface Scenario {
  id: ScenarioId;
  /** Other ways people type it. */
  aliases: string[];
  title: string;
  serviceId: string;
  priority: 'P1' | 'P2' | 'P3' | 'P4';
  urgency: 'high' | 'low';
  details: string;
  /** What the newcomer will see, for `/dmp sandbox`. */
  blurb: string;
}

export const SCENARIOS: Scenario[] = [
  {
    id: 'scans-stuck',
    aliases: ['scans', 'stuck', 'scans stuck', 'queue', 'workers'],
    title: 'Scans stuck in pending for over 15 minutes (scan_queue backed up)',
    serviceId: 'PDMPWRK',
    priority: 'P2',
    urgency: 'high',
    details:
      'Alert: dmp_scans_pending_oldest_seconds > 900 for 5m. scan_queue depth above 100. Runbook: Scans Stuck in Pending.',
    blurb: 'P2 on DMP Scan Workers: the dead workers and the backed-up queue',
  },
  {
    id: 'database-cpu',
    aliases: ['database', 'db', 'cpu', 'database cpu', 'db cpu', 'high database cpu', 'slow queries'],
    title: 'High database CPU on dmp-postgres-primary (94% for 10 minutes)',
    serviceId: 'PDMPDB',
    priority: 'P3',
    urgency: 'high',
    details:
      'Alert: pg_cpu_usage_percent > 90 for 10m on dmp-postgres-primary; p95 query latency 4.2s. Runbook: High Database CPU.',
    blurb: 'P3 on DMP Database: slow queries, a lock chain, the missing index',
  },
  {
    id: 'auth-failures',
    aliases: ['auth', 'authentication', 'auth failures', 'authentication failures', 'login', '401'],
    title: 'Authentication failures: 401 rate above 5% on the api',
    serviceId: 'PDMPAPI',
    priority: 'P2',
    urgency: 'high',
    details:
      'Alert: rate(http_requests_total{status="401"}[5m]) / rate(http_requests_total[5m]) > 0.05 on api. Runbook: Authentication Failures.',
    blurb: 'P2 on DMP API: "auth error" lines in the api logs since the last release',
  },
  {
    id: 'bad-deploy',
    aliases: ['deploy', 'bad deploy', 'release', 'rollback', 'api errors', '5xx'],
    title: 'API error rate above 5% (HTTP 5xx) on the api',
    serviceId: 'PDMPAPI',
    priority: 'P2',
    urgency: 'high',
    details:
      'Alert: rate(http_requests_total{status=~"5.."}[5m]) / rate(http_requests_total[5m]) > 0.05 on api. Runbook: Incident Response.',
    blurb: 'P2 on DMP API: a release went out ten minutes before the page — roll it back',
  },
];

/** `scans stuck`, `scans-stuck`, `Database CPU`… to a scenario; undefined when nothing fits. */
export function findScenario(words: string[]): Scenario | undefined {
  const text = words.join(' ').trim().toLowerCase().replace(/[-_]+/g, ' ');
  if (!text) return SCENARIOS[0];
  return SCENARIOS.find((s) => s.id.replace(/-/g, ' ') === text || s.aliases.includes(text));
}
