// Runbook: Service Overview › Health Checks — API, detailed components, workers, database,
// Redis and the queue, each under its own deadline.
import { plural } from './lines.js';
import type { Check, Finding, Procedure, Status } from './types.js';

const COMPONENT_LABEL: Record<string, string> = {
  database: 'Database (as the API sees it)',
  cache: 'Cache (as the API sees it)',
  queue: 'Queue (as the API sees it)',
  storage: 'Object storage (MinIO/S3)',
};

function healthStatus(value: unknown): Status {
  return value === 'healthy' || value === 'ok' ? 'ok' : value === 'degraded' ? 'warn' : 'critical';
}

const apiHealth: Check = {
  id: 'api',
  title: 'API server',
  async run({ targets, signal }) {
    const res = await targets.api.get('/health', { signal });
    const body = (res.body ?? {}) as { status?: string; version?: string };
    if (res.status !== 200)
      return { check: this.title, status: 'critical', summary: `GET /health answered ${res.status} in ${res.ms} ms` };
    return {
      check: this.title,
      status: healthStatus(body.status),
      summary: `${body.status ?? 'unknown'}${body.version ? ` (version ${body.version})` : ''} in ${res.ms} ms`,
    };
  },
};

const detailedHealth: Check = {
  id: 'detailed',
  title: 'Components',
  async run({ targets, signal }): Promise<Finding[]> {
    const res = await targets.api.get('/health/detailed', { admin: true, signal });
    if (res.status === 401 || res.status === 403) {
      return [
        {
          check: this.title,
          status: 'critical',
          summary: `GET /health/detailed refused the admin token (${res.status}) — check DMP_ADMIN_TOKEN`,
        },
      ];
    }
    const components = ((res.body ?? {}) as { components?: Record<string, unknown> }).components;
    if (res.status !== 200 || !components || typeof components !== 'object') {
      return [
        {
          check: this.title,
          status: 'critical',
          summary: `GET /health/detailed answered ${res.status} without components`,
        },
      ];
    }
    return Object.entries(components).map(([name, value]) => ({
      check: COMPONENT_LABEL[name] ?? name,
      status: healthStatus(value),
      summary: String(value),
    }));
  },
};

const workersHealth: Check = {
  id: 'workers',
  title: 'Worker pool',
  async run({ targets, signal }) {
    const res = await targets.api.get('/health/workers', { signal });
    const body = (res.body ?? {}) as { status?: string; alive?: number; dead?: number; workers?: unknown[] };
    if (res.status >= 500 && !body.status)
      return { check: this.title, status: 'critical', summary: `GET /health/workers answered ${res.status}` };
    const parts = [body.status ?? `HTTP ${res.status}`];
    if (typeof body.alive === 'number') parts.push(`${body.alive} alive`);
    if (typeof body.dead === 'number') parts.push(`${body.dead} dead`);
    return {
      check: this.title,
      status: healthStatus(body.status ?? (res.status === 200 ? 'healthy' : 'unhealthy')),
      summary: parts.join(', '),
    };
  },
};

const database: Check = {
  id: 'database',
  title: 'PostgreSQL',
  async run({ targets }) {
    const started = performance.now();
    const [row] = await targets.db.query<{ active: string; replica: boolean; lag_s: number | null }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE state <> 'idle') AS active,
              pg_is_in_recovery() AS replica,
              CASE WHEN pg_is_in_recovery() THEN EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END AS lag_s`,
    );
    const ms = Math.round(performance.now() - started);
    const parts = [`connected in ${ms} ms`, `${Number(row?.active ?? 0)} active connections`];
    let status: Status = 'ok';
    if (row?.replica) {
      const lag = row.lag_s === null ? null : Math.round(Number(row.lag_s));
      parts.push(lag === null ? 'replica, no replay yet' : `replica, ${lag}s behind`);
      if (lag !== null && lag > 30) status = 'warn';
    }
    return { check: this.title, status, summary: parts.join(', ') };
  },
};

const redisPing: Check = {
  id: 'redis',
  title: 'Redis',
  async run({ targets }) {
    const started = performance.now();
    const pong = await targets.redis.run((r) => r.ping());
    return {
      check: this.title,
      status: pong === 'PONG' ? 'ok' : 'critical',
      summary: `${pong} in ${Math.round(performance.now() - started)} ms`,
    };
  },
};

export const QUEUE_BACKLOG = 10;

const queueDepth: Check = {
  id: 'queue',
  title: 'Queue depth',
  async run({ targets }) {
    const depth = await targets.redis.run((r) => r.llen('scan_queue'));
    return {
      check: this.title,
      status: depth > QUEUE_BACKLOG ? 'warn' : 'ok',
      summary: `${plural(depth, 'job')} in scan_queue`,
      facts: { depth },
    };
  },
};

export const health: Procedure = {
  id: 'health',
  words: ['health'],
  title: 'Platform health',
  section: 'Health Checks',
  group: 'Health',
  summary: 'API, components, workers, PostgreSQL, Redis and queue depth, in parallel',
  dashboard: '/grafana/d/health',
  checks: [apiHealth, detailedHealth, workersHealth, database, redisPing, queueDepth],
  remedies: [],
};

/** Reused by other procedures that show the queue. */
export const checks = { queueDepth, redisPing, database };
