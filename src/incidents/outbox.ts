// The durable outbox of Slack posts: the workflow writes intents in the same transaction as the
// state change that calls for them; a worker in any replica claims each row once (SKIP LOCKED),
// sends it and records the result. Rows of one incident go out in order, one at a time, so a
// thread reply never overtakes the root post whose ts it needs.
// Rows are claimed channel by channel against that channel's shared token bucket (pace.ts), so
// all replicas together keep within Slack's pace for the channel; a digest member's root row
// waits for its digest to close (not_before) and so stays pending until then.
import type { BackoffOptions } from '../backoff.js';
import type { Sql } from '../store/sql.js';
import { claimFree, LIVE_CLAIMERS } from './claim-session.js';
import { type BucketSpec, slackChannelKey, withBucket } from './pace.js';
import type { Q } from './store.js';
import type { Incident, PostIntent } from './types.js';

export type PostKind = 'root' | 'update_root' | 'reply';

export interface OutboxRow {
  id: number;
  incidentId: string;
  channel: string;
  kind: PostKind;
  intent: PostIntent;
  attempts: number;
  /**
   * An earlier try was made (it failed, or its process died or hung during it): it may have
   * reached Slack without its result being recorded, so look before posting again.
   */
  tried: boolean;
  /** The claimer id it was claimed under (claim-session.ts); null for a lease-only claim. */
  claimedBy: number | null;
  /** Why its last try failed, if it did. */
  lastError?: string;
}

/** How an `unreachable` failure's error starts in its row (/health and the lanes look for it). */
export const CHANNEL_UNREACHABLE = 'channel unreachable';

/** Attempts before a post is given up (its error stays in the row). */
export const MAX_POST_ATTEMPTS = 8;

