// Follow-ups in the bot store: one row per action item of an incident, which is also the queue
// entry that files it as a GitHub issue (lane.ts) until `done_at` is set.
import type { Config } from '../config.js';
import type { Q } from '../incidents/store.js';
import type { Actor } from '../incidents/types.js';
import type { ActionItem } from './items.js';

export interface Followup {
  id: number;
  incidentId: string;
  title: string;
  repo: string;
  attempts: number;
  failed: boolean;
  error?: string;
  issueNumber?: number;
  issueUrl?: string;
  state?: 'open' | 'closed';
  stateAt?: Date;
  done: boolean;
  /** From the post-mortem's action items, or added from the incident's thread. */
  source: 'postmortem' | 'thread';
  addedBy?: Actor;
  owner?: Actor;
  /** `YYYY-MM-DD`. */
  dueOn?: string;
}

export interface FollowupRow {
  id: string;
  incident_id: string;
  title: string;
  repo: string;
  attempts: number;
  failed: boolean;
  error: string | null;
  issue_number: number | null;
  issue_url: string | null;
  state: string | null;
  state_at: Date | string | null;
  done_at: Date | string | null;
  source?: string | null;
  added_by?: Actor | null;
  owner?: Actor | null;
  due_on?: Date | string | null;
}

/** A `date` column as `YYYY-MM-DD` (node-postgres gives a local-midnight Date, PGlite a string or a Date). */
function dateOnly(v: Date | string): string {
  if (typeof v === 'string') return v.slice(0, 10);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${v.getFullYear()}-${pad(v.getMonth() + 1)}-${pad(v.getDate())}`;
}

export function followupFrom(r: FollowupRow): Followup {
  return {
    id: Number(r.id),
    incidentId: r.incident_id,
    title: r.title,
    repo: r.repo,
    attempts: r.attempts,
    failed: r.failed,
    ...(r.error ? { error: r.error } : {}),
    ...(r.issue_number !== null ? { issueNumber: r.issue_number } : {}),
    ...(r.issue_url ? { issueUrl: r.issue_url } : {}),
    ...(r.state === 'open' || r.state === 'closed' ? { state: r.state } : {}),
    ...(r.state_at ? { stateAt: new Date(r.state_at) } : {}),
    done: r.done_at !== null,
    source: r.source === 'thread' ? 'thread' : 'postmortem',
    ...(r.added_by ? { addedBy: r.added_by } : {}),
    ...(r.owner ? { owner: r.owner } : {}),
    ...(r.due_on ? { dueOn: dateOnly(r.due_on) } : {}),
  };
}

export function followupsConfigured(c: Pick<Config, 'GITHUB_TOKEN' | 'FOLLOWUP_REPO'>): boolean {
  return Boolean(c.GITHUB_TOKEN && c.FOLLOWUP_REPO);
}

/** Queues the items not yet known for this incident; returns how many are new. */
export async function queueFollowups(
  q: Q,
  incidentId: string,
  repo: string,
  items: ActionItem[],
  now: Date,
): Promise<number> {
  let added = 0;
  for (const item of items) {
    const rows = await q.query(
      `INSERT INTO incident_followups (incident_id, item_key, title, repo, not_before, created_at)
       VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (incident_id, item_key) DO NOTHING RETURNING id`,
      [incidentId, item.key, item.title, repo, now],
    );
    added += rows.length;
  }
  return added;
}

export interface ThreadFollowup {
  item: ActionItem;
  addedBy: Actor;
  owner?: Actor;
  dueOn?: string;
}

/**
 * Queues one follow-up added from the incident's thread; undefined when the incident already has
 * it (the same words, from the post-mortem or an earlier submission), so a retried or repeated
 * submission files one issue.
 */
export async function queueThreadFollowup(
  q: Q,
  incidentId: string,
  repo: string,
  f: ThreadFollowup,
  now: Date,
): Promise<number | undefined> {
  const rows = await q.query<{ id: string }>(
    `INSERT INTO incident_followups (incident_id, item_key, title, repo, not_before, created_at, source, added_by, owner, due_on)
     VALUES ($1, $2, $3, $4, $5, $5, 'thread', $6, $7, $8) ON CONFLICT (incident_id, item_key) DO NOTHING RETURNING id`,
    [
      incidentId,
      f.item.key,
      f.item.title,
      repo,
      now,
      JSON.stringify(f.addedBy),
      f.owner ? JSON.stringify(f.owner) : null,
      f.dueOn ?? null,
    ],
  );
  return rows[0] ? Number(rows[0].id) : undefined;
}

export async function followupsOf(q: Q, incidentId: string): Promise<Followup[]> {
  const rows = await q.query<FollowupRow>('SELECT * FROM incident_followups WHERE incident_id = $1 ORDER BY id', [
    incidentId,
  ]);
  return rows.map(followupFrom);
}

export async function recordState(q: Q, id: number, state: 'open' | 'closed', at: Date): Promise<void> {
  await q.query('UPDATE incident_followups SET state = $2, state_at = $3 WHERE id = $1', [id, state, at]);
}
