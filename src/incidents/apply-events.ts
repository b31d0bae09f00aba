// Applies stored PagerDuty webhook events to the incident workflow, one at a time in arrival
// order, each in its own transaction; an event about an incident not seen yet waits a little.

import { backoff } from '../backoff.js';
import { eventTypeLabel } from '../metrics.js';
import { OUTBOX_BACKOFF } from './outbox.js';
import type { WorkerEnv } from './worker-env.js';
import { applyEvent } from './workflow.js';

const EVENT_MAX_ATTEMPTS = 6;
const DEFER_ATTEMPTS = 15;

/** Applies the next due stored event; false when none is due. */
export async function applyNextEvent(env: WorkerEnv): Promise<boolean> {
  const { deps, ctx, log } = env;
  let eventRowId: number | undefined;
  let attempts = 0;
  try {
    return await deps.store.tx(async (q) => {
      const now = deps.now();
      const rows = await q.query<{
        id: string;
        event_id: string;
        event_type: string;
        occurred_at: Date | null;
        received_at: Date;
        body: { event?: { agent?: unknown; data?: unknown } };
        attempts: number;
      }>(
        `SELECT id, event_id, event_type, occurred_at, received_at, body, attempts FROM pd_webhook_events
            WHERE processed_at IS NULL AND not_before <= $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
        [now],
      );
      const row = rows[0];
      if (!row) return false;
      eventRowId = Number(row.id);
      attempts = row.attempts;
      const outcome = await applyEvent(q, ctx, {
        eventId: row.event_id,
        eventType: row.event_type,
        occurredAt: row.occurred_at ? new Date(row.occurred_at) : undefined,
        receivedAt: new Date(row.received_at),
        agent: row.body.event?.agent,
        data: row.body.event?.data,
      });
      if (outcome === 'defer' && row.attempts + 1 < DEFER_ATTEMPTS) {
        await q.query('UPDATE pd_webhook_events SET attempts = attempts + 1, not_before = $2 WHERE id = $1', [
          row.id,
          new Date(now.getTime() + 1000 * (row.attempts + 1)),
        ]);
      } else {
        await q.query('UPDATE pd_webhook_events SET processed_at = $2, outcome = $3 WHERE id = $1', [
          row.id,
          now,
          outcome === 'defer' ? 'orphan' : outcome,
        ]);
        if (outcome === 'defer')
          log.warn(
            { event: row.event_id, type: row.event_type },
            'PagerDuty event about an incident never seen; recorded and dropped',
          );
      }
      deps.metrics?.webhookEventsProcessed.inc({ type: eventTypeLabel(row.event_type), outcome });
      return true;
    });
  } catch (err) {
    if (eventRowId === undefined) throw err;
    log.error({ err, eventRowId }, 'could not apply a PagerDuty event; will retry');
    const giveUp = attempts + 1 >= EVENT_MAX_ATTEMPTS;
    await deps.store.query(
      `UPDATE pd_webhook_events SET attempts = attempts + 1, not_before = $2, error = $3, processed_at = $4, outcome = $5 WHERE id = $1`,
      [
        eventRowId,
        new Date(deps.now().getTime() + backoff(attempts + 1, OUTBOX_BACKOFF)),
        String((err as Error)?.message ?? err).slice(0, 1000),
        giveUp ? deps.now() : null,
        giveUp ? 'failed' : null,
      ],
    );
    return true;
  }
}
