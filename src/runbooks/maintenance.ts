// Runbook: Maintenance Procedures (Database, Cache, Log Rotation): when nodes, edges and scans
// were last vacuumed and analysed and how many dead rows they carry, the state of
// idx_nodes_scan, Redis memory and the pods' /var/log; VACUUM ANALYZE, REINDEX and a forced
// log rotation are offered where they fit.
import { formatDuration } from '../duration.js';
import { DF_COMMAND, execInPod } from '../targets/kube-exec.js';
import { listAppPods, PLATFORM_APPS } from '../targets/kube-reads.js';
import { GRAPH_INDEX, MAINTAINED_TABLES } from '../targets/platform-db.js';
import { cacheChecks } from './cache-stats.js';
import { plural } from './lines.js';
import type { Check, Finding, NextStep, Procedure, Status } from './types.js';

/** The remediation a full /var/log is answered with (src/remediations/rotate-logs.ts). */
const ROTATE_LOGS = 'rotate-logs';

/** The runbook vacuums weekly. */
export const VACUUM_EVERY_MS = 7 * 24 * 60 * 60_000;
export const DEAD_RATIO_WARN = 0.2;
export const DEAD_ROWS_MIN = 1_000;
/** A table this small never vacuumed is just new. */
const NEVER_VACUUMED_ROWS = 10_000;
/** pgstatindex: below this leaf density (percent) the index is fragmented. */
export const LEAF_DENSITY_WARN = 50;
export const LOG_VOLUME_WARN = 80;
export const LOG_VOLUME_CRITICAL = 90;

interface TableRow {
  relname: string;
  live: number;
  dead: number;
  last_vacuum: Date | null;
  last_analyze: Date | null;
  size: string;
}

const tables: Check = {
  id: 'tables',
  title: 'Tables',
  async run({ targets, now }): Promise<Finding[]> {
    const rows = await targets.db.query<TableRow>(
      `SELECT relname, n_live_tup::float8 AS live, n_dead_tup::float8 AS dead,
              greatest(last_vacuum, last_autovacuum) AS last_vacuum,
              greatest(last_analyze, last_autoanalyze) AS last_analyze,
              pg_size_pretty(pg_total_relation_size(relid)) AS size
         FROM pg_stat_user_tables
        WHERE relname = ANY ($1) AND schemaname = ANY (current_schemas(false))
        ORDER BY array_position($1, relname::text)`,
      [[...MAINTAINED_TABLES]],
    );
    const ago = (d: Date | null): string =>
      d ? `${formatDuration(now.getTime() - new Date(d).getTime())} ago` : 'never';
    return MAINTAINED_TABLES.map((name): Finding => {
      const r = rows.find((x) => x.relname === name);
      if (!r) return { check: `Table ${name}`, status: 'unknown', summary: 'not found in this database' };
      const total = r.live + r.dead;
      const ratio = total ? r.dead / total : 0;
      const bloated = r.dead >= DEAD_ROWS_MIN && ratio >= DEAD_RATIO_WARN;
      const vacuumAge = r.last_vacuum ? now.getTime() - new Date(r.last_vacuum).getTime() : undefined;
      const overdue = vacuumAge === undefined ? total >= NEVER_VACUUMED_ROWS : vacuumAge > VACUUM_EVERY_MS;
      const status: Status = bloated || overdue ? 'warn' : 'ok';
      const why = [bloated ? `${Math.round(ratio * 100)}% dead rows` : '', overdue ? 'not vacuumed this week' : '']
        .filter(Boolean)
        .join(', ');
      return {
        check: `Table ${name}`,
        status,
        summary: `${Math.round(r.live)} live, ${Math.round(r.dead)} dead rows (${Math.round(ratio * 100)}%), ${r.size}; vacuumed ${ago(r.last_vacuum)}, analysed ${ago(r.last_analyze)}${why ? `: ${why}` : ''}`,
        facts: { table: name, needsVacuum: status === 'warn', why },
      };
    });
  },
};

const graphIndex: Check = {
  id: 'index',
  title: `Index ${GRAPH_INDEX}`,
  async run({ targets }): Promise<Finding> {
    const [row] = await targets.db.query<{ valid: boolean; size: string; scans: number | null; pgstattuple: boolean }>(
      `SELECT x.indisvalid AS valid, pg_size_pretty(pg_relation_size(c.oid)) AS size, s.idx_scan::float8 AS scans,
              EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgstattuple') AS pgstattuple
         FROM pg_class c
         JOIN pg_index x ON x.indexrelid = c.oid
         LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = c.oid
        WHERE c.relname = $1 AND c.relnamespace = ANY (SELECT oid FROM pg_namespace WHERE nspname = ANY (current_schemas(false)))
        LIMIT 1`,
      [GRAPH_INDEX],
    );
    if (!row)
      return {
        check: this.title,
        status: 'warn',
        summary: 'missing (see /dmp graph timeout)',
        facts: { reindex: false },
      };
    if (!row.valid)
      return {
        check: this.title,
        status: 'critical',
        summary: `invalid, ${row.size}: rebuild it`,
        facts: { reindex: true },
      };
    let density: number | undefined;
    if (row.pgstattuple) {
      const [stat] = await targets.db.query<{ avg_leaf_density: number }>(
        `SELECT avg_leaf_density::float8 AS avg_leaf_density FROM pgstatindex($1)`,
        [GRAPH_INDEX],
      );
      density = stat?.avg_leaf_density;
    }
    const fragmented = density !== undefined && !Number.isNaN(density) && density < LEAF_DENSITY_WARN;
    return {
      check: this.title,
      status: fragmented ? 'warn' : 'ok',
      summary: `${row.size}, used by ${plural(Math.round(row.scans ?? 0), 'scan')}; ${density === undefined ? 'fragmentation unknown (the pgstattuple extension is not installed)' : `leaf density ${density.toFixed(0)}%${fragmented ? ': fragmented' : ''}`}`,
      facts: { reindex: fragmented },
    };
  },
};

