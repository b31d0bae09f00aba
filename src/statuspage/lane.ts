// Sends the Statuspage call outbox beside the incident worker's loop, one call at a time for all
// replicas together: each claim takes a token from the page's shared bucket (Statuspage allows
// one request a second per API key), a 429 pauses the bucket for its Retry-After, a 5xx or no
// answer is retried with backoff for STATUSPAGE_RETRY_FOR, and a call Statuspage refuses (401,
// 404, 422) or that never got through is said in the incident's thread.
import { backoff } from '../backoff.js';
import { enqueuePost, OUTBOX_BACKOFF } from '../incidents/outbox.js';
import { pauseBucket, withBucket } from '../incidents/pace.js';
import { getIncident, type Q } from '../incidents/store.js';
import { addTimeline } from '../incidents/timeline.js';
import type { Actor } from '../incidents/types.js';
import type { LaneHooks, WorkerEnv } from '../incidents/worker-env.js';
import { type SpAnswer, spErrorText, statuspageConfigured, statuspageRequest } from './client.js';
import { type SpCallArgs, type SpCallKind, statusPageOf } from './store.js';

/** One request a second per key, no burst. */
export const STATUSPAGE_SPEC = { ratePerSec: 1, burst: 1 };

export const statuspageKey = (pageId: string): string => `statuspage:${pageId}`;

interface CallRow {
  id: number;
  incidentId: string;
  kind: SpCallKind;
  args: SpCallArgs;
  requestedBy?: Actor;
  attempts: number;
  createdAt: Date;
}

interface Raw {
  id: string;
  incident_id: string;
  kind: SpCallKind;
  args: SpCallArgs;
  requested_by: Actor | null;
  attempts: number;
  created_at: Date | string;
}

async function claimOne(env: WorkerEnv, pageId: string): Promise<CallRow | undefined> {
  const { deps } = env;
  const now = deps.now();
  let claimed: Raw | undefined;
  await deps.store.tx((q) =>
    withBucket(
      q,
      statuspageKey(pageId),
      STATUSPAGE_SPEC,
      now,
      async (bucket) => {
        if (bucket.available < 1) return 0;
        [claimed] = await q.query<Raw>(
          `WITH next AS (
             SELECT o.id FROM statuspage_outbox o
              WHERE o.done_at IS NULL AND o.not_before <= $1 AND (o.claimed_until IS NULL OR o.claimed_until < $1)
                AND NOT EXISTS (SELECT 1 FROM statuspage_outbox p WHERE p.incident_id = o.incident_id AND p.done_at IS NULL AND p.id < o.id)
              ORDER BY o.id LIMIT 1
              FOR UPDATE SKIP LOCKED
           )
           UPDATE statuspage_outbox o SET claimed_until = $2, attempts = o.attempts + 1
             FROM next WHERE o.id = next.id
           RETURNING o.id, o.incident_id, o.kind, o.args, o.requested_by, o.attempts, o.created_at`,
          [now, new Date(now.getTime() + env.leaseMs)],
        );
        return claimed ? 1 : 0;
      },
      { skipLocked: true },
    ),
  );
  const r = claimed as Raw | undefined;
  if (!r) return undefined;
  return {
    id: Number(r.id),
    incidentId: r.incident_id,
    kind: r.kind,
    args: r.args,
    requestedBy: r.requested_by ?? undefined,
    attempts: r.attempts,
    createdAt: new Date(r.created_at),
  };
}

export interface StatuspageLane {
  start(): Promise<boolean>;
  inFlight(): Array<Promise<void>>;
}

export function statuspageLane(env: WorkerEnv, hooks: LaneHooks): StatuspageLane {
  let running: Promise<void> | undefined;
  return {
    async start() {
      const { config } = env.deps;
      if (running || hooks.stopped() || !statuspageConfigured(config)) return false;
      const row = await claimOne(env, config.STATUSPAGE_PAGE_ID as string);
      if (!row) return false;
      running = runCall(env, row)
        .catch((err: unknown) => env.log.error({ err }, 'Statuspage call failed; it is retried after its lease'))
        .finally(() => {
          running = undefined;
          if (!hooks.stopped()) hooks.runRound();
        });
      return true;
    },
    inFlight: () => (running ? [running] : []),
  };
}

const WHAT: Record<SpCallArgs['reason'], string> = {
  open: 'new status page incident',
  correction: 'correction',
  mitigated: 'change to monitoring',
  resolved: 'resolution',
  update: 'stakeholder update',
};

