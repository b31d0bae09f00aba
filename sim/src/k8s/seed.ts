/**
 * The DMP platform's believable state: the api and scan-workers deployments with their
 * release history, the secrets, and an hour of api logs with the failures the runbook greps for.
 */
import { createHash, generateKeyPairSync, randomUUID } from 'node:crypto';
import { mulberry32 } from '../random.js';
import type { LogLine } from './objects.js';
import type { KubeFake } from './server.js';

export interface SeedSummary {
  /** "auth error: invalid JWT signature" lines in the api pods' logs in the last 10 minutes. */
  authErrorsLast10m: number;
  /** ...and in the last hour. */
  authErrorsLastHour: number;
  /** "webhook delivery failed: 401 from github" lines in the last hour. */
  webhookFailuresLastHour: number;
}

let jwtKeys: { privateKey: string; publicKey: string } | undefined;

function jwtKeyPair(): { privateKey: string; publicKey: string } {
  jwtKeys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return jwtKeys;
}

/**
 * Builds the DMP platform: `api` (3 replicas, revisions 1.2.1 → 1.2.2 → 1.2.3),
 * `scan-workers` (3 replicas), secrets `jwt-keys` and `webhook-secrets`, and api logs for
 * the last hour with a few JWT signature and GitHub webhook failures among normal requests.
 */
export function seedPlatform(fake: KubeFake, now: Date = fake.now()): SeedSummary {
  const t = now.getTime();
  const minutes = (m: number): Date => new Date(t - m * 60_000);
  const days = (d: number): Date => new Date(t - d * 86_400_000);
  const apiContainer = (image: string): { name: string; [field: string]: unknown } => ({
    name: 'api',
    image,
    ports: [{ name: 'http', containerPort: 8080 }],
    env: [
      { name: 'DMP_ENV', value: 'production' },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'JWT_KEYS_DIR', value: '/etc/dmp/jwt' },
    ],
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
    readinessProbe: {
      httpGet: { path: '/health', port: 8080, scheme: 'HTTP' },
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
  });

  fake.addDeployment({
    name: 'api',
    labels: { app: 'api' },
    replicas: 3,
    image: 'ghcr.io/dmp/api:1.2.1',
    containers: [apiContainer('ghcr.io/dmp/api:1.2.1')],
    annotations: { 'kubernetes.io/change-cause': 'release 1.2.1: graph query pagination (deploy #412)' },
    createdAt: days(41),
  });
  const release = (version: string, cause: string, at: Date): void => {
    fake.updateDeployment(
      'api',
      (d) => {
        const container = d.spec.template.spec.containers[0];
        if (container) container.image = `ghcr.io/dmp/api:${version}`;
        d.metadata.annotations = { ...d.metadata.annotations, 'kubernetes.io/change-cause': cause };
      },
      { at },
    );
  };
  release('1.2.2', 'release 1.2.2: webhook retry backoff (deploy #431)', days(9));
  release('1.2.3', 'release 1.2.3: JWT key rotation support (deploy #447)', minutes(26 * 60));

  fake.addDeployment({
    name: 'scan-workers',
    labels: { app: 'scan-workers' },
    replicas: 3,
    image: 'ghcr.io/dmp/scan-worker:1.2.3',
    containers: [
      {
        name: 'scan-worker',
        image: 'ghcr.io/dmp/scan-worker:1.2.3',
        env: [
          { name: 'DMP_ENV', value: 'production' },
          { name: 'WORKER_CONCURRENCY', value: '4' },
        ],
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
      },
    ],
    annotations: { 'kubernetes.io/change-cause': 'release 1.2.3 (deploy #447)' },
    createdAt: days(41),
  });

  const keys = jwtKeyPair();
  fake.addSecret({
    name: 'jwt-keys',
    data: { 'private.pem': keys.privateKey, 'public.pem': keys.publicKey },
    labels: { app: 'api' },
    creationTimestamp: days(88),
  });
  fake.addSecret({
    name: 'webhook-secrets',
    data: { github: createHash('sha256').update(`dmp-github-webhook-${fake.namespace}`).digest('hex').slice(0, 40) },
    labels: { app: 'api' },
    creationTimestamp: days(120),
  });

  // Logs: normal traffic for the last 65 minutes, plus the incidents the runbook greps for.
  const random = mulberry32(20240611);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const tenants = ['acme-corp', 'globex', 'initech', 'umbrella', 'hooli', 'stark-industries'];
  const routes = [
    'GET /api/v1/repositories',
    'GET /api/v1/graph/dependencies',
    'GET /api/v1/scans',
    'POST /api/v1/scans',
    'GET /api/v1/vulnerabilities',
    'GET /health',
  ];
  const repos = ['acme/payments-service', 'globex/web', 'initech/tps-reports', 'hooli/nucleus'];
  const apiPods = fake.pods('api').map((p) => p.metadata.name);
  const byPod = new Map<string, LogLine[]>(apiPods.map((name) => [name, []]));
  const line = (at: Date, level: string, text: string): LogLine => ({
    at,
    text: `${at.toISOString()} ${level.padEnd(5)} ${text}`,
  });
  const requestId = (): string =>
    `req_${Math.floor(random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}`;
  for (const podName of apiPods) {
    const lines = byPod.get(podName) ?? [];
    for (let ms = 65 * 60_000; ms > 0; ms -= 15_000 + Math.floor(random() * 30_000)) {
      const at = new Date(t - ms);
      const status = random() < 0.96 ? 200 : 404;
      lines.push(
        line(
          at,
          'INFO',
          `[http] ${pick(routes)} ${status} ${5 + Math.floor(random() * 180)}ms tenant=${pick(tenants)} request_id=${requestId()}`,
        ),
      );
    }
    byPod.set(podName, lines);
  }
  const podAt = (i: number): LogLine[] => byPod.get(apiPods[i % apiPods.length] ?? '') ?? [];
  const authErrorMinutes = [2, 4.5, 7, 8.5, 23, 41];
  authErrorMinutes.forEach((m, i) => {
    podAt(i).push(
      line(
        minutes(m),
        'ERROR',
        `[auth] auth error: invalid JWT signature kid=dmp-2024-11 path=/api/v1/graph/dependencies tenant=${pick(tenants)} request_id=${requestId()}`,
      ),
    );
  });
  const webhookMinutes = [3, 12, 19, 34, 52];
  webhookMinutes.forEach((m, i) => {
    podAt(i + 1).push(
      line(
        minutes(m),
        'WARN',
        `[webhooks] webhook delivery failed: 401 from github delivery=${randomUUID()} repo=${pick(repos)} attempt=${1 + (i % 3)}`,
      ),
    );
  });
  for (const [podName, lines] of byPod) fake.setPodLogs(podName, lines);

  return {
    authErrorsLast10m: authErrorMinutes.filter((m) => m < 10).length,
    authErrorsLastHour: authErrorMinutes.filter((m) => m < 60).length,
    webhookFailuresLastHour: webhookMinutes.filter((m) => m < 60).length,
  };
}
