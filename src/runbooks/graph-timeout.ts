// Runbook: Common Issues › Graph Queries Timeout › Diagnosis: the biggest graphs, whether
// idx_nodes_scan exists, and for one scan the plan of its node query, run with EXPLAIN ANALYZE
// inside a read-only transaction that is rolled back.
import { z } from 'zod';
import { code } from '../domain/text.js';
import { UserError } from '../errors.js';
import { GRAPH_INDEX } from '../targets/platform-db.js';
import { headDetails, plural } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure, type Status } from './types.js';

/** Graphs this large want pagination (Resolution 3) whatever the index. */
export const LARGE_GRAPH_NODES = 100_000;
const SLOW_PLAN_MS = 1_000;
const PLAN_LINES = 10;

const uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

export function parseGraphArgs(args: string[]): { scanId?: string } {
  if (args.length === 0) return {};
  const [id, ...rest] = args;
  if (rest.length) throw new UserError([code('/dmp graph timeout [scan-id]'), ' takes at most one scan ID.']);
  const parsed = uuid.safeParse(id);
  if (!parsed.success) {
    const shown = (id ?? '').slice(0, 40);
    throw new UserError(`"${shown}" is not a scan ID: scan IDs are UUIDs like 6f1c1b7e-0000-4000-8000-000000000001.`);
  }
  return { scanId: parsed.data.toLowerCase() };
}

const biggest: Check = {
  id: 'biggest',
  title: 'Biggest graphs',
  async run({ targets }): Promise<Finding> {
    const rows = await targets.db.query<{ scan_id: string; nodes: number; name: string | null; status: string | null }>(
      `SELECT g.scan_id, g.nodes, r.name, s.status
         FROM (SELECT scan_id, COUNT(*)::int AS nodes FROM nodes GROUP BY scan_id ORDER BY nodes DESC LIMIT 10) g
         LEFT JOIN scans s ON s.id = g.scan_id
         LEFT JOIN repositories r ON r.id = s.repository_id
        ORDER BY g.nodes DESC, g.scan_id`,
    );
    const top = rows[0];
    if (!top) return { check: this.title, status: 'ok', summary: 'no graph stored yet', facts: { largest: 0 } };
    return {
      check: this.title,
      status: top.nodes >= LARGE_GRAPH_NODES ? 'warn' : 'ok',
      summary: `the largest: ${top.scan_id} with ${top.nodes} nodes${top.nodes >= LARGE_GRAPH_NODES ? ' (very large: paginate)' : ''}`,
      details: rows.map(
        (r) => `${r.scan_id}  ${r.nodes} nodes  ${r.name ?? '(no repository)'}${r.status ? `  ${r.status}` : ''}`,
      ),
      facts: { largest: top.nodes, largestScan: top.scan_id },
    };
  },
};

const index: Check = {
  id: 'index',
  title: 'Index idx_nodes_scan',
  async run({ targets }): Promise<Finding> {
    const [row] = await targets.db.query<{ indexdef: string; valid: boolean; size: string }>(
      `SELECT i.indexdef, x.indisvalid AS valid, pg_size_pretty(pg_relation_size(c.oid)) AS size
         FROM pg_indexes i
         JOIN pg_class c ON c.relname = i.indexname
         JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname
         JOIN pg_index x ON x.indexrelid = c.oid
        WHERE i.tablename = 'nodes' AND i.indexname = $1 AND i.schemaname = ANY (current_schemas(false))
        LIMIT 1`,
      [GRAPH_INDEX],
    );
    if (!row) {
      return {
        check: this.title,
        status: 'critical',
        summary: `missing: every graph query reads the whole nodes table`,
        facts: { missing: true, invalid: false },
      };
    }
    if (!row.valid) {
      return {
        check: this.title,
        status: 'critical',
        summary: `present but invalid (a CREATE INDEX CONCURRENTLY that failed): the planner ignores it`,
        details: [row.indexdef],
        facts: { missing: false, invalid: true },
      };
    }
    return {
      check: this.title,
      status: 'ok',
      summary: `present (${row.size})`,
      details: [row.indexdef],
      facts: { missing: false, invalid: false },
    };
  },
};

