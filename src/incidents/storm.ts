// Alert storms: when more than STORM_THRESHOLD incidents reach a channel within STORM_PERIOD,
// each new one is coalesced into a digest instead of getting a root message of its own. The
// digest message is then that incident's one top-level post: it names the incident's title with
// its own Acknowledge button, and everything about it goes in the digest's thread, named by
// incident. A digest gathers incidents for STORM_DIGEST_WAIT (or until STORM_DIGEST_BATCH of
// them) and is posted once, so a storm costs one post per batch, not one per incident. When the
// storm passes, new incidents get their own root again.
import type { Sql } from '../store/sql.js';
import { claimFree, LIVE_CLAIMERS } from './claim-session.js';
import type { WorkflowCtx } from './ctx.js';
import type { Q } from './store.js';
import { addTimeline } from './timeline.js';
import type { Incident } from './types.js';

export interface Digest {
  id: number;
  channel: string;
  openedAt: Date;
  closesAt: Date;
  members: number;
  rootTs?: string;
  postingUntil?: Date;
  /** The incidents the posted message names (a late joiner makes it stale). */
  listed: string[];
}

interface DigestRow {
  id: string | number;
  channel: string;
  opened_at: Date | string;
  closes_at: Date | string;
  members: number;
  root_ts: string | null;
  posting_until: Date | string | null;
  listed: string[] | null;
}

function fromRow(r: DigestRow): Digest {
  return {
    id: Number(r.id),
    channel: r.channel,
    openedAt: new Date(r.opened_at),
    closesAt: new Date(r.closes_at),
    members: r.members,
    ...(r.root_ts ? { rootTs: r.root_ts } : {}),
    ...(r.posting_until ? { postingUntil: new Date(r.posting_until) } : {}),
    listed: r.listed ?? [],
  };
}

/** Any constant: with the channel's hash, serializes the choice of digest across replicas. */
const STORM_LOCK = 728_361_095;

/**
 * Inside the transaction that records a new incident: when the channel is in a storm, puts the
 * incident in the open digest (or opens one) and records that in its timeline. Undefined when
 * there is no storm and the incident gets its own root.
 */
export async function joinStormDigest(
  q: Q,
  ctx: WorkflowCtx,
  i: Incident,
): Promise<{ digest: Digest; opened: boolean } | undefined> {
  const channel = i.channel;
  if (!channel) return undefined;
  const {
    STORM_THRESHOLD: threshold,
    STORM_PERIOD: period,
    STORM_DIGEST_WAIT: wait,
    STORM_DIGEST_BATCH: batch,
  } = ctx.config;
  // One page at a time per channel, across replicas, so each counts the pages recorded before it.
  await q.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [STORM_LOCK, channel]);
  // Counted from when the bot received this page, so a worker running behind sees the storm as it came.
  const recent = await q.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM incidents WHERE channel = $1 AND id <> $2 AND received_at > $3',
    [channel, i.id, new Date(i.receivedAt.getTime() - period)],
  );
  const before = recent[0]?.n ?? 0;
  if (before + 1 <= threshold) return undefined;
  const now = ctx.now();
  const open = await q.query<DigestRow>(
    `UPDATE incident_digests SET members = members + 1
      WHERE id = (SELECT id FROM incident_digests
                   WHERE channel = $1 AND closes_at > $2 AND members < $3 AND root_ts IS NULL AND posting_until IS NULL
                   ORDER BY id DESC LIMIT 1)
      RETURNING *`,
    [channel, now, batch],
  );
  let row = open[0];
  const opened = !row;
  if (!row) {
    const made = await q.query<DigestRow>(
      'INSERT INTO incident_digests (channel, opened_at, closes_at, members) VALUES ($1, $2, $3, 1) RETURNING *',
      [channel, now, new Date(now.getTime() + wait)],
    );
    row = made[0] as DigestRow;
  }
  const digest = fromRow(row);
  if (digest.members >= batch && digest.closesAt > now) {
    // Full: post it now rather than at the end of its wait.
    await q.query('UPDATE incident_digests SET closes_at = $2 WHERE id = $1', [digest.id, now]);
    await q.query(
      `UPDATE incident_outbox SET not_before = $2 WHERE kind = 'root' AND done_at IS NULL AND incident_id IN (SELECT id FROM incidents WHERE digest_id = $1)`,
      [digest.id, now],
    );
    digest.closesAt = now;
  }
  await q.query('UPDATE incidents SET digest_id = $2 WHERE id = $1', [i.id, digest.id]);
  await addTimeline(q, i.id, {
    at: now,
    kind: 'coalesced',
    text: `Alert storm (${before + 1} incidents within ${Math.round(period / 1000)}s): listed in storm digest ${digest.id} with its own Acknowledge; its updates go in the digest's thread`,
    source: 'bot',
    dedupeKey: `coalesced:${i.id}`,
  });
  return { digest, opened };
}

