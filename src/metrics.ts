// Prometheus metrics served at GET /metrics. One registry per bot so tests can read their own.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    commands: new Counter({ name: 'dmp_bot_commands_total', help: 'Slash commands by command and outcome', labelNames: ['command', 'outcome'], registers: [registry] }),
    ackLatency: new Histogram({
      name: 'dmp_bot_ack_latency_seconds',
      help: 'Time from receiving a Slack request to acknowledging it',
      labelNames: ['kind'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
      registers: [registry],
    }),
    webhookEvents: new Counter({ name: 'dmp_bot_webhook_events_total', help: 'PagerDuty webhook events by type and result', labelNames: ['type', 'result'], registers: [registry] }),
    apiCalls: new Counter({ name: 'dmp_bot_api_calls_total', help: 'Outbound Slack and PagerDuty calls by service, method and result', labelNames: ['service', 'method', 'result'], registers: [registry] }),
    queueDepth: new Gauge({ name: 'dmp_bot_outbound_queue_depth', help: 'Outbound calls waiting, by service', labelNames: ['service'], registers: [registry] }),
    timersPending: new Gauge({ name: 'dmp_bot_timers_pending', help: 'Incident timers not yet fired', registers: [registry] }),
    incidentsOpen: new Gauge({ name: 'dmp_bot_incidents_open', help: 'Incidents not resolved', registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
