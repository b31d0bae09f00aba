// Received PagerDuty webhook events, stored before the bot answers PagerDuty: a redelivery
// (same event id or same X-Webhook-Id) is recognised and stored once.
import type { Q } from './store.js';

export interface IncomingEvent {
  eventId: string;
  webhookId?: string;
  eventType: string;
  incidentId?: string;
  occurredAt?: Date;
  receivedAt: Date;
  body: unknown;
}

/** 'stored' for a new event, 'duplicate' for a redelivery. */
export async function storeEvent(q: Q, e: IncomingEvent): Promise<'stored' | 'duplicate'> {
  // A ping needs no processing: it is stored as done.
  const done = e.eventType === 'pagey.ping';
  const rows = await q.query(
    `INSERT INTO pd_webhook_events (event_id, webhook_id, event_type, incident_id, occurred_at, received_at, body, not_before, processed_at, outcome)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $9)
     ON CONFLICT DO NOTHING RETURNING id`,
    [
      e.eventId,
      e.webhookId ?? null,
      e.eventType,
      e.incidentId ?? null,
      e.occurredAt ?? null,
      e.receivedAt,
      JSON.stringify(e.body, withoutNul),
      done ? e.receivedAt : null,
      done ? 'ping' : null,
    ],
  );
  return rows.length ? 'stored' : 'duplicate';
}

/** PostgreSQL's jsonb refuses NUL characters; they carry nothing a person reads. */
function withoutNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' ? value.replace(/\u0000/g, '') : value;
}
