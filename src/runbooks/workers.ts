// Runbook: Health Checks › Queue Health ("hgetall workers") with the heartbeats of Scans Stuck
// in Pending: every worker, its status, the age of its last heartbeat, and which are dead.
import { formatDuration } from '../duration.js';
import { plural } from './lines.js';
import { DEAD_AFTER_S, WORKER_DEPLOYMENT } from './scans-stuck.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure } from './types.js';

function statusOf(json: string | undefined): string {
  if (json === undefined) return 'not registered';
  try {
    const v = JSON.parse(json) as Record<string, unknown>;
    const parts = [v.status, v.current_job ? `job ${String(v.current_job)}` : undefined, v.host ?? v.pod].filter(
      (x) => x !== undefined && x !== null && x !== '',
    );
    return parts.length ? parts.map(String).join(', ') : json.slice(0, 80);
  } catch {
    return json.slice(0, 80);
  }
}

const registry: Check = {
  id: 'workers',
  title: 'Workers',
  async run({ targets, now }): Promise<Finding> {
    const nowS = Math.floor(now.getTime() / 1000);
    const [all, flat] = await targets.redis.run((r) =>
      Promise.all([r.hgetall('workers'), r.zrange('worker_heartbeats', 0, -1, 'WITHSCORES')]),
    );
    const beats = new Map<string, number>();
    for (let i = 0; i + 1 < flat.length; i += 2) beats.set(flat[i] as string, Number(flat[i + 1]));
    const ids = [...new Set([...Object.keys(all), ...beats.keys()])].sort((a, b) =>
      a.localeCompare(b, 'en', { numeric: true }),
    );
    const rows = ids.map((id) => {
      const beat = beats.get(id);
      const age = beat === undefined ? undefined : nowS - beat;
      return { id, status: statusOf(all[id]), age, dead: age === undefined || age > DEAD_AFTER_S };
    });
    const dead = rows.filter((r) => r.dead);
    if (rows.length === 0)
      return {
        check: this.title,
        status: 'critical',
        summary: 'no worker registered and no heartbeat',
        facts: { registered: 0, dead: 0, deadIds: [] },
      };
    return {
      check: this.title,
      status: dead.length ? 'critical' : 'ok',
      summary: `${Object.keys(all).length} registered, ${rows.length - dead.length} alive, ${dead.length} dead${dead.length ? `: ${dead.map((d) => d.id).join(', ')}` : ''}`,
      details: rows.map(
        (r) =>
          `${r.id}  ${r.status}  ${r.age === undefined ? 'no heartbeat' : `last heartbeat ${formatDuration(r.age * 1000)} ago`}${r.dead ? '  DEAD' : ''}`,
      ),
      facts: { registered: Object.keys(all).length, dead: dead.length, deadIds: dead.map((d) => d.id) },
    };
  },
};

export function adviseWorkers(findings: Finding[]): NextStep[] {
  const dead = Number(factsOf(findings, registry.title)?.dead ?? 0);
  if (dead === 0) return [];
  return [
    {
      remedy: 'restart-deployment',
      label: `Restart ${WORKER_DEPLOYMENT}`,
      reason: `${plural(dead, 'worker is', 'workers are')} dead: restart the worker pool (kubectl rollout restart deployment/${WORKER_DEPLOYMENT})`,
      params: { deployment: WORKER_DEPLOYMENT },
    },
  ];
}

export const workers: Procedure = {
  id: 'workers',
  words: ['workers'],
  title: 'Workers',
  section: 'Health Checks › Queue Health (worker status)',
  group: 'Health',
  summary: 'every worker with its status and heartbeat age, the dead ones named',
  dashboard: '/grafana/d/queue',
  checks: [registry],
  remedies: [
    {
      id: 'restart-deployment',
      title: 'Restart worker pool',
      risk: 'medium',
      section: 'Scans Stuck in Pending › Resolution 2',
    },
  ],
  advise: adviseWorkers,
};