/** The Use% column of `df -h /var/log`. */
export function usePercent(dfOutput: string): number | undefined {
  const row = dfOutput.split('\n').find((l) => /\s\d+%\s/.test(`${l} `));
  const m = row ? /\s(\d+)%\s/.exec(`${row} `) : null;
  return m ? Number(m[1]) : undefined;
}

const logVolumes: Check = {
  id: 'logs',
  title: 'Log volumes',
  async run({ targets }): Promise<Finding> {
    const pods = (await Promise.all(PLATFORM_APPS.map((app) => listAppPods(targets.kube, app))))
      .flat()
      .filter((p) => p.phase === 'Running');
    const results = await Promise.all(
      pods.map(async (p) => {
        try {
          const r = await targets.kube.run((apis) =>
            execInPod(apis, p.name, p.defaultContainer ?? p.containers[0] ?? '', DF_COMMAND),
          );
          return {
            pod: p.name,
            use: r.exitCode === 0 ? usePercent(r.stdout) : undefined,
            error: r.exitCode === 0 ? undefined : (r.stderr.trim() || `exit ${r.exitCode}`).slice(0, 160),
          };
        } catch (err) {
          return { pod: p.name, use: undefined, error: String((err as Error)?.message ?? err).slice(0, 160) };
        }
      }),
    );
    if (results.length === 0)
      return {
        check: this.title,
        status: 'unknown',
        summary: `no running pods of ${PLATFORM_APPS.join(' or ')}`,
        facts: { full: [] },
      };
    const known = results.filter((r) => r.use !== undefined).sort((a, b) => (b.use ?? 0) - (a.use ?? 0));
    const full = known.filter((r) => (r.use ?? 0) >= LOG_VOLUME_WARN);
    const top = known[0];
    const status: Status = known.some((r) => (r.use ?? 0) >= LOG_VOLUME_CRITICAL)
      ? 'critical'
      : full.length
        ? 'warn'
        : known.length < results.length
          ? 'unknown'
          : 'ok';
    return {
      check: this.title,
      status,
      summary: top
        ? `/var/log at most ${top.use}% full (${top.pod})${full.length ? `; ${plural(full.length, 'pod')} at ${LOG_VOLUME_WARN}% or more` : ''}${known.length < results.length ? `; ${results.length - known.length} unreadable` : ''}`
        : `df failed in every pod: ${results[0]?.error ?? '?'}`,
      details: results.map((r) => `${r.pod}  ${r.use !== undefined ? `${r.use}%` : `unknown: ${r.error}`}`),
      facts: { full: full.map((r) => r.pod) },
    };
  },
};

export function adviseMaintenance(findings: Finding[]): NextStep[] {
  const steps: NextStep[] = [];
  for (const f of findings) {
    if (f.facts?.needsVacuum) {
      const table = String(f.facts.table);
      steps.push({
        remedy: 'vacuum-analyze',
        label: `VACUUM ANALYZE ${table}`,
        reason: `${table}: ${String(f.facts.why)}: vacuum and analyse it (runbook: weekly)`,
        params: { table },
      });
    }
    if (f.check === graphIndex.title && f.facts?.reindex) {
      steps.push({
        remedy: 'reindex',
        label: `Reindex ${GRAPH_INDEX}`,
        reason: `${GRAPH_INDEX} is ${f.status === 'critical' ? 'invalid' : 'fragmented'}: REINDEX INDEX CONCURRENTLY ${GRAPH_INDEX}`,
        params: { index: GRAPH_INDEX },
      });
    }
    if (f.check === logVolumes.title) {
      for (const pod of ((f.facts?.full as string[] | undefined) ?? []).slice(0, 3)) {
        steps.push({
          remedy: ROTATE_LOGS,
          label: `Rotate logs in ${pod}`,
          reason: `/var/log in ${pod} is filling up: force a rotation (logrotate -f /etc/logrotate.conf)`,
          params: { pod },
        });
      }
    }
  }
  return steps;
}

export const maintenance: Procedure = {
  id: 'maintenance',
  words: ['maintenance'],
  title: 'Maintenance status',
  section: 'Maintenance Procedures (Database Maintenance, Cache Maintenance, Log Rotation)',
  group: 'Diagnosis',
  summary: 'dead rows and last vacuum of nodes, edges and scans, idx_nodes_scan, Redis memory, pods’ /var/log',
  dashboard: '/grafana/d/db',
  checks: [tables, graphIndex, cacheChecks.memory, logVolumes],
  remedies: [
    {
      id: 'vacuum-analyze',
      title: 'VACUUM ANALYZE a table',
      risk: 'low',
      section: 'Maintenance Procedures › Database Maintenance',
    },
    {
      id: 'reindex',
      title: 'Reindex idx_nodes_scan',
      risk: 'medium',
      section: 'Maintenance Procedures › Database Maintenance',
    },
    {
      id: ROTATE_LOGS,
      title: 'Force log rotation in a pod',
      risk: 'low',
      section: 'Maintenance Procedures › Log Rotation',
    },
  ],
  advise: adviseMaintenance,
};
