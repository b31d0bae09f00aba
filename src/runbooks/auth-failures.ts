// Runbook: Common Issues › Authentication Failures › Diagnosis: is GitHub (the OAuth provider)
// reachable, when did the JWT signing key last change (never its value), and how many "auth
// error" lines the API logged in the last ten minutes. A recent key change suggests a rollback.
import { formatDuration } from '../duration.js';
import { readSecretMetadata, searchAppLogs } from '../targets/kube-reads.js';
import { plural, tailDetails } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure } from './types.js';

export const JWT_SECRET = 'jwt-keys';
export const API_APP = 'api';
export const AUTH_LOG_WINDOW_S = 10 * 60;
/** A signing key changed this recently is the first suspect when logins start failing. */
export const RECENT_KEY_CHANGE_MS = 24 * 60 * 60_000;
export const AUTH_ERRORS_CRITICAL = 20;
const LATEST = 8;

const oauthProvider: Check = {
  id: 'oauth',
  title: 'GitHub OAuth',
  async run({ targets, signal }): Promise<Finding> {
    const url = targets.config.GITHUB_API_URL;
    const res = await targets.reach.probe(url, { method: 'HEAD', signal });
    const limited = res.status === 403 || res.status === 429;
    return {
      check: this.title,
      status: res.status >= 500 ? 'critical' : limited ? 'warn' : 'ok',
      summary: `${url} answered ${res.status} in ${res.ms} ms${limited ? ' (rate limited?)' : res.status >= 500 ? ' (provider down: enable cached token refresh)' : ''}`,
      facts: { status: res.status },
    };
  },
};

const signingKey: Check = {
  id: 'jwt',
  title: 'JWT signing key',
  async run({ targets, now }): Promise<Finding> {
    const meta = await readSecretMetadata(targets.kube, JWT_SECRET);
    if (!meta.exists) {
      return {
        check: this.title,
        status: 'critical',
        summary: `secret ${JWT_SECRET} not found in namespace ${targets.kube.namespace}`,
        facts: { exists: false, recent: false },
      };
    }
    const changed = meta.lastChanged;
    const ageMs = changed ? now.getTime() - changed.getTime() : undefined;
    const recent = ageMs !== undefined && ageMs < RECENT_KEY_CHANGE_MS;
    const details = [
      `keys: ${meta.keys.length ? meta.keys.join(', ') : '(none)'}`,
      `created ${meta.created?.toISOString() ?? 'unknown'}`,
      `last changed ${changed?.toISOString() ?? 'unknown'}${meta.changedBy ? ` by ${meta.changedBy}` : ''}`,
      ...Object.entries(meta.rotationAnnotations).map(([k, v]) => `${k}: ${v}`),
    ];
    return {
      check: this.title,
      status: meta.keys.length === 0 ? 'critical' : recent ? 'warn' : 'ok',
      summary:
        meta.keys.length === 0
          ? `secret ${JWT_SECRET} has no keys`
          : `secret ${JWT_SECRET} holds ${plural(meta.keys.length, 'key')} (${meta.keys.join(', ')}), last changed ${ageMs === undefined ? 'at an unknown time' : `${formatDuration(ageMs)} ago`}${recent ? ': a recent rotation' : ''}`,
      details,
      facts: { exists: true, recent, keys: meta.keys },
    };
  },
};

const authErrors: Check = {
  id: 'logs',
  title: 'Auth errors in API logs',
  async run({ targets }): Promise<Finding> {
    const found = await searchAppLogs(targets.kube, API_APP, AUTH_LOG_WINDOW_S, /auth error/i);
    const n = found.matches.length;
    if (found.pods === 0)
      return { check: this.title, status: 'warn', summary: `no pods with app=${API_APP}`, facts: { count: 0 } };
    const lines = found.matches.map((m) => `${m.pod}: ${m.line}`);
    return {
      check: this.title,
      status: n >= AUTH_ERRORS_CRITICAL ? 'critical' : n > 0 ? 'warn' : found.errors.length ? 'unknown' : 'ok',
      summary: `${plural(n, '"auth error" line')} in the last 10 minutes across ${plural(found.pods, 'pod')}${found.errors.length ? `; ${plural(found.errors.length, 'log')} unreadable` : ''}`,
      details: [...tailDetails(lines, LATEST), ...found.errors],
      attachment: n > LATEST ? { title: 'auth error lines, last 10 minutes', text: lines.join('\n') } : undefined,
      facts: { count: n },
    };
  },
};

export function adviseAuth(findings: Finding[]): NextStep[] {
  if (!factsOf(findings, signingKey.title)?.recent) return [];
  const errors = Number(factsOf(findings, authErrors.title)?.count ?? 0);
  return [
    {
      remedy: 'rollback-deployment',
      label: 'Roll back api',
      reason: `the JWT signing key changed recently${errors ? ` and the API logged ${plural(errors, 'auth error')}` : ''}: roll back if the rotation broke logins (kubectl rollout undo deployment/api)`,
      params: { deployment: API_APP },
    },
  ];
}

export const authFailures: Procedure = {
  id: 'auth-failures',
  words: ['auth', 'failures'],
  title: 'Authentication failures',
  section: 'Common Issues › Authentication Failures',
  group: 'Diagnosis',
  summary: 'GitHub OAuth reachability, the jwt-keys secret’s age (never its value), recent "auth error" log lines',
  dashboard: '/grafana/d/api',
  checks: [oauthProvider, signingKey, authErrors],
  guidance: [
    'OAuth provider down: enable cached token refresh',
    'JWT key rotation: roll back if the rotation was recent',
    'Rate limiting: check whether the user is rate limited',
  ],
  remedies: [
    {
      id: 'rollback-deployment',
      title: 'Roll back the API',
      risk: 'high',
      section: 'Authentication Failures › Resolution 2',
    },
  ],
  advise: adviseAuth,
};