/** Whether another incident of the digest already runs this diagnosis: one report serves them all. */
export async function digestHasDiagnosis(q: Q, digestId: number, procedureId: string): Promise<boolean> {
  const rows = await q.query(
    `SELECT 1 FROM incident_outbox o JOIN incidents i ON i.id = o.incident_id
      WHERE i.digest_id = $1 AND o.kind = 'reply' AND o.payload->>'type' = 'diagnosis' AND o.payload->>'procedureId' = $2 LIMIT 1`,
    [digestId, procedureId],
  );
  return rows.length > 0;
}

export async function getDigest(q: Q, id: number): Promise<Digest | undefined> {
  const rows = await q.query<DigestRow>('SELECT * FROM incident_digests WHERE id = $1', [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * Takes the right to post the digest for `leaseMs` under `claimer` (it ends with the claimer's
 * session too), so two workers never post it at once.
 * `triedBefore`: an earlier try started and did not record a ts (it may have posted anyway).
 */
export async function claimDigestPosting(
  sql: Pick<Sql, 'tx'>,
  id: number,
  now: Date,
  leaseMs: number,
  claimer: number | null = null,
): Promise<{ ok: boolean; triedBefore: boolean }> {
  return sql.tx(async (q) => {
    const rows = await q.query<{ root_ts: string | null; posting_until: Date | string | null; free: boolean }>(
      `WITH live AS MATERIALIZED (${LIVE_CLAIMERS})
       SELECT d.root_ts, d.posting_until, ${claimFree('d', '$2', 'posting_by', 'posting_until')} AS free
         FROM incident_digests d WHERE d.id = $1 FOR UPDATE OF d`,
      [id, now],
    );
    const row = rows[0];
    if (!row || row.root_ts) return { ok: false, triedBefore: false };
    if (!row.free) return { ok: false, triedBefore: true };
    await q.query('UPDATE incident_digests SET posting_until = $2, posting_by = $3 WHERE id = $1', [
      id,
      new Date(now.getTime() + leaseMs),
      claimer,
    ]);
    return { ok: true, triedBefore: row.posting_until !== null };
  });
}

/** A try failed: the lease ends now, and is remembered as a try. */
export async function releaseDigestPosting(q: Q, id: number, now: Date): Promise<void> {
  await q.query('UPDATE incident_digests SET posting_until = $2 WHERE id = $1 AND root_ts IS NULL', [
    id,
    new Date(now.getTime() - 1),
  ]);
}

/**
 * The digest message is in the channel (posted or re-rendered) naming `listed`: each listed
 * incident's top-level post is now that message, so their own root rows are done without a call.
 */
export async function digestPosted(q: Q, id: number, ts: string, listed: string[], now: Date): Promise<void> {
  await q.query(
    'UPDATE incident_digests SET root_ts = COALESCE(root_ts, $2), posting_until = NULL, listed = $3 WHERE id = $1',
    [id, ts, listed],
  );
  await q.query('UPDATE incidents SET root_ts = $3 WHERE digest_id = $1 AND id = ANY($2::text[]) AND root_ts IS NULL', [
    id,
    listed,
    ts,
  ]);
  await q.query(
    `UPDATE incident_outbox SET done_at = $3, result = $4, claimed_until = NULL, error = NULL
      WHERE kind = 'root' AND done_at IS NULL AND incident_id = ANY($1::text[])
        AND incident_id IN (SELECT id FROM incidents WHERE digest_id = $2)`,
    [listed, id, now, JSON.stringify({ ts, digest: id })],
  );
}