/** Queues a post; false when the incident has no channel (INCIDENTS_CHANNEL was unset). */
export async function enqueuePost(
  q: Q,
  incident: Pick<Incident, 'id' | 'channel'>,
  intent: PostIntent,
  now: Date,
  notBefore: Date = now,
): Promise<boolean> {
  if (!incident.channel) return false;
  const kind: PostKind = intent.type === 'root' ? 'root' : intent.type === 'update_root' ? 'update_root' : 'reply';
  await q.query(
    `INSERT INTO incident_outbox (incident_id, channel, kind, payload, created_at, not_before)
     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
    [incident.id, incident.channel, kind, JSON.stringify(intent), now, notBefore],
  );
  return true;
}

interface Row {
  id: string;
  incident_id: string;
  channel: string;
  kind: PostKind;
  payload: PostIntent;
  attempts: number;
  tried: boolean;
  claimed_by: number | null;
  error: string | null;
}

/** Channels with posts due now. */
export async function dueChannels(sql: Pick<Sql, 'query'>, now: Date): Promise<string[]> {
  const rows = await sql.query<{ channel: string }>(
    `WITH live AS MATERIALIZED (${LIVE_CLAIMERS})
     SELECT DISTINCT o.channel FROM incident_outbox o
      WHERE o.done_at IS NULL AND o.not_before <= $1 AND ${claimFree('o', '$1')}`,
    [now],
  );
  return rows.map((r) => r.channel);
}

/**
 * Claims as many of `channel`'s due posts as its token bucket allows (at most `limit`), at most
 * one per incident, for `leaseMs` under `claimer` (the claim ends with the claimer's session),
 * and debits the bucket by what it claimed. A bucket another replica is claiming from right now
 * is left to it.
 */
export async function claimChannelPosts(
  sql: Pick<Sql, 'tx'>,
  channel: string,
  now: Date,
  limit: number,
  leaseMs: number,
  spec: BucketSpec,
  claimer: number | null = null,
): Promise<OutboxRow[]> {
  let claimed: Row[] = [];
  await sql.tx((q) =>
    withBucket(
      q,
      slackChannelKey(channel),
      spec,
      now,
      async (bucket) => {
        const take = Math.min(limit, bucket.available);
        if (take <= 0) return 0;
        claimed = await q.query<Row>(
          `WITH live AS MATERIALIZED (${LIVE_CLAIMERS}),
           next AS (
             SELECT o.id FROM incident_outbox o
              WHERE o.channel = $4 AND o.done_at IS NULL AND o.not_before <= $1 AND ${claimFree('o', '$1')}
                AND NOT EXISTS (SELECT 1 FROM incident_outbox p WHERE p.incident_id = o.incident_id AND p.done_at IS NULL AND p.id < o.id)
              -- Top-level posts first: when the channel's pace is the bottleneck, every incident
              -- is findable before any thread gets its next reply.
              ORDER BY (o.kind = 'root') DESC, o.id
              LIMIT $2
              FOR UPDATE SKIP LOCKED
           )
           UPDATE incident_outbox o SET claimed_until = $3, claimed_by = $5, attempts = o.attempts + 1, claims = o.claims + 1
             FROM next WHERE o.id = next.id
           RETURNING o.id, o.incident_id, o.channel, o.kind, o.payload, o.attempts, o.claimed_by, o.error,
                     (o.error IS NOT NULL OR o.claims > 1) AS tried`,
          [now, take, new Date(now.getTime() + leaseMs), channel, claimer],
        );
        return claimed.length;
      },
      { skipLocked: true },
    ),
  );
  return claimed
    .map((r) => ({
      id: Number(r.id),
      incidentId: r.incident_id,
      channel: r.channel,
      kind: r.kind,
      intent: r.payload,
      attempts: r.attempts,
      tried: r.tried,
      claimedBy: r.claimed_by,
      ...(r.error ? { lastError: r.error } : {}),
    }))
    .sort((a, b) => Number(b.kind === 'root') - Number(a.kind === 'root') || a.id - b.id);
}

/**
 * Hands claimed rows back untried (their channel was paused before their turn came), unless
 * another worker has taken them over meanwhile.
 */
export async function releasePosts(q: Q, rows: Array<Pick<OutboxRow, 'id' | 'claimedBy'>>): Promise<void> {
  if (rows.length === 0) return;
  await q.query(
    `UPDATE incident_outbox o SET claimed_until = NULL, claimed_by = NULL, attempts = GREATEST(o.attempts - 1, 0), claims = GREATEST(o.claims - 1, 0)
       FROM unnest($1::bigint[], $2::int[]) AS r(id, claimer)
      WHERE o.id = r.id AND o.done_at IS NULL AND o.claimed_by IS NOT DISTINCT FROM r.claimer`,
    [rows.map((r) => r.id), rows.map((r) => r.claimedBy)],
  );
}

export async function completePost(q: Q, id: number, now: Date, result: Record<string, unknown> = {}): Promise<void> {
  await q.query(
    'UPDATE incident_outbox SET done_at = $2, result = $3, claimed_until = NULL, claimed_by = NULL, error = NULL WHERE id = $1',
    [id, now, JSON.stringify(result)],
  );
}

/**
 * A failed send: retried after `retryAt`, or given up when `retryAt` is undefined. `refund`: the
 * try does not count against the row (Slack was rate limiting or unreachable, not refusing it).
 */
export async function failPost(
  q: Q,
  id: number,
  now: Date,
  error: string,
  retryAt: Date | undefined,
  opts: { refund?: boolean } = {},
): Promise<void> {
  if (retryAt) {
    await q.query(
      `UPDATE incident_outbox SET claimed_until = NULL, claimed_by = NULL, not_before = $2, error = $3${opts.refund ? ', attempts = GREATEST(attempts - 1, 0)' : ''} WHERE id = $1 AND done_at IS NULL`,
      [id, retryAt, error.slice(0, 1000)],
    );
  } else {
    await q.query(
      'UPDATE incident_outbox SET claimed_until = NULL, claimed_by = NULL, done_at = $2, failed = true, error = $3 WHERE id = $1 AND done_at IS NULL',
      [id, now, error.slice(0, 1000)],
    );
  }
}

/**
 * Whether a later root update is queued, which makes this one redundant (each renders the
 * incident as it stands). A digest renders all its members, so any member's later update counts.
 */
export async function laterRootUpdate(
  q: Q,
  row: Pick<OutboxRow, 'id' | 'incidentId'>,
  digestId?: number,
): Promise<boolean> {
  const rows =
    digestId === undefined
      ? await q.query(
          `SELECT 1 FROM incident_outbox WHERE incident_id = $1 AND kind = 'update_root' AND done_at IS NULL AND id > $2 LIMIT 1`,
          [row.incidentId, row.id],
        )
      : await q.query(
          `SELECT 1 FROM incident_outbox o JOIN incidents i ON i.id = o.incident_id
            WHERE i.digest_id = $1 AND o.kind = 'update_root' AND o.done_at IS NULL AND o.id > $2 LIMIT 1`,
          [digestId, row.id],
        );
  return rows.length > 0;
}

/** Whether the row is still to be sent (a digest post may have completed it meanwhile). */
export async function postPending(q: Q, id: number): Promise<boolean> {
  return (await q.query('SELECT 1 FROM incident_outbox WHERE id = $1 AND done_at IS NULL', [id])).length > 0;
}

/** Posts waiting, by channel (for /metrics). */
export async function pendingPostsByChannel(q: Q): Promise<Array<{ channel: string; n: number }>> {
  return q.query<{ channel: string; n: number }>(
    'SELECT channel, count(*)::int AS n FROM incident_outbox WHERE done_at IS NULL GROUP BY channel',
  );
}

/** The outboxes' retries (backoff.ts): 1s, 2s, 4s … 60s, or longer when the other side asks. */
export const OUTBOX_BACKOFF: BackoffOptions = { base: 1000, max: 60_000 };

/** Channels the bot cannot post in right now: posts wait there for someone to invite it (for /health). */
export async function unreachableChannels(q: Pick<Sql, 'query'>): Promise<string[]> {
  const rows = await q.query<{ channel: string }>(
    'SELECT DISTINCT channel FROM incident_outbox WHERE done_at IS NULL AND starts_with(error, $1)',
    [CHANNEL_UNREACHABLE],
  );
  return rows.map((r) => r.channel);
}
