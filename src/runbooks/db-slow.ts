// Runbook: Common Issues › High Database CPU › Diagnosis, "Find slow queries": the non-idle
// backends of the platform database, oldest query first, flagging those past five minutes.
import { formatDuration } from '../duration.js';
import { oneLine, plural, scrubSql } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure } from './types.js';

export const LONG_QUERY_MINUTES = 5;

/** High Database CPU's resolutions, shared by `db slow` and `db locks`. */
export const HIGH_DB_CPU_GUIDANCE = [
  'Scale read replicas for read-heavy loads',
  'Enable query caching: check the Redis cache hit rate (/dmp cache stats)',
];
export const KILL_LONG_QUERIES = {
  id: 'terminate-queries',
  title: 'Kill long-running queries',
  risk: 'high',
  section: 'High Database CPU › Resolution 1',
} as const;

/** The "kill long-running queries" next step, with why it fits. */
export function terminateQueriesStep(reason: string): NextStep {
  return {
    remedy: KILL_LONG_QUERIES.id,
    label: `Terminate queries over ${LONG_QUERY_MINUTES} min`,
    reason,
    params: { olderThanMinutes: LONG_QUERY_MINUTES },
  };
}
const SHOWN = 10;

interface ActivityRow {
  pid: number;
  usename: string | null;
  application_name: string | null;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
  seconds: number | null;
  query: string | null;
}

const activeQueries: Check = {
  id: 'active',
  title: 'Active queries',
  async run({ targets }): Promise<Finding> {
    // The runbook's query, limited to the platform's database and without the bot's own backend.
    const rows = await targets.db.query<ActivityRow>(
      `SELECT pid, usename, application_name, state, wait_event_type, wait_event,
              EXTRACT(EPOCH FROM now() - query_start)::float8 AS seconds, left(query, 400) AS query
         FROM pg_stat_activity
        WHERE state IS NOT NULL AND state <> 'idle' AND pid <> pg_backend_pid()
          AND datname = current_database()
        ORDER BY query_start NULLS LAST
        LIMIT 200`,
    );
    const long = rows.filter((r) => (r.seconds ?? 0) > LONG_QUERY_MINUTES * 60);
    const details = rows.slice(0, SHOWN).map((r) => {
      const secs = r.seconds ?? 0;
      const wait = r.wait_event_type ? `, waiting on ${r.wait_event_type}/${r.wait_event ?? '?'}` : '';
      const flag = secs > LONG_QUERY_MINUTES * 60 ? ' [over 5 minutes]' : '';
      return `pid ${r.pid}  ${r.usename ?? '?'}${r.application_name ? ` (${r.application_name})` : ''}  ${r.state}${wait}  ${formatDuration(secs * 1000)}${flag}: ${oneLine(scrubSql(r.query ?? ''), 160)}`;
    });
    if (rows.length > SHOWN) details.push(`…and ${plural(rows.length - SHOWN, 'more query', 'more queries')}`);
    const summary =
      rows.length === 0
        ? 'no query running besides this check'
        : `${plural(rows.length, 'non-idle backend')}, ${long.length} running for over ${LONG_QUERY_MINUTES} minutes${rows[0]?.seconds ? `; the oldest for ${formatDuration((rows[0].seconds ?? 0) * 1000)}` : ''}`;
    return {
      check: this.title,
      status: long.length ? 'warn' : 'ok',
      summary,
      details,
      facts: { active: rows.length, long: long.length, longPids: long.map((r) => String(r.pid)) },
    };
  },
};

export function adviseDbSlow(findings: Finding[]): NextStep[] {
  const long = Number(factsOf(findings, activeQueries.title)?.long ?? 0);
  if (long === 0) return [];
  return [
    terminateQueriesStep(
      `${plural(long, 'query has', 'queries have')} run for over ${LONG_QUERY_MINUTES} minutes: kill long-running queries (pg_terminate_backend)`,
    ),
  ];
}

export const dbSlow: Procedure = {
  id: 'db-slow',
  words: ['db', 'slow'],
  title: 'Slow database queries',
  section: 'Common Issues › High Database CPU › Diagnosis (slow queries)',
  group: 'Diagnosis',
  summary: 'non-idle queries oldest first (pid, user, state, wait event, duration), those over 5 minutes flagged',
  dashboard: '/grafana/d/db',
  checks: [activeQueries],
  guidance: HIGH_DB_CPU_GUIDANCE,
  remedies: [KILL_LONG_QUERIES],
  advise: adviseDbSlow,
};
