// Runbook: Health Checks › Queue Health: the depth of scan_queue, its oldest and newest job
// peeked with LRANGE (nothing is popped), and how many workers are there to take them.
import { formatDuration } from '../duration.js';
import { QUEUE_BACKLOG } from './health.js';
import { oneLine, plural } from './lines.js';
import { DEAD_AFTER_S, RUNBOOK_REPLICAS, WORKER_DEPLOYMENT } from './scans-stuck.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure, type Status } from './types.js';

export const QUEUE_KEY = 'scan_queue';
const TIME_FIELDS = ['enqueued_at', 'queued_at', 'created_at', 'timestamp', 'ts'];

/** When a job carries its enqueue time, how long it has waited. */
export function jobAge(job: string, now: Date): number | undefined {
  try {
    const v = JSON.parse(job) as Record<string, unknown>;
    for (const f of TIME_FIELDS) {
      const raw = v[f];
      if (raw === undefined || raw === null) continue;
      const at = typeof raw === 'number' ? new Date(raw < 1e12 ? raw * 1000 : raw) : new Date(String(raw));
      if (!Number.isNaN(at.getTime())) return Math.max(0, now.getTime() - at.getTime());
    }
  } catch {
    // Not JSON: no age to tell.
  }
  return undefined;
}

const depth: Check = {
  id: 'depth',
  title: 'Queue depth',
  async run({ targets, now }): Promise<Finding> {
    // Producers RPUSH and workers pop from the head, so index 0 is the oldest job.
    const [n, oldest, newest] = await targets.redis.run((r) =>
      Promise.all([r.llen(QUEUE_KEY), r.lrange(QUEUE_KEY, 0, 0), r.lrange(QUEUE_KEY, -1, -1)]),
    );
    const status: Status = n > QUEUE_BACKLOG ? 'warn' : 'ok';
    if (n === 0) return { check: this.title, status, summary: `0 jobs in ${QUEUE_KEY}`, facts: { depth: 0 } };
    const describe = (job: string | undefined): string => {
      const age = job === undefined ? undefined : jobAge(job, now);
      return `${oneLine(job ?? '', 200)}${age !== undefined ? ` (waiting ${formatDuration(age)})` : ''}`;
    };
    return {
      check: this.title,
      status,
      summary: `${plural(n, 'job')} in ${QUEUE_KEY}${n > QUEUE_BACKLOG ? ': backed up' : ''}`,
      details:
        n === 1
          ? [`only job: ${describe(oldest[0])}`]
          : [`oldest (head): ${describe(oldest[0])}`, `newest (tail): ${describe(newest[0])}`],
      facts: { depth: n },
    };
  },
};

const workerCount: Check = {
  id: 'workers',
  title: 'Workers',
  async run({ targets, now }): Promise<Finding> {
    const nowS = Math.floor(now.getTime() / 1000);
    const [registered, alive] = await targets.redis.run((r) =>
      Promise.all([r.hlen('workers'), r.zcount('worker_heartbeats', nowS - DEAD_AFTER_S, '+inf')]),
    );
    return {
      check: this.title,
      status: alive === 0 ? 'critical' : 'ok',
      summary: `${registered} registered, ${alive} with a heartbeat in the last 5 minutes`,
      facts: { registered, alive },
    };
  },
};

export function adviseQueue(findings: Finding[]): NextStep[] {
  const n = Number(factsOf(findings, depth.title)?.depth ?? 0);
  const alive = Number(factsOf(findings, workerCount.title)?.alive ?? -1);
  const steps: NextStep[] = [];
  if (n > 0 && alive === 0) {
    steps.push({
      remedy: 'restart-deployment',
      label: `Restart ${WORKER_DEPLOYMENT}`,
      reason: `${plural(n, 'job')} waiting and no worker alive: restart the worker pool (kubectl rollout restart deployment/${WORKER_DEPLOYMENT})`,
      params: { deployment: WORKER_DEPLOYMENT },
    });
  }
  if (n > QUEUE_BACKLOG) {
    const to = Math.max(RUNBOOK_REPLICAS, alive + 2);
    steps.push({
      remedy: 'scale-deployment',
      label: `Scale ${WORKER_DEPLOYMENT} to ${to}`,
      reason: `the queue is backed up with ${n} jobs: scale the workers (kubectl scale deployment/${WORKER_DEPLOYMENT} --replicas=${to})`,
      params: { deployment: WORKER_DEPLOYMENT, replicas: to },
    });
  }
  return steps;
}

export const queue: Procedure = {
  id: 'queue',
  words: ['queue'],
  title: 'Scan queue',
  section: 'Health Checks › Queue Health',
  group: 'Health',
  summary: 'scan_queue depth, its oldest and newest job (peeked, not popped), and the worker count',
  dashboard: '/grafana/d/queue',
  checks: [depth, workerCount],
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
  ],
  advise: adviseQueue,
};
