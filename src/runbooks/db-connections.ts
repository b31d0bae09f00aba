// Runbook: Health Checks › Database Health, "Active connections": how many of max_connections
// are used, by state and by application and user, so a leak or a pile-up has a name.
import { plural } from './lines.js';
import type { Check, Finding, Procedure, Status } from './types.js';

export const CONNECTIONS_WARN = 0.8;
export const CONNECTIONS_CRITICAL = 0.95;

const usage: Check = {
  id: 'usage',
  title: 'Connections',
  async run({ targets }): Promise<Finding> {
    const [row] = await targets.db.query<{ used: number; max: number; reserved: number; here: number; db: string }>(
      `SELECT (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS used,
              (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND datname = current_database())::int AS here,
              current_setting('max_connections')::int AS max,
              current_setting('superuser_reserved_connections')::int AS reserved,
              current_database() AS db`,
    );
    const used = row?.used ?? 0;
    const max = row?.max ?? 0;
    const ratio = max ? used / max : 0;
    const status: Status = ratio >= CONNECTIONS_CRITICAL ? 'critical' : ratio >= CONNECTIONS_WARN ? 'warn' : 'ok';
    return {
      check: this.title,
      status,
      summary: `${used} of max_connections ${max} in use (${Math.round(ratio * 100)}%), ${row?.here ?? 0} of them on ${row?.db ?? 'this database'}; ${row?.reserved ?? 0} reserved for superusers`,
      facts: { used, max },
    };
  },
};

const byState: Check = {
  id: 'state',
  title: 'By state',
  async run({ targets }): Promise<Finding> {
    const rows = await targets.db.query<{ state: string; n: number; oldest_s: number | null }>(
      `SELECT coalesce(state, 'unknown') AS state, count(*)::int AS n,
              max(EXTRACT(EPOCH FROM now() - state_change))::float8 AS oldest_s
         FROM pg_stat_activity WHERE backend_type = 'client backend'
        GROUP BY 1 ORDER BY 2 DESC, 1`,
    );
    const stuck = rows.find((r) => r.state === 'idle in transaction');
    // Sessions idle inside a transaction hold locks and snapshots: worth a look past a minute.
    const status: Status = stuck && (stuck.oldest_s ?? 0) > 60 ? 'warn' : 'ok';
    return {
      check: this.title,
      status,
      summary: rows.length ? rows.map((r) => `${r.state} ${r.n}`).join(', ') : 'no client connection',
      details: stuck
        ? [`${plural(stuck.n, 'session')} idle in transaction, the longest for ${Math.round(stuck.oldest_s ?? 0)}s`]
        : undefined,
    };
  },
};

const byClient: Check = {
  id: 'client',
  title: 'By application and user',
  async run({ targets }): Promise<Finding> {
    const rows = await targets.db.query<{
      application_name: string;
      usename: string | null;
      datname: string | null;
      n: number;
      active: number;
    }>(
      `SELECT coalesce(nullif(application_name, ''), '(no application name)') AS application_name, usename, datname,
              count(*)::int AS n, (count(*) FILTER (WHERE state = 'active'))::int AS active
         FROM pg_stat_activity WHERE backend_type = 'client backend'
        GROUP BY 1, 2, 3 ORDER BY 4 DESC, 1 LIMIT 50`,
    );
    const top = rows[0];
    return {
      check: this.title,
      status: 'ok',
      summary: top
        ? `${plural(rows.length, 'client group')}; the largest: ${top.application_name} as ${top.usename ?? '?'} with ${top.n}`
        : 'no client connection',
      details: rows.map(
        (r) =>
          `${r.n} (${r.active} active)  ${r.application_name}  user ${r.usename ?? '?'}  database ${r.datname ?? '?'}`,
      ),
    };
  },
};

export const dbConnections: Procedure = {
  id: 'db-connections',
  words: ['db', 'connections'],
  title: 'Database connections',
  section: 'Health Checks › Database Health (active connections)',
  group: 'Health',
  summary: 'connections in use against max_connections, by state and by application and user',
  dashboard: '/grafana/d/db',
  checks: [usage, byState, byClient],
  remedies: [],
};
