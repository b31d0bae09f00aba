// Runbook: High Database CPU › Resolution 1 — terminate long-running queries. The preview lists
// the backends that match (not idle, started more than N minutes ago, in the platform database,
// excluding the bot's own connections and replication), the operator terminates all or the ones
// picked, and each pg_terminate_backend result is reported. Each pid is checked again at the
// moment it is terminated, so a pid reused by a new backend is left alone.
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { UserError } from '../errors.js';
import { BOT_APPLICATION_NAME } from '../targets/platform-db.js';
import type { ActionContext } from './types.js';
import { defineRemediation } from './types.js';

const MAX_LISTED = 50;
/** Slack's checkboxes take at most 10 options. */
const MAX_CHOICES = 10;
const BOT_NAMES = [BOT_APPLICATION_NAME, `${BOT_APPLICATION_NAME}-store`];

const pid = z.coerce.number().int().positive();

// Diagnosis buttons (db slow, db locks) name the threshold olderThanMinutes.
const withAlias = (raw: unknown): unknown =>
  raw && typeof raw === 'object' && 'olderThanMinutes' in raw && !('minutes' in raw)
    ? { ...raw, minutes: (raw as { olderThanMinutes: unknown }).olderThanMinutes }
    : raw;

const fields = z.object({
  minutes: z.coerce.number().int('minutes must be a whole number').min(0).max(1440).default(5),
  /** The backends the preview listed (pinned). */
  pids: z.array(pid).max(MAX_LISTED).optional(),
  /** The ones the operator picked; absent means all listed. */
  selected: z.array(pid).max(MAX_LISTED).optional(),
});
const schema = z.preprocess(withAlias, fields);
type P = z.infer<typeof fields>;

// The same criteria for the preview and for each termination, so nothing outside them is touched.
// A constant: every value in it ($1 minutes, $2 the bot's names) is a parameter.
const CRITERIA = `datname = current_database()
     AND pid <> pg_backend_pid()
     AND backend_type = 'client backend'
     AND state IS NOT NULL AND state <> 'idle'
     AND COALESCE(application_name, '') <> ALL($2::text[])
     AND query_start < now() - make_interval(mins => $1::int)`;

interface Backend {
  pid: number;
  usename: string | null;
  application_name: string | null;
  state: string;
  secs: number;
  query: string;
}

export async function longRunning(ctx: Pick<ActionContext, 'targets'>, minutes: number): Promise<Backend[]> {
  const rows = await ctx.targets.db.query<Backend>(
    `SELECT pid, usename, application_name, state,
            EXTRACT(EPOCH FROM (now() - query_start))::float8 AS secs,
            left(regexp_replace(query, '\\s+', ' ', 'g'), 160) AS query
       FROM pg_stat_activity
      WHERE ${CRITERIA}
      ORDER BY query_start
      LIMIT $3`,
    [minutes, BOT_NAMES, MAX_LISTED],
  );
  return rows.map((r) => ({ ...r, pid: Number(r.pid), secs: Number(r.secs) }));
}

function line(b: Backend): string {
  return `pid ${b.pid} · ${b.usename ?? '?'}${b.application_name ? ` (${b.application_name})` : ''} · ${formatDuration(b.secs * 1000)} · ${b.state} · ${b.query}`;
}

/**
 * The backends an execution would terminate: the ones picked among those the preview listed, or
 * all listed when none is picked. A pid the preview did not list is never a target.
 */
function targetsOf(p: P): number[] {
  const listed = p.pids ?? [];
  if (!p.selected || p.selected.length === 0) return listed;
  return listed.filter((x) => p.selected?.includes(x));
}

/**
 * Judged by effect: terminating every listed backend is the blanket kill (the high-risk case),
 * however it was asked for — no pick, every box ticked, or every pid named.
 */
function isAll(p: P): boolean {
  const listed = p.pids ?? [];
  const targets = targetsOf(p);
  return targets.length === listed.length;
}

export const terminateQueries = defineRemediation({
  id: 'terminate-queries',
  title: 'Terminate long-running queries',
  section: 'Common Issues › High Database CPU › Resolution 1',
  risk: 'high',
  schema,
  riskKeys: (p) => ['terminate-queries', isAll(p) ? 'terminate-queries:all' : 'terminate-queries:some'],
  label: (p) => `Terminate queries running longer than ${p.minutes} min`,
  async preview(ctx, p) {
    const backends = await longRunning(ctx, p.minutes);
    const pids = backends.map((b) => b.pid);
    const criteria = `not idle, started more than ${p.minutes} minute${p.minutes === 1 ? '' : 's'} ago, excluding the bot's own connections and replication`;
    if (!backends.length)
      return {
        summary: `no backend matches (${criteria})`,
        nothingToDo: `No query has been running for more than ${p.minutes} minutes.`,
      };
    const preselected = p.selected?.filter((x) => pids.includes(x));
    if (p.selected?.length && !preselected?.length)
      throw new UserError(
        `None of the pids named (${p.selected.join(', ')}) is running a matching query; nothing was changed.`,
      );
    return {
      summary: `${backends.length} backend${backends.length === 1 ? '' : 's'} match (${criteria}): pid${backends.length === 1 ? '' : 's'} ${pids.join(', ')}`,
      details: [...backends.map(line), 'Confirm terminates the ones ticked, or all of them when none is ticked.'],
      choices: backends.slice(0, MAX_CHOICES).map((b) => ({
        value: String(b.pid),
        label: `pid ${b.pid} · ${b.usename ?? '?'} · ${formatDuration(b.secs * 1000)}`,
      })),
      pinned: { pids, ...(preselected ? { selected: preselected } : {}) },
    };
  },
  select(p, values) {
    const listed = p.pids ?? [];
    const picked = values.map(Number).filter((x) => listed.includes(x));
    return { ...p, selected: picked };
  },
  async execute(ctx, p) {
    const targets = targetsOf(p);
    const lines: string[] = [];
    let terminated = 0;
    let failed = 0;
    for (const target of targets) {
      try {
        // One pid at a time: a refusal for one (a superuser's backend) must not hide the others.
        const rows = await ctx.targets.db.query<{ pid: number; terminated: boolean }>(
          `SELECT pid, pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE pid = $3 AND ${CRITERIA}`,
          [p.minutes, BOT_NAMES, target],
        );
        const row = rows[0];
        if (!row) lines.push(`pid ${target}: no longer running a matching query; left alone`);
        else if (row.terminated) {
          terminated += 1;
          lines.push(`pid ${target}: terminated`);
        } else {
          failed += 1;
          lines.push(`pid ${target}: pg_terminate_backend returned false`);
        }
      } catch (err) {
        failed += 1;
        lines.push(`pid ${target}: not terminated: ${(err as Error).message}`);
      }
    }
    return {
      ok: failed === 0,
      summary: `terminated ${terminated} of ${targets.length} backend${targets.length === 1 ? '' : 's'}${failed ? `; ${failed} could not be terminated` : ''}`,
      details: lines,
    };
  },
});
