// Runbook: Common Issues › Scans Stuck in Pending. Finds the stuck scans, the queue depth,
// the workers and the dead ones, then picks which of the runbook's three resolutions fits.
import { formatDuration } from '../duration.js';
import { checks as healthChecks, QUEUE_BACKLOG } from './health.js';
import { plural } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure } from './types.js';

export const STUCK_AFTER_MS = 5 * 60_000;
export const DEAD_AFTER_S = 5 * 60;
export const WORKER_DEPLOYMENT = 'scan-workers';
export const RUNBOOK_REPLICAS = 5;

const stuckScans: Check = {
  id: 'stuck',
  title: 'Stuck scans',
  async run({ targets, now }): Promise<Finding> {
    const cutoff = new Date(now.getTime() - STUCK_AFTER_MS);
    const [count] = await targets.db.query<{ n: string; oldest: Date | null }>(
      `SELECT count(*) AS n, min(created_at) AS oldest FROM scans WHERE status = 'pending' AND created_at < $1`,
      [cutoff],
    );
    const n = Number(count?.n ?? 0);
    if (n === 0)
      return {
        check: this.title,
        status: 'ok',
        summary: 'no scan pending for more than 5 minutes',
        facts: { count: 0 },
      };
    const rows = await targets.db.query<{ id: string; created_at: Date; name: string | null }>(
      `SELECT s.id, s.created_at, r.name FROM scans s LEFT JOIN repositories r ON r.id = s.repository_id
        WHERE s.status = 'pending' AND s.created_at < $1 ORDER BY s.created_at LIMIT 10`,
      [cutoff],
    );
    const oldestAge = now.getTime() - new Date(count?.oldest ?? now).getTime();
    return {
      check: this.title,
      status: 'critical',
      summary: `${plural(n, 'scan')} pending for more than 5 minutes, the oldest for ${formatDuration(oldestAge)}`,
      details: rows.map(
        (r) =>
          `${r.id}  ${r.name ?? '(no repository)'}  pending ${formatDuration(now.getTime() - new Date(r.created_at).getTime())}`,
      ),
      facts: { count: n, oldestId: rows[0]?.id ?? '', ids: rows.map((r) => r.id) },
    };
  },
};

const workers: Check = {
  id: 'workers',
  title: 'Registered workers',
  async run({ targets }) {
    const all = await targets.redis.run((r) => r.hgetall('workers'));
    const ids = Object.keys(all).sort();
    const lines = ids.map((id) => `${id}: ${describeWorker(all[id])}`);
    return {
      check: this.title,
      status: ids.length ? 'ok' : 'critical',
      summary: ids.length ? `${ids.length} registered: ${ids.join(', ')}` : 'no worker registered',
      details: lines,
      facts: { registered: ids.length, ids },
    };
  },
};

