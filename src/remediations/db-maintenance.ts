// Runbook: Graph Queries Timeout › Resolution 1 and Maintenance Procedures › Database
// Maintenance — CREATE INDEX CONCURRENTLY, REINDEX INDEX CONCURRENTLY and VACUUM ANALYZE.
// They cannot run inside a transaction and take long, so each runs on a dedicated connection
// (application_name dmp-bot, its own statement_timeout = MAINTENANCE_TIMEOUT), one at a time
// per table (a session advisory lock, released with the connection if the bot dies), with
// progress in the thread: started, still running after each interval, finished with duration.
// Every statement is a constant chosen from an allow-list: no identifier comes from input.
import pg from 'pg';
import { z } from 'zod';
import { code, type RichText } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { classify, ErrorCode, NotConfigured, TargetError } from '../errors.js';
import { ConnectionLost, queryFailure } from '../pg-connection.js';
import { BOT_APPLICATION_NAME, GRAPH_INDEX, MAINTAINED_TABLES } from '../targets/platform-db.js';
import type { ActionContext, Outcome, ProgressStatus } from './types.js';
import { defineRemediation } from './types.js';

export type MaintainedTable = (typeof MAINTAINED_TABLES)[number];

const VACUUM: Record<MaintainedTable, string> = {
  nodes: 'VACUUM ANALYZE nodes',
  edges: 'VACUUM ANALYZE edges',
  scans: 'VACUUM ANALYZE scans',
};
const INDEX_NAME = GRAPH_INDEX;
const CREATE_INDEX = 'CREATE INDEX CONCURRENTLY IF NOT EXISTS idx_nodes_scan ON nodes (scan_id)';
const REINDEX = 'REINDEX INDEX CONCURRENTLY idx_nodes_scan';

/** First key of the advisory lock pair; the second is hashtext(table). */
const LOCK_CLASS = 72_836_110;

interface Step {
  table: MaintainedTable;
  sql: string;
}

function sleep(ms: number): { done: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { done, cancel: () => clearTimeout(timer) };
}

async function dedicatedClient(ctx: ActionContext): Promise<pg.Client> {
  const url = ctx.config.DMP_DATABASE_URL;
  if (!url) throw new NotConfigured('postgres', 'set DMP_DATABASE_URL to the platform database');
  const timeout = ctx.config.MAINTENANCE_TIMEOUT;
  const client = new pg.Client({
    connectionString: url,
    application_name: BOT_APPLICATION_NAME,
    statement_timeout: timeout,
    query_timeout: timeout + 5_000,
    connectionTimeoutMillis: 3_000,
  });
  client.on('error', (err) => ctx.log.warn({ err }, 'maintenance connection lost'));
  try {
    await client.connect();
  } catch (err) {
    throw TargetError.from('postgres', err);
  }
  return client;
}

/** Runs one statement, posting "still running" after each MAINTENANCE_PROGRESS_INTERVAL. */
async function runWithProgress(ctx: ActionContext, client: pg.Client, step: Step): Promise<number> {
  const started = ctx.now().getTime();
  const every = Math.max(100, ctx.config.MAINTENANCE_PROGRESS_INTERVAL);
  const work = client.query(step.sql).then(() => true as const);
  // Handled here so a failure while a progress post is in flight is not an unhandled rejection;
  // the race below still sees it.
  work.catch(() => undefined);
  for (;;) {
    const tick = sleep(every);
    try {
      const finished = await Promise.race([work, tick.done.then(() => false as const)]);
      if (finished) return ctx.now().getTime() - started;
    } finally {
      tick.cancel();
    }
    await ctx.progress({
      status: 'running',
      text: [code(step.sql), ` still running after ${formatDuration(ctx.now().getTime() - started)}`],
    });
  }
}

export async function runMaintenance(ctx: ActionContext, steps: Step[]): Promise<Outcome> {
  const client = await dedicatedClient(ctx);
  const lines: RichText[] = [];
  let failures = 0;
  // Each step's line goes in the thread as it happens and in the outcome's details at the end.
  const line = async (status: ProgressStatus, text: RichText) => {
    lines.push(text);
    await ctx.progress({ status, text });
  };
  try {
    for (const step of steps) {
      const [lock] = (
        await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [
          LOCK_CLASS,
          step.table,
        ])
      ).rows;
      if (!lock?.ok) {
        failures += 1;
        await line('not_started', [
          code(step.sql),
          `: not started — another maintenance is running on ${step.table}; try again when it has finished`,
        ]);
        continue;
      }
      try {
        await ctx.progress({
          status: 'started',
          text: [code(step.sql), ` started (bound: ${formatDuration(ctx.config.MAINTENANCE_TIMEOUT)})`],
        });
        const ms = await runWithProgress(ctx, client, step);
        await line('done', [code(step.sql), `: finished in ${formatDuration(ms)}`]);
      } catch (err) {
        failures += 1;
        const lost = queryFailure('postgres', err);
        if (lost instanceof ConnectionLost) {
          // The session is gone: the later steps would only fail on it too.
          await line('failed', [code(step.sql), `: ${lost.sentence()}; the steps after it were not started`]);
          break;
        }
        const e = err as { message?: string; code?: string };
        const hint = step.sql.includes('CONCURRENTLY')
          ? ' (a concurrent index build that fails can leave an INVALID index behind; check before retrying)'
          : '';
        const timedOut = classify(err) === ErrorCode.TargetTimeout; // 57014: statement_timeout, the bound
        await line('failed', [
          code(step.sql),
          `: ${timedOut ? `stopped at the ${formatDuration(ctx.config.MAINTENANCE_TIMEOUT)} bound` : `failed: ${e.message ?? String(err)}`}${hint}`,
        ]);
      } finally {
        await client
          .query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, step.table])
          .catch(() => undefined);
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return {
    ok: failures === 0,
    summary:
      failures === 0
        ? `database maintenance finished: ${steps.map((s) => s.sql).join('; ')}`
        : `database maintenance: ${failures} of ${steps.length} step${steps.length === 1 ? '' : 's'} did not complete`,
    details: lines,
  };
}

