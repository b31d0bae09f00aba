// GET /metrics during an incident: webhook events by type and result, PagerDuty calls and
// errors, the outbound queues (Slack by channel, PagerDuty), timers pending, incidents open,
// read from the store when scraped.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INCIDENT_SEVERITY, optionValue } from '../../src/blocks/incident-ids.js';
import { controls, event, eventually, INCIDENTS, page, settled, startWorld, type World } from './world.js';

/** The value of one sample, by metric name and labels; undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || line.startsWith('#')) continue;
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('/metrics', () => {
  let w: World;
  const scrape = async () => (await fetch(`${w.bots[0]?.url}/metrics`)).text();

  beforeAll(async () => {
    w = await startWorld();
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  it('counts webhooks and PagerDuty calls, and reads queue depths, timers and open incidents from the store', async () => {
    const inc = await w.pd.triggerIncident({
      title: 'Metrics page: API returns 504',
      serviceId: 'PDMPAPI',
      urgency: 'high',
    });
    // A redelivery of the same event.
    const redelivered = event(
      'incident.triggered',
      page({ id: 'QMETRICS0001', title: 'Metrics page two: scans stuck' }),
    );
    await w.deliver(redelivered);
    await w.deliver(redelivered);
    await settled(w);

    let text = await scrape();
    expect(sample(text, 'dmp_bot_webhook_events_total', { type: 'incident.triggered', result: 'stored' })).toBe(2);
    expect(sample(text, 'dmp_bot_webhook_events_total', { type: 'incident.triggered', result: 'duplicate' })).toBe(1);
    expect(
      sample(text, 'dmp_bot_webhook_events_processed_total', { type: 'incident.triggered', outcome: 'created' }),
    ).toBe(2);
    expect(sample(text, 'dmp_bot_incidents_open')).toBe(2);
    // Each P2 has its response-target reminder, the lead's escalation, the stakeholder-update reminder
    // and the commander nudge pending.
    expect(sample(text, 'dmp_bot_timers_pending')).toBe(8);
    expect(sample(text, 'dmp_bot_outbound_queue_depth', { service: 'slack' })).toBe(0);
    expect(sample(text, 'dmp_bot_slack_outbox_pending', { channel: INCIDENTS })).toBe(0);
    expect(
      sample(text, 'dmp_bot_api_calls_total', { service: 'slack', method: 'chat.postMessage', result: '200' }),
    ).toBeGreaterThanOrEqual(6);

    // The clicker's PagerDuty account is looked up (and remembered briefly) before anything is
    // queued: a severity pick that changes nothing looks it up while PagerDuty is still up.
    const root = w.roots().find((m) => m.text.includes('Metrics page: API')) as SlackMessage;
    const lookups = w.pd.requests.filter((r) => r.path === '/users').length;
    await w.click({ actionId: INCIDENT_SEVERITY, selected: optionValue(inc.id, 'P2'), messageTs: root.ts });
    await eventually(() => w.pd.requests.filter((r) => r.path === '/users').length > lookups, 8_000, 'the lookup');
    // PagerDuty down: the acknowledgement waits in its queue, and the failures are counted.
    await w.pd.down();
    try {
      const ack = controls(root).find((c) => c.label === 'Acknowledge');
      await w.click({ actionId: ack?.action_id as string, value: ack?.value, messageTs: root.ts });
      text = await eventually(
        async () => {
          const t = await scrape();
          return (sample(t, 'dmp_bot_api_errors_total', {
            service: 'pagerduty',
            method: 'PUT /incidents/:id',
            reason: 'unreachable',
          }) ?? 0) >= 1
            ? t
            : undefined;
        },
        8_000,
        'a counted PagerDuty failure',
      );
      expect(sample(text, 'dmp_bot_outbound_queue_depth', { service: 'pagerduty' })).toBe(1);
      // Nothing changes in Slack before PagerDuty accepts: the reminder still waits.
      expect(sample(text, 'dmp_bot_timers_pending')).toBe(8);
    } finally {
      await w.pd.up();
    }
    await eventually(() => w.pd.incidents.get(inc.id)?.status === 'acknowledged', 10_000, 'the acknowledgement');
    await settled(w);
    text = await scrape();
    expect(
      sample(text, 'dmp_bot_api_calls_total', { service: 'pagerduty', method: 'PUT /incidents/:id', result: '200' }),
    ).toBe(1);
    expect(sample(text, 'dmp_bot_outbound_queue_depth', { service: 'pagerduty' })).toBe(0);
    expect(sample(text, 'dmp_bot_incidents_open')).toBe(2);
  }, 40_000);
});