const plan: Check = {
  id: 'plan',
  title: 'Query plan',
  async run({ targets, args }): Promise<Finding> {
    const { scanId } = parseGraphArgs(args);
    if (!scanId)
      return {
        check: this.title,
        status: 'ok',
        summary: 'give a scan ID to see its plan: /dmp graph timeout <scan-id>',
      };
    // Leave the runner's deadline room to report a statement timeout as such.
    const timeoutMs = Math.max(500, targets.config.CHECK_DEADLINE - 500);
    const { exists, lines } = await targets.db.withClient(
      async (client) => {
        await client.query('BEGIN READ ONLY');
        try {
          await client.query(`SET LOCAL statement_timeout = ${Math.round(timeoutMs)}`);
          const found = await client.query<{ status: string }>('SELECT status FROM scans WHERE id = $1', [scanId]);
          const result = await client.query<{ 'QUERY PLAN': string }>(
            'EXPLAIN (ANALYZE, BUFFERS) SELECT * FROM nodes WHERE scan_id = $1',
            [scanId],
          );
          return { exists: found.rows.length > 0, lines: result.rows.map((r) => r['QUERY PLAN']) };
        } finally {
          await client.query('ROLLBACK').catch(() => undefined);
        }
      },
      { timeoutMs },
    );
    const text = lines.join('\n');
    const seq = /Seq Scan on nodes/.test(text);
    const execMs = Number(/Execution Time: ([\d.]+) ms/.exec(text)?.[1] ?? 0);
    const rows = Number(/\(actual time=[^)]*rows=(\d+)/.exec(text)?.[1] ?? 0);
    const status: Status = execMs > SLOW_PLAN_MS ? 'critical' : seq ? 'warn' : 'ok';
    const how = seq
      ? 'a sequential scan of nodes'
      : /Index (Only )?Scan|Bitmap/.test(text)
        ? 'an index scan'
        : 'a plan';
    return {
      check: this.title,
      status,
      summary: `${scanId}${exists ? '' : ' (no such scan)'}: ${how}, ${plural(rows, 'row')} in ${execMs.toFixed(1)} ms`,
      details: headDetails(lines, PLAN_LINES, 'in the attached plan'),
      attachment: { title: `EXPLAIN (ANALYZE, BUFFERS) for scan ${scanId}`, text },
      facts: { seqScan: seq, executionMs: execMs },
    };
  },
};

export function adviseGraph(findings: Finding[]): NextStep[] {
  const idx = factsOf(findings, index.title);
  if (idx?.missing) {
    return [
      {
        remedy: 'create-index',
        label: `Create ${GRAPH_INDEX}`,
        reason: `the index is missing: CREATE INDEX CONCURRENTLY IF NOT EXISTS ${GRAPH_INDEX} ON nodes(scan_id)`,
        params: { index: GRAPH_INDEX },
      },
    ];
  }
  if (idx?.invalid) {
    return [
      {
        remedy: 'reindex',
        label: `Reindex ${GRAPH_INDEX}`,
        reason: `the index is invalid: REINDEX INDEX CONCURRENTLY ${GRAPH_INDEX}`,
        params: { index: GRAPH_INDEX },
      },
    ];
  }
  return [];
}

export const graphTimeout: Procedure = {
  id: 'graph-timeout',
  words: ['graph', 'timeout'],
  usage: '[scan-id]',
  title: 'Graph queries timeout',
  section: 'Common Issues › Graph Queries Timeout',
  group: 'Diagnosis',
  summary: 'the 10 biggest graphs, whether idx_nodes_scan exists, and a scan’s EXPLAIN ANALYZE plan (read-only)',
  dashboard: '/grafana/d/db',
  validateArgs: (args) => void parseGraphArgs(args),
  checks: [biggest, index, plan],
  guidance: ['Enable query caching: make sure Redis is working', 'Implement pagination for very large graphs'],
  remedies: [
    {
      id: 'create-index',
      title: 'Create idx_nodes_scan',
      risk: 'medium',
      section: 'Graph Queries Timeout › Resolution 1',
    },
    {
      id: 'reindex',
      title: 'Reindex idx_nodes_scan',
      risk: 'medium',
      section: 'Maintenance Procedures › Database Maintenance',
    },
  ],
  advise: adviseGraph,
};