async function runCall(env: WorkerEnv, row: CallRow): Promise<void> {
  const { deps, log } = env;
  const { config, store } = deps;
  const pageId = encodeURIComponent(config.STATUSPAGE_PAGE_ID as string);
  const open = await statusPageOf(store, row.incidentId);
  const a = row.args;
  const incident: Record<string, unknown> = {
    ...(a.name ? { name: a.name } : {}),
    ...(a.status ? { status: a.status } : {}),
    body: a.body,
    ...(a.components && Object.keys(a.components).length
      ? { component_ids: Object.keys(a.components), components: a.components }
      : {}),
  };
  let answer: SpAnswer;
  try {
    if (row.kind === 'create') {
      answer = await statuspageRequest(config, 'POST', `pages/${pageId}/incidents`, { incident });
    } else {
      if (!open?.spIncidentId) {
        await finish(store, row.id, deps.now(), 'the status page incident was never opened', true);
        await report(env, row, 'the status page incident was never opened (its creation failed)');
        return;
      }
      answer = await statuspageRequest(
        config,
        'PATCH',
        `pages/${pageId}/incidents/${encodeURIComponent(open.spIncidentId)}`,
        { incident },
      );
    }
  } catch (err) {
    const reason = deps.redactor.redact(`Statuspage unreachable: ${(err as Error)?.message ?? String(err)}`);
    await retryOrGiveUp(env, row, reason);
    return;
  }
  const now = deps.now();
  if (answer.status >= 200 && answer.status < 300) {
    const body = (answer.body ?? {}) as { id?: string; shortlink?: string; status?: string; name?: string };
    await store.tx(async (q) => {
      await q.query(
        'UPDATE statuspage_outbox SET done_at = $2, status = $3, result = $4, claimed_until = NULL, error = NULL WHERE id = $1',
        [row.id, now, answer.status, JSON.stringify({ id: body.id, status: body.status })],
      );
      await q.query(
        `UPDATE incident_status_pages SET
           sp_incident_id = COALESCE(sp_incident_id, $2), shortlink = COALESCE($3, shortlink),
           status = COALESCE($4, status), name = COALESCE($5, name),
           components = components || $6::jsonb
         WHERE incident_id = $1`,
        [
          row.incidentId,
          body.id ?? null,
          body.shortlink ?? null,
          a.status ?? null,
          a.name ?? null,
          JSON.stringify(a.components ?? {}),
        ],
      );
      const i = await getIncident(q, row.incidentId);
      const sp = await statusPageOf(q, row.incidentId);
      if (!i || !sp) return;
      await addTimeline(q, i.id, {
        at: now,
        kind: 'status_page',
        actor: row.requestedBy ?? { source: 'bot' },
        text: `Status page ${row.kind === 'create' ? 'incident opened' : 'updated'}: ${sp.status} — ${a.body || sp.name}${sp.shortlink ? ` (${sp.shortlink})` : ''}`,
        source: 'bot',
      });
      // A stakeholder update is told in the thread by its own post already.
      if (a.reason !== 'update')
        await enqueuePost(
          q,
          i,
          {
            type: 'status_page',
            event: row.kind === 'create' ? 'opened' : 'updated',
            status: sp.status,
            name: sp.name,
            ...(sp.shortlink ? { shortlink: sp.shortlink } : {}),
            body: a.body,
          },
          now,
        );
    });
    return;
  }
  const reason = spErrorText(answer);
  if (answer.status === 429) {
    // Everybody waits: the key is over its limit for every replica.
    const wait = answer.retryAfterMs ?? 1000;
    await pauseBucket(store, statuspageKey(config.STATUSPAGE_PAGE_ID as string), new Date(now.getTime() + wait));
    await store.query(
      'UPDATE statuspage_outbox SET claimed_until = NULL, not_before = $2, error = $3, status = 429, attempts = GREATEST(attempts - 1, 0) WHERE id = $1',
      [row.id, new Date(now.getTime() + wait), reason],
    );
    log.warn({ incident: row.incidentId, retryAfterMs: wait }, 'Statuspage rate limited a call; will retry');
    return;
  }
  if (answer.status >= 500) {
    await retryOrGiveUp(env, row, reason, answer.status);
    return;
  }
  await finish(store, row.id, now, reason, true, answer.status);
  await report(env, row, reason);
}

async function retryOrGiveUp(env: WorkerEnv, row: CallRow, reason: string, status?: number): Promise<void> {
  const { deps, log } = env;
  const now = deps.now();
  const deadline = row.createdAt.getTime() + deps.config.STATUSPAGE_RETRY_FOR;
  if (now.getTime() < deadline) {
    const at = new Date(
      Math.min(now.getTime() + backoff(row.attempts, OUTBOX_BACKOFF), Math.max(deadline, now.getTime() + 1000)),
    );
    await deps.store.query(
      'UPDATE statuspage_outbox SET claimed_until = NULL, not_before = $2, error = $3, status = $4 WHERE id = $1',
      [row.id, at, reason.slice(0, 1000), status ?? null],
    );
    log.warn({ incident: row.incidentId, attempts: row.attempts, retryAt: at }, 'Statuspage call failed; will retry');
    return;
  }
  await finish(deps.store, row.id, now, reason, true, status);
  await report(env, row, `${reason}, still after retrying`);
}

async function finish(q: Q, id: number, now: Date, error: string, failed: boolean, status?: number): Promise<void> {
  await q.query(
    'UPDATE statuspage_outbox SET claimed_until = NULL, done_at = $2, failed = $3, error = $4, status = $5 WHERE id = $1',
    [id, now, failed, error.slice(0, 1000), status ?? null],
  );
}

async function report(env: WorkerEnv, row: CallRow, reason: string): Promise<void> {
  const { deps, log } = env;
  log.warn({ incident: row.incidentId, reason }, 'Statuspage did not take a call');
  await deps.store.tx(async (q) => {
    const i = await getIncident(q, row.incidentId);
    if (!i) return;
    const now = deps.now();
    await addTimeline(q, i.id, {
      at: now,
      kind: 'status_page',
      actor: { source: 'bot' },
      text: `Status page did not take the ${WHAT[row.args.reason]}: ${reason}`,
      source: 'bot',
    });
    await enqueuePost(
      q,
      i,
      {
        type: 'warning',
        text: [
          `The status page did not take the ${WHAT[row.args.reason]}: ${reason}. Use *Status page* on the first message of this thread to try again, or update it by hand.`,
        ],
      },
      now,
    );
  });
}
