// The report's rendering: verdict header, one line per finding, the runbook's guidance when
// something is wrong, the next steps last as buttons.
import { describe, expect, it } from 'vitest';
import { reportMessage } from '../../src/blocks/report.js';
import type { Report } from '../../src/runbooks/types.js';

const report = (verdict: Report['verdict']): Report => ({
  procedure: {
    id: 'webhooks',
    title: 'Webhook delivery failures',
    section: 'Common Issues › Webhook Delivery Failures',
    words: ['webhooks'],
    guidance: ['Secret mismatch: regenerate the GitHub webhook secret and update webhook-secrets'],
  },
  verdict,
  findings: [
    {
      check: 'Webhook errors',
      status: verdict,
      summary: verdict === 'ok' ? 'none in the last hour' : '12 in the last hour',
    },
  ],
  nextSteps: [
    {
      remedy: 'rollback-deployment',
      label: 'Roll back api',
      reason: 'a recent deploy broke it',
      params: { deployment: 'api' },
    },
  ],
  durationMs: 12,
});

describe('report blocks', () => {
  it('shows the runbook guidance no button can carry out when something is wrong, before the next steps', () => {
    const m = reportMessage(report('critical'));
    const text = JSON.stringify(m.blocks);
    expect(text).toContain('The runbook also says: Secret mismatch: regenerate');
    expect(text.indexOf('runbook also says')).toBeLessThan(text.indexOf('Roll back api'));
    expect(m.blocks.at(-1)?.type).toBe('actions');
  });

  it('leaves the guidance out when all is well', () => {
    expect(JSON.stringify(reportMessage(report('ok')).blocks)).not.toContain('runbook also says');
  });
});
