// Runbook: Common Issues › High Database CPU › Diagnosis, "Check for locks": who waits on whom.
// pg_blocking_pids() gives the real blocker of each waiting backend, which the runbook's
// pg_locks join (matched on locktype alone) only approximates.
import { formatDuration } from '../duration.js';
import { HIGH_DB_CPU_GUIDANCE, KILL_LONG_QUERIES, LONG_QUERY_MINUTES, terminateQueriesStep } from './db-slow.js';
import { oneLine, plural, scrubSql } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure } from './types.js';

/** A wait longer than this is an outage in the making, not a blip. */
export const LONG_WAIT_S = 60;

interface BlockRow {
  blocked_pid: number;
  blocked_user: string | null;
  blocked_app: string | null;
  blocked_query: string | null;
  waiting_s: number | null;
  wants: string | null;
  blocking_pid: number;
  blocking_user: string | null;
  blocking_app: string | null;
  blocking_state: string | null;
  blocking_query: string | null;
  blocking_query_s: number | null;
  blocking_xact_s: number | null;
}

const blocked: Check = {
  id: 'blocked',
  title: 'Blocked queries',
  async run({ targets }): Promise<Finding[]> {
    const rows = await targets.db.query<BlockRow>(
      `SELECT a.pid AS blocked_pid, a.usename AS blocked_user, a.application_name AS blocked_app,
              left(a.query, 400) AS blocked_query,
              EXTRACT(EPOCH FROM now() - a.query_start)::float8 AS waiting_s,
              (SELECT l.mode || ' on ' || coalesce(l.relation::regclass::text, l.locktype)
                 FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1) AS wants,
              b.pid AS blocking_pid, b.usename AS blocking_user, b.application_name AS blocking_app,
              b.state AS blocking_state, left(b.query, 400) AS blocking_query,
              EXTRACT(EPOCH FROM now() - b.query_start)::float8 AS blocking_query_s,
              EXTRACT(EPOCH FROM now() - b.xact_start)::float8 AS blocking_xact_s
         FROM pg_stat_activity a
         CROSS JOIN LATERAL unnest(pg_blocking_pids(a.pid)) AS bp(pid)
         JOIN pg_stat_activity b ON b.pid = bp.pid
        WHERE a.datname = current_database()
        ORDER BY waiting_s DESC NULLS LAST, a.pid, b.pid
        LIMIT 100`,
    );
    if (rows.length === 0) {
      return [
        {
          check: this.title,
          status: 'ok',
          summary: 'no query is waiting on a lock',
          facts: { blocked: 0, blockers: 0, oldBlockers: 0 },
        },
      ];
    }
    const waiting = [...new Set(rows.map((r) => r.blocked_pid))];
    const blockers = new Map<number, BlockRow>();
    for (const r of rows) if (!blockers.has(r.blocking_pid)) blockers.set(r.blocking_pid, r);
    // Root blockers hold locks without waiting themselves: ending them frees the whole chain.
    const roots = [...blockers.keys()].filter((pid) => !waiting.includes(pid));
    const longest = Math.max(...rows.map((r) => r.waiting_s ?? 0));
    const oldBlockers = [...blockers.values()].filter((b) => (b.blocking_query_s ?? 0) > LONG_QUERY_MINUTES * 60);

    const pairs: Finding = {
      check: this.title,
      status: longest > LONG_WAIT_S ? 'critical' : 'warn',
      summary: `${plural(waiting.length, 'backend')} waiting on locks held by ${plural(blockers.size, 'other')} (pid ${[...blockers.keys()].join(', ')}); the longest wait ${formatDuration(longest * 1000)}`,
      details: rows.map(
        (r) =>
          `pid ${r.blocked_pid} (${who(r.blocked_user, r.blocked_app)}) has waited ${formatDuration((r.waiting_s ?? 0) * 1000)}${r.wants ? ` for ${r.wants}` : ''}, blocked by pid ${r.blocking_pid}: ${oneLine(scrubSql(r.blocked_query ?? ''), 140)}`,
      ),
      facts: {
        blocked: waiting.length,
        blockers: blockers.size,
        oldBlockers: oldBlockers.length,
        blockedPids: waiting.map(String),
        blockingPids: [...blockers.keys()].map(String),
      },
    };
    const holders: Finding = {
      check: 'Blocking sessions',
      status: pairs.status,
      summary: roots.length
        ? `root blocker${roots.length === 1 ? '' : 's'}: pid ${roots.join(', ')}`
        : `pid ${[...blockers.keys()].join(', ')} (a cycle: PostgreSQL's deadlock detector should end it)`,
      details: [...blockers.values()].map(
        (b) =>
          `pid ${b.blocking_pid} (${who(b.blocking_user, b.blocking_app)}) ${b.blocking_state ?? '?'}, transaction open ${formatDuration((b.blocking_xact_s ?? 0) * 1000)}, holding up ${plural(rows.filter((r) => r.blocking_pid === b.blocking_pid).length, 'backend')}: ${oneLine(scrubSql(b.blocking_query ?? ''), 140)}`,
      ),
    };
    return [pairs, holders];
  },
};

function who(user: string | null, app: string | null): string {
  return `${user ?? '?'}${app ? `, ${app}` : ''}`;
}

export function adviseDbLocks(findings: Finding[]): NextStep[] {
  const old = Number(factsOf(findings, blocked.title)?.oldBlockers ?? 0);
  if (old === 0) return [];
  return [
    terminateQueriesStep(
      `${plural(old, 'blocking session has', 'blocking sessions have')} been in their query for over ${LONG_QUERY_MINUTES} minutes: kill long-running queries`,
    ),
  ];
}

export const dbLocks: Procedure = {
  id: 'db-locks',
  words: ['db', 'locks'],
  title: 'Database locks',
  section: 'Common Issues › High Database CPU › Diagnosis (locks)',
  group: 'Diagnosis',
  summary: 'blocked and blocking pids with their queries, the lock waited for and how long',
  dashboard: '/grafana/d/db',
  checks: [blocked],
  guidance: HIGH_DB_CPU_GUIDANCE,
  remedies: [KILL_LONG_QUERIES],
  advise: adviseDbLocks,
};