interface IndexState {
  exists: boolean;
  valid: boolean;
  size?: string;
}

async function indexState(ctx: ActionContext): Promise<IndexState> {
  const rows = await ctx.targets.db.query<{ valid: boolean; size: string }>(
    `SELECT i.indisvalid AS valid, pg_size_pretty(pg_relation_size(i.indexrelid)) AS size
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
      WHERE c.relname = $1 AND c.relnamespace = 'public'::regnamespace`,
    [INDEX_NAME],
  );
  const r = rows[0];
  return r ? { exists: true, valid: r.valid, size: r.size } : { exists: false, valid: false };
}

async function tableFacts(ctx: ActionContext, tables: readonly MaintainedTable[]): Promise<string[]> {
  const rows = await ctx.targets.db.query<{
    relname: string;
    live: string;
    dead: string;
    size: string;
    last_vacuum: Date | null;
    last_autovacuum: Date | null;
    last_analyze: Date | null;
  }>(
    `SELECT relname, n_live_tup AS live, n_dead_tup AS dead, pg_size_pretty(pg_total_relation_size(relid)) AS size,
            last_vacuum, last_autovacuum, COALESCE(last_analyze, last_autoanalyze) AS last_analyze
       FROM pg_stat_user_tables WHERE schemaname = 'public' AND relname = ANY($1::text[]) ORDER BY relname`,
    [tables],
  );
  const when = (d: Date | null) => (d ? new Date(d).toISOString().replace('T', ' ').slice(0, 16) : 'never');
  return rows.map(
    (r) =>
      `${r.relname}: ${r.size}, ${r.live} live rows, ${r.dead} dead, last vacuum ${when(r.last_vacuum ?? r.last_autovacuum)}, last analyze ${when(r.last_analyze)}`,
  );
}

export const createIndex = defineRemediation({
  id: 'create-index',
  title: 'Create the missing idx_nodes_scan',
  section: 'Common Issues › Graph Queries Timeout › Resolution 1',
  risk: 'medium',
  schema: z.object({}),
  riskKeys: () => ['create-index'],
  label: () => `Create ${INDEX_NAME}`,
  async preview(ctx) {
    const [state, facts] = await Promise.all([indexState(ctx), tableFacts(ctx, ['nodes'])]);
    const details = [...facts, 'Runs outside a transaction on a dedicated connection; progress follows in the thread.'];
    if (state.exists && state.valid)
      return {
        summary: `${INDEX_NAME} already exists (${state.size})`,
        details,
        nothingToDo: `${INDEX_NAME} already exists and is valid.`,
      };
    if (state.exists) {
      return {
        summary: `${INDEX_NAME} exists but is INVALID`,
        details,
        nothingToDo: [
          `${INDEX_NAME} exists but is INVALID (a failed concurrent build): rebuild it with `,
          code('/dmp db reindex'),
          '.',
        ],
      };
    }
    return { summary: [`create ${INDEX_NAME}: `, code(CREATE_INDEX)], details };
  },
  execute: (ctx) => runMaintenance(ctx, [{ table: 'nodes', sql: CREATE_INDEX }]),
});

export const reindex = defineRemediation({
  id: 'reindex',
  title: 'Rebuild idx_nodes_scan',
  section: 'Maintenance Procedures › Database Maintenance',
  risk: 'medium',
  schema: z.object({}),
  riskKeys: () => ['reindex'],
  label: () => `Reindex ${INDEX_NAME}`,
  async preview(ctx) {
    const state = await indexState(ctx);
    if (!state.exists)
      return {
        summary: `${INDEX_NAME} does not exist`,
        nothingToDo: [`${INDEX_NAME} does not exist: create it with `, code('/dmp db index'), '.'],
      };
    return {
      summary: [`rebuild ${INDEX_NAME} (${state.size}${state.valid ? '' : ', INVALID now'}): `, code(REINDEX)],
      details: ['Runs outside a transaction on a dedicated connection; progress follows in the thread.'],
    };
  },
  execute: (ctx) => runMaintenance(ctx, [{ table: 'nodes', sql: REINDEX }]),
});

const vacuumSchema = z.object({
  table: z.enum(MAINTAINED_TABLES, { message: 'the table must be nodes, edges or scans' }).optional(),
});

export const vacuumAnalyze = defineRemediation({
  id: 'vacuum-analyze',
  title: 'VACUUM ANALYZE',
  section: 'Maintenance Procedures › Database Maintenance',
  risk: 'medium',
  schema: vacuumSchema,
  riskKeys: (p) => ['vacuum-analyze', `vacuum-analyze:${p.table ?? 'all'}`],
  label: (p) => `VACUUM ANALYZE ${p.table ?? MAINTAINED_TABLES.join(', ')}`,
  async preview(ctx, p) {
    const tables = p.table ? [p.table] : MAINTAINED_TABLES;
    const facts = await tableFacts(ctx, tables);
    return {
      summary: tables.flatMap((t, i): RichText => (i ? [', then ', code(VACUUM[t])] : [code(VACUUM[t])])),
      details: [...facts, 'One table at a time, outside a transaction; progress follows in the thread.'],
    };
  },
  execute: (ctx, p) =>
    runMaintenance(
      ctx,
      (p.table ? [p.table] : [...MAINTAINED_TABLES]).map((t) => ({ table: t, sql: VACUUM[t] })),
    ),
});
