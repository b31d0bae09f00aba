// Prometheus metrics served at GET /metrics. One registry per bot so tests can read their own.
// Counters are bumped where things happen; the gauges of queues, timers and open incidents are
// read from the bot store when /metrics is scraped (setQueueSource), so they are never stale.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** What the queue gauges show, read from the bot store at each scrape (incidents/metrics.ts collects it). */
export interface QueueSnapshot {
  slackByChannel: Array<{ channel: string; n: number }>;
  pagerDutyPending: number;
  timersPending: number;
  incidentsOpen: number;
}

/** A scrape waits this long for the store at most; a slow store leaves the last figures. */
const SNAPSHOT_DEADLINE_MS = 1_000;

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  let source: (() => Promise<QueueSnapshot>) | undefined;
  let pending: Promise<QueueSnapshot | undefined> | undefined;
  let doneAt: number | undefined;
  // One read of the store serves every gauge of a scrape (they collect one after another).
  const snapshot = (): Promise<QueueSnapshot | undefined> => {
    if (!source) return Promise.resolve(undefined);
    if (!pending || (doneAt !== undefined && Date.now() - doneAt > 50)) {
      doneAt = undefined;
      let timer: NodeJS.Timeout | undefined;
      pending = Promise.race([
        source().catch(() => undefined),
        new Promise<undefined>((resolve) => {
          timer = setTimeout(() => resolve(undefined), SNAPSHOT_DEADLINE_MS);
        }),
      ]).finally(() => {
        clearTimeout(timer);
        doneAt = Date.now();
      });
    }
    return pending;
  };
  const channelsSeen = new Set<string>();

  // The label sets of the commands are few (a command's words, or `unknown`, × three outcomes):
  // each is built once and counted in a plain number; a scrape adds what was counted since the
  // last one, so running a command costs a Map lookup, not prom-client's label hashing.
  const commandSeries = new Map<string, { labels: { command: string; outcome: string }; n: number }>();
  const commands = new Counter({
    name: 'dmp_bot_commands_total',
    help: 'Slash commands by command and outcome',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
    collect() {
      for (const s of commandSeries.values()) {
        this.inc(s.labels, s.n);
        s.n = 0;
      }
    },
  });
  const ackLatency = new Histogram({
    name: 'dmp_bot_ack_latency_seconds',
    help: 'Time from receiving a Slack request to acknowledging it',
    labelNames: ['kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3],
    registers: [registry],
  });
  // Resolved once: observing an ack does not rebuild its label set.
  const ackCommand = ackLatency.labels('command');

  return {
    registry,
    commands,
    ackLatency,
    /** One slash command run: `command` is the command's words (or `unknown`), never the asker's text. */
    countCommand(command: string, outcome: string): void {
      const key = `${command}\u0000${outcome}`;
      let series = commandSeries.get(key);
      if (!series) {
        series = { labels: { command, outcome }, n: 0 };
        commandSeries.set(key, series);
        // The series exists from its first command on, at 0 until the scrape adds it.
        commands.inc(series.labels, 0);
      }
      series.n += 1;
    },
    /** A slash command's ack, `seconds` after it was received. */
    observeCommandAck(seconds: number): void {
      ackCommand.observe(seconds);
    },
    webhookEvents: new Counter({
      name: 'dmp_bot_webhook_events_total',
      help: 'PagerDuty webhooks received, by event type and result (stored, duplicate, refused, malformed, unstored)',
      labelNames: ['type', 'result'],
      registers: [registry],
    }),
    webhookEventsProcessed: new Counter({
      name: 'dmp_bot_webhook_events_processed_total',
      help: 'Stored PagerDuty events applied by the incident worker, by event type and outcome',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    apiCalls: new Counter({
      name: 'dmp_bot_api_calls_total',
      help: 'Outbound Slack and PagerDuty calls by service, method and result (HTTP status or error)',
      labelNames: ['service', 'method', 'result'],
      registers: [registry],
    }),
    apiErrors: new Counter({
      name: 'dmp_bot_api_errors_total',
      help: 'Outbound Slack and PagerDuty calls that failed, by service, method and reason',
      labelNames: ['service', 'method', 'reason'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'dmp_bot_outbound_queue_depth',
      help: 'Outbound calls waiting in the bot store, by service',
      labelNames: ['service'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        if (!s) return;
        this.set(
          { service: 'slack' },
          s.slackByChannel.reduce((n, c) => n + c.n, 0),
        );
        this.set({ service: 'pagerduty' }, s.pagerDutyPending);
      },
    }),
    slackQueueDepth: new Gauge({
      name: 'dmp_bot_slack_outbox_pending',
      help: 'Slack posts waiting in the bot store, by channel',
      labelNames: ['channel'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        if (!s) return;
        const now = new Map(s.slackByChannel.map((c) => [c.channel, c.n]));
        for (const channel of now.keys()) channelsSeen.add(channel);
        for (const channel of channelsSeen) this.set({ channel }, now.get(channel) ?? 0);
      },
    }),
    timersPending: new Gauge({
      name: 'dmp_bot_timers_pending',
      help: 'Incident timers not yet fired',
      registers: [registry],
      async collect() {
        const s = await snapshot();
        if (s) this.set(s.timersPending);
      },
    }),
    incidentsOpen: new Gauge({
      name: 'dmp_bot_incidents_open',
      help: 'Incidents not resolved',
      registers: [registry],
      async collect() {
        const s = await snapshot();
        if (s) this.set(s.incidentsOpen);
      },
    }),
    /** Where the gauges read their figures (the incident worker's store). */
    setQueueSource(fn: (() => Promise<QueueSnapshot>) | undefined): void {
      source = fn;
      pending = undefined;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** PagerDuty's v3 event types, so a label never takes an unbounded set of values. */
const KNOWN_EVENT_TYPES = new Set([
  'incident.triggered',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.resolved',
  'incident.reopened',
  'incident.reassigned',
  'incident.escalated',
  'incident.delegated',
  'incident.priority_updated',
  'incident.annotated',
  'incident.responder.added',
  'incident.responder.replied',
  'incident.status_update_published',
  'incident.conference_bridge.updated',
  'incident.custom_field_values.updated',
  'incident.workflow.started',
  'incident.workflow.completed',
  'pagey.ping',
]);

export function eventTypeLabel(type: string | undefined): string {
  return type && KNOWN_EVENT_TYPES.has(type) ? type : 'other';
}