function describeWorker(json: string | undefined): string {
  try {
    const v = JSON.parse(json ?? '') as Record<string, unknown>;
    return Object.entries(v)
      .slice(0, 4)
      .map(([k, x]) => `${k}=${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
      .join(' ');
  } catch {
    return json ?? '';
  }
}

const deadWorkers: Check = {
  id: 'dead',
  title: 'Dead workers',
  async run({ targets, now }): Promise<Finding> {
    const nowS = Math.floor(now.getTime() / 1000);
    const flat = await targets.redis.run((r) =>
      r.zrangebyscore('worker_heartbeats', 0, nowS - DEAD_AFTER_S, 'WITHSCORES'),
    );
    const dead: Array<{ id: string; age: number }> = [];
    for (let i = 0; i + 1 < flat.length; i += 2) dead.push({ id: flat[i] as string, age: nowS - Number(flat[i + 1]) });
    if (dead.length === 0)
      return {
        check: this.title,
        status: 'ok',
        summary: 'every heartbeat is fresher than 5 minutes',
        facts: { dead: 0, ids: [] },
      };
    return {
      check: this.title,
      status: 'critical',
      summary: `${dead.length} without a heartbeat for over 5 minutes: ${dead.map((d) => d.id).join(', ')}`,
      details: dead.map((d) => `${d.id}: last heartbeat ${formatDuration(d.age * 1000)} ago`),
      facts: { dead: dead.length, ids: dead.map((d) => d.id) },
    };
  },
};

const workerDeployment: Check = {
  id: 'deployment',
  title: 'Worker deployment',
  async run({ targets }) {
    const d = await targets.kube.run(({ apps, namespace }) =>
      apps.readNamespacedDeployment({ name: WORKER_DEPLOYMENT, namespace }),
    );
    const want = d.spec?.replicas ?? 0;
    const ready = d.status?.readyReplicas ?? 0;
    return {
      check: this.title,
      status: ready < want ? 'warn' : 'ok',
      summary: `${WORKER_DEPLOYMENT}: ${ready}/${want} ready${d.spec?.paused ? ', paused' : ''}`,
      facts: { replicas: want, ready },
    };
  },
};

export function adviseScansStuck(findings: Finding[]): NextStep[] {
  const stuck = Number(factsOf(findings, stuckScans.title)?.count ?? 0);
  const depth = Number(factsOf(findings, healthChecks.queueDepth.title)?.depth ?? 0);
  const dead = Number(factsOf(findings, deadWorkers.title)?.dead ?? 0);
  const replicas = Number(factsOf(findings, workerDeployment.title)?.replicas ?? 0);
  const steps: NextStep[] = [];
  if (dead > 0) {
    steps.push({
      remedy: 'restart-deployment',
      label: `Restart ${WORKER_DEPLOYMENT}`,
      reason: `${dead} worker${dead === 1 ? ' is' : 's are'} dead: restart the worker pool (kubectl rollout restart deployment/${WORKER_DEPLOYMENT})`,
      params: { deployment: WORKER_DEPLOYMENT },
    });
  }
  // Jobs waiting while scans sit pending is a queue that is not draining, dead workers or not.
  if (depth > QUEUE_BACKLOG || (depth > 0 && stuck > 0)) {
    const to = Math.max(RUNBOOK_REPLICAS, replicas + 2);
    steps.push({
      remedy: 'scale-deployment',
      label: `Scale ${WORKER_DEPLOYMENT} to ${to}`,
      reason: `the queue is backed up with ${depth} jobs: scale the workers (kubectl scale deployment/${WORKER_DEPLOYMENT} --replicas=${to})`,
      params: { deployment: WORKER_DEPLOYMENT, replicas: to },
    });
  }
  if (stuck > 0) {
    const oldest = String(factsOf(findings, stuckScans.title)?.oldestId ?? '');
    steps.push({
      remedy: 'mark-scan-failed',
      label: 'Mark a scan failed…',
      reason: `a specific scan is stuck: mark it failed with "Timeout - manual intervention"${oldest ? ` (oldest: ${oldest})` : ''}`,
      params: oldest ? { scanId: oldest } : {},
    });
  }
  return steps;
}

export const scansStuck: Procedure = {
  id: 'scans-stuck',
  words: ['scans', 'stuck'],
  title: 'Scans stuck in pending',
  section: 'Common Issues › Scans Stuck in Pending',
  group: 'Diagnosis',
  summary: 'stuck scans, queue depth, registered and dead workers, and the fitting resolution',
  dashboard: '/grafana/d/queue',
  checks: [stuckScans, healthChecks.queueDepth, workers, deadWorkers, workerDeployment],
  remedies: [
    {
      id: 'scale-deployment',
      title: 'Scale workers',
      risk: 'medium',
      section: 'Scans Stuck in Pending › Resolution 1',
    },
    {
      id: 'restart-deployment',
      title: 'Restart worker pool',
      risk: 'medium',
      section: 'Scans Stuck in Pending › Resolution 2',
    },
    {
      id: 'mark-scan-failed',
      title: 'Mark a stuck scan failed',
      risk: 'low',
      section: 'Scans Stuck in Pending › Resolution 3',
    },
  ],
  advise: adviseScansStuck,
};
