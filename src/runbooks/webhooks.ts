// Runbook: Common Issues › Webhook Delivery Failures › Diagnosis: the API's "webhook" log lines
// of the last hour, whether webhook-secrets holds a `github` key (never its value), and
// whether GitHub can be reached outbound (a POST, as the runbook's curl does).
import { readSecretMetadata, searchAppLogs } from '../targets/kube-reads.js';
import { plural, tailDetails } from './lines.js';
import type { Check, Finding, Procedure } from './types.js';

export const WEBHOOK_SECRET = 'webhook-secrets';
export const WEBHOOK_SECRET_KEY = 'github';
export const WEBHOOK_LOG_WINDOW_S = 60 * 60;
const FAILURE = /error|fail|invalid|mismatch|denied|refused|timeout|\b(4\d\d|5\d\d)\b/i;
const LATEST = 8;

const webhookLogs: Check = {
  id: 'logs',
  title: 'Webhook log lines',
  async run({ targets }): Promise<Finding> {
    const found = await searchAppLogs(targets.kube, 'api', WEBHOOK_LOG_WINDOW_S, /webhook/i);
    if (found.pods === 0) return { check: this.title, status: 'warn', summary: 'no pods with app=api' };
    const lines = found.matches.map((m) => `${m.pod}: ${m.line}`);
    const failures = found.matches.filter((m) => FAILURE.test(m.line)).length;
    const n = lines.length;
    return {
      check: this.title,
      // No webhook line in an hour while pushes happen means deliveries are not arriving.
      status: failures > 0 || n === 0 ? 'warn' : found.errors.length ? 'unknown' : 'ok',
      summary: `${plural(n, '"webhook" line')} in the last hour across ${plural(found.pods, 'pod')}, ${failures} of them failures${n === 0 ? ': no delivery reached the API' : ''}${found.errors.length ? `; ${plural(found.errors.length, 'log')} unreadable` : ''}`,
      details: [...tailDetails(lines, LATEST), ...found.errors],
      attachment: n > LATEST ? { title: 'webhook lines, last hour', text: lines.join('\n') } : undefined,
      facts: { count: n, failures },
    };
  },
};

const secret: Check = {
  id: 'secret',
  title: 'Webhook secret',
  async run({ targets }): Promise<Finding> {
    const meta = await readSecretMetadata(targets.kube, WEBHOOK_SECRET);
    if (!meta.exists)
      return {
        check: this.title,
        status: 'critical',
        summary: `secret ${WEBHOOK_SECRET} not found in namespace ${targets.kube.namespace}`,
      };
    const has = meta.keys.includes(WEBHOOK_SECRET_KEY);
    return {
      check: this.title,
      status: has ? 'ok' : 'critical',
      summary: has
        ? `secret ${WEBHOOK_SECRET} has key ${WEBHOOK_SECRET_KEY}, last changed ${meta.lastChanged?.toISOString() ?? 'at an unknown time'} (compare with the secret in GitHub's webhook settings)`
        : `secret ${WEBHOOK_SECRET} has no key ${WEBHOOK_SECRET_KEY} (keys: ${meta.keys.join(', ') || 'none'}): regenerate and update it`,
    };
  },
};

const outbound: Check = {
  id: 'outbound',
  title: 'Outbound to GitHub',
  async run({ targets, signal }): Promise<Finding> {
    const url = targets.config.GITHUB_API_URL;
    const res = await targets.reach.probe(url, { method: 'POST', signal });
    // Any HTTP answer (GitHub gives 404 to a bare POST) proves the egress path works.
    return {
      check: this.title,
      status: res.status >= 500 ? 'warn' : 'ok',
      summary: `POST ${url} answered ${res.status} in ${res.ms} ms${res.status < 500 ? ': egress works' : ''}`,
    };
  },
};

export const webhooks: Procedure = {
  id: 'webhooks',
  words: ['webhooks'],
  title: 'Webhook delivery failures',
  section: 'Common Issues › Webhook Delivery Failures',
  group: 'Diagnosis',
  summary:
    'the API’s "webhook" log lines of the last hour, the webhook secret’s github key (never its value), egress to GitHub',
  dashboard: '/grafana/d/api',
  checks: [webhookLogs, secret, outbound],
  guidance: [
    'Secret mismatch: regenerate the GitHub webhook secret and update webhook-secrets',
    'Network issue: check the egress rules',
    'Rate limiting: implement exponential backoff',
  ],
  remedies: [],
};
