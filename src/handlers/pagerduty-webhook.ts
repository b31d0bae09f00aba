// POST /pagerduty/webhook: PagerDuty v3 webhooks. Verifies the signature, stores the event and
// only then answers 2xx (5xx when it cannot store, so PagerDuty retries and nothing is lost);
// the event is processed after the answer, from the stored row, by the incident worker.
import type { IncomingMessage } from 'node:http';
import type { Deps } from '../deps.js';
import { type RouteTable, sendJson } from '../http/server.js';
import { storeEvent } from '../incidents/events.js';
import { incidentIdOf, parseWebhookEnvelope, type WebhookEnvelope } from '../incidents/pagerduty-payload.js';
import { verifyPagerDutySignature } from '../incidents/signature.js';
import { eventTypeLabel } from '../metrics.js';

export const PAGERDUTY_WEBHOOK_PATH = '/pagerduty/webhook';

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export function pagerDutyWebhookRoutes(deps: Deps): RouteTable {
  const { config, log, metrics } = deps;
  if (config.PAGERDUTY_WEBHOOK_SECRETS.length === 0)
    log.info('PAGERDUTY_WEBHOOK_SECRETS is not set: PagerDuty webhooks are refused');
  return {
    [`POST ${PAGERDUTY_WEBHOOK_PATH}`]: async (req, res, body) => {
      if (!verifyPagerDutySignature(body, req.headers['x-pagerduty-signature'], config.PAGERDUTY_WEBHOOK_SECRETS)) {
        metrics.webhookEvents.inc({ type: 'unknown', result: 'refused' });
        log.warn(
          { signature: Boolean(req.headers['x-pagerduty-signature']) },
          'PagerDuty webhook refused: bad or missing signature',
        );
        sendJson(res, 401, { error: 'invalid signature' }, deps.redactor);
        return;
      }
      let parsed: WebhookEnvelope;
      try {
        parsed = parseWebhookEnvelope(body);
      } catch {
        metrics.webhookEvents.inc({ type: 'unknown', result: 'malformed' });
        sendJson(res, 400, { error: 'not a PagerDuty v3 webhook body' }, deps.redactor);
        return;
      }
      const { event } = parsed;
      const occurred = event.occurred_at ? new Date(event.occurred_at) : undefined;
      let result: 'stored' | 'duplicate';
      try {
        result = await storeEvent(deps.store, {
          eventId: event.id,
          webhookId: header(req, 'x-webhook-id')?.slice(0, 200),
          eventType: event.event_type,
          incidentId: incidentIdOf(event.data),
          occurredAt: occurred && !Number.isNaN(occurred.getTime()) ? occurred : undefined,
          receivedAt: deps.now(),
          body: parsed,
        });
      } catch (err) {
        // PagerDuty retries a 5xx: answering it loses nothing.
        log.error({ err, event: event.id }, 'could not store a PagerDuty webhook; answered 503 so PagerDuty retries');
        metrics.webhookEvents.inc({ type: eventTypeLabel(event.event_type), result: 'unstored' });
        sendJson(res, 503, { error: 'could not store the event; retry' }, deps.redactor);
        return;
      }
      metrics.webhookEvents.inc({ type: eventTypeLabel(event.event_type), result });
      sendJson(res, 200, { status: result }, deps.redactor);
      if (result === 'stored' && event.event_type !== 'pagey.ping') deps.wakeIncidents?.();
    },
  };
}
