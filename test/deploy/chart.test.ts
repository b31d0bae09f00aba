// The deploy files, checked without helm (no registry ships a helm binary here): plain YAML
// parses, templates keep their directives balanced, and the RBAC, probes, secrets and
// hardening the runbook's operators rely on are the ones written down.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const CHART = join(DEPLOY, 'helm', 'dmp-bot');

const read = (path: string): string => readFileSync(path, 'utf8');

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const yamlFiles = walk(DEPLOY).filter((p) => /\.ya?ml$/.test(p));
const isTemplated = (text: string): boolean => text.includes('{{');

/**
 * A rough stand-in for rendering: lines that hold only a directive go, any other directive
 * becomes a placeholder, so a template's fixed structure can be parsed and looked at.
 */
function skeleton(text: string): unknown[] {
  const lines = text
    .split('\n')
    .filter((line) => !/^\s*\{\{-?[^}]*-?\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{-?.*?-?\}\}/g, 'TEMPLATED'));
  return loadAllYaml(lines.join('\n')).filter((doc) => doc !== null && doc !== undefined);
}

/** The variables src/config.ts reads: the keys of its zod schema. */
function configVariables(): string[] {
  const text = read(join(ROOT, 'src', 'config.ts'));
  const body = text.slice(text.indexOf('const schema = z.object({'));
  const block = body.slice(0, body.indexOf('\n});'));
  return [...block.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] as string);
}

interface Values {
  replicaCount: number;
  secrets: { existingSecret: string; values: Record<string, string> };
  env: Record<string, string>;
  readinessProbe: { httpGet: { path: string; port: string } };
  livenessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
  podSecurityContext: { runAsNonRoot: boolean; runAsUser: number };
  securityContext: {
    readOnlyRootFilesystem: boolean;
    allowPrivilegeEscalation: boolean;
    capabilities: { drop: string[] };
  };
  preStopSleepSeconds: number;
  terminationGracePeriodSeconds: number;
  podDisruptionBudget: { enabled: boolean };
}

const values = loadAllYaml(read(join(CHART, 'values.yaml')))[0] as Values;
const template = (name: string): string => read(join(CHART, 'templates', name));

const SECRET_VARIABLES = [
  'SLACK_BOT_TOKEN',
  'SLACK_SIGNING_SECRET',
  'PAGERDUTY_API_TOKEN',
  'PAGERDUTY_WEBHOOK_SECRETS',
  'BOT_DATABASE_URL',
  'DMP_DATABASE_URL',
  'DMP_REDIS_URL',
  'DMP_ADMIN_TOKEN',
];

describe('the deploy files', () => {
  it('has a Helm chart with plain YAML that parses', () => {
    const plain = yamlFiles.filter((p) => !isTemplated(read(p)));
    expect(plain.map((p) => relative(DEPLOY, p))).toEqual(
      expect.arrayContaining(['helm/dmp-bot/Chart.yaml', 'helm/dmp-bot/values.yaml']),
    );
    for (const path of plain) {
      expect(() => loadAllYaml(read(path)), relative(DEPLOY, path)).not.toThrow();
    }
    const chart = loadAllYaml(read(join(CHART, 'Chart.yaml')))[0] as Record<string, unknown>;
    expect(chart).toMatchObject({ apiVersion: 'v2', name: 'dmp-bot', type: 'application' });
    expect(String(chart.version)).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('keeps every template directive closed and every template shaped like YAML', () => {
    for (const path of yamlFiles.filter((p) => isTemplated(read(p)))) {
      const text = read(path);
      const opened = text.match(/\{\{-?\s*(if|range|with|define)\b/g)?.length ?? 0;
      const closed = text.match(/\{\{-?\s*end\s*-?\}\}/g)?.length ?? 0;
      expect(closed, `${relative(DEPLOY, path)}: {{ end }} count`).toBe(opened);
      expect(() => skeleton(text), relative(DEPLOY, path)).not.toThrow();
    }
    const helpers = template('_helpers.tpl');
    expect(helpers.match(/\{\{-?\s*end\s*-?\}\}/g)?.length).toBe(
      helpers.match(/\{\{-?\s*(if|range|with|define)\b/g)?.length,
    );
  });

  it('runs two replicas by default, ready and alive on /health, with a disruption budget', () => {
    expect(values.replicaCount).toBe(2);
    for (const probe of [values.readinessProbe, values.livenessProbe, values.startupProbe]) {
      expect(probe.httpGet).toEqual({ path: '/health', port: 'http' });
    }
    const deployment = template('deployment.yaml');
    expect(deployment).toContain('replicas: {{ .Values.replicaCount }}');
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
      expect(deployment).toContain(`toYaml .Values.${probe}`);
    }
    expect(deployment).toMatch(/containerPort: \{\{ \.Values\.containerPort \}\}/);
    expect(deployment).toContain('command: ["node", "dist/main.js"]');
    const [pdb] = skeleton(template('pdb.yaml')) as Array<{ kind: string; spec: Record<string, unknown> }>;
    expect(pdb?.kind).toBe('PodDisruptionBudget');
    expect(pdb?.spec).toHaveProperty('selector.matchLabels');
    expect(values.podDisruptionBudget.enabled).toBe(true);
  });

  it('drains on SIGTERM: a preStop pause inside the grace period', () => {
    expect(values.preStopSleepSeconds).toBeGreaterThan(0);
    expect(values.terminationGracePeriodSeconds).toBeGreaterThan(values.preStopSleepSeconds + 10);
    const deployment = template('deployment.yaml');
    expect(deployment).toContain('preStop:');
    expect(deployment).toContain('terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}');
  });

  it('runs as a non-root user on a read-only root filesystem with an emptyDir for /tmp', () => {
    expect(values.podSecurityContext.runAsNonRoot).toBe(true);
    expect(values.podSecurityContext.runAsUser).toBeGreaterThan(0);
    expect(values.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    const [deployment] = skeleton(template('deployment.yaml')) as Array<{
      spec: {
        template: {
          spec: {
            volumes: Array<{ name: string; emptyDir?: unknown }>;
            containers: Array<{ volumeMounts: Array<{ name: string; mountPath: string }> }>;
          };
        };
      };
    }>;
    const pod = deployment?.spec.template.spec;
    expect(pod?.volumes).toEqual([expect.objectContaining({ name: 'tmp', emptyDir: expect.anything() })]);
    expect(pod?.containers[0]?.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
  });

  it('takes the tokens and database URLs from a Secret, never from plain values', () => {
    const deployment = template('deployment.yaml');
    expect(Object.keys(values.secrets.values)).toEqual(expect.arrayContaining(SECRET_VARIABLES));
    for (const name of SECRET_VARIABLES) {
      expect(deployment, name).toMatch(new RegExp(`(name: ${name}\\s+valueFrom:\\s+secretKeyRef:|"${name}")`));
      expect(Object.keys(values.env), `${name} must not be a plain value`).not.toContain(name);
    }
    expect(values.secrets.existingSecret).toBe('');
    expect(template('_helpers.tpl')).toContain('.Values.secrets.existingSecret');
    const [secret] = skeleton(template('secret.yaml')) as Array<{ kind: string; type: string }>;
    expect(secret).toMatchObject({ kind: 'Secret', type: 'Opaque' });
  });

  it('offers every variable the bot reads, and only those', () => {
    const known = configVariables();
    expect(known).toContain('SLACK_BOT_TOKEN');
    // Set by the deployment itself (PORT, DMP_NAMESPACE, DATA_DIR) or by the cluster (KUBECONFIG: in-cluster service account).
    const fixed = ['PORT', 'DMP_NAMESPACE', 'DATA_DIR', 'KUBECONFIG'];
    const offered = [...Object.keys(values.env), ...Object.keys(values.secrets.values), ...fixed];
    const missing = known.filter((name) => !offered.includes(name));
    expect(
      missing,
      'src/config.ts reads these but deploy/helm/dmp-bot/values.yaml does not offer them under env or secrets.values',
    ).toEqual([]);
    const unknown = offered.filter((name) => !known.includes(name));
    expect(unknown, 'values.yaml offers variables src/config.ts does not read').toEqual([]);
  });

  it('gives the service account only what the runbook needs, in the platform namespace', () => {
    const docs = skeleton(template('role.yaml')) as Array<{
      kind: string;
      metadata: { namespace: string };
      rules?: Array<{ apiGroups: string[]; resources: string[]; verbs: string[]; resourceNames?: string[] }>;
      roleRef?: { kind: string };
      subjects?: Array<{ kind: string }>;
    }>;
    const role = docs.find((d) => d.kind === 'Role');
    const binding = docs.find((d) => d.kind === 'RoleBinding');
    expect(docs.map((d) => d.kind)).not.toContain('ClusterRole');
    expect(template('role.yaml')).toContain('namespace: {{ include "dmp-bot.platformNamespace" . }}');
    expect(binding?.roleRef?.kind).toBe('Role');
    expect(binding?.subjects).toEqual([expect.objectContaining({ kind: 'ServiceAccount' })]);

    const rules = role?.rules ?? [];
    const grants = (group: string, resource: string): string[] =>
      rules.filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource)).flatMap((r) => r.verbs);
    expect(grants('apps', 'deployments').sort()).toEqual(['get', 'list', 'patch']);
    expect(grants('apps', 'deployments/scale').sort()).toEqual(['get', 'list', 'patch']);
    expect(grants('apps', 'replicasets').sort()).toEqual(['get', 'list']);
    expect(grants('', 'pods').sort()).toEqual(['get', 'list']);
    expect(grants('', 'pods/log')).toEqual(['get']);
    expect(grants('', 'pods/exec')).toContain('create');
    expect(grants('', 'pods/exec').every((v) => v === 'create' || v === 'get')).toBe(true);
    const secretRules = rules.filter((r) => r.resources.includes('secrets'));
    expect(secretRules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['jwt-keys', 'webhook-secrets'], verbs: ['get'] },
    ]);
    // Nothing else: no wildcards, no delete, no other resources.
    expect(rules.flatMap((r) => [...r.verbs, ...r.resources, ...r.apiGroups])).not.toContain('*');
    expect(rules.flatMap((r) => r.verbs)).not.toContain('delete');
    expect(new Set(rules.flatMap((r) => r.resources))).toEqual(
      new Set(['deployments', 'deployments/scale', 'replicasets', 'pods', 'pods/log', 'pods/exec', 'secrets']),
    );
  });

  it('routes /slack/events and /pagerduty/webhook to the bot through a Service and an optional Ingress', () => {
    const [service] = skeleton(template('service.yaml')) as Array<{
      kind: string;
      spec: { ports: Array<{ targetPort: string }> };
    }>;
    expect(service?.kind).toBe('Service');
    expect(service?.spec.ports[0]?.targetPort).toBe('http');
    const ingress = template('ingress.yaml');
    expect(ingress).toContain('{{- if .Values.ingress.enabled }}');
    expect(ingress).toContain('"/slack/events" "/pagerduty/webhook"');
  });
});

describe('the container image', () => {
  const dockerfile = read(join(ROOT, 'Dockerfile'));
  const stages = dockerfile.split('\n').filter((l) => /^FROM\s/.test(l));

  it('builds in one stage and runs dist/ with production dependencies only in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    expect(stages.every((l) => /node:20-(slim|alpine)/.test(l))).toBe(true);
    expect(dockerfile).toContain('npm run build');
    expect(dockerfile).toContain('npm ci --omit=dev');
    expect(dockerfile).toContain('COPY --from=build /app/dist ./dist');
  });

  it('runs as a numeric non-root user, exposes 3000, checks /health and starts in HTTP mode', () => {
    const user = dockerfile.match(/^USER\s+(\d+)/m);
    expect(Number(user?.[1])).toBeGreaterThan(0);
    expect(dockerfile).toMatch(/^EXPOSE 3000$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n?.*\/health/m);
    expect(dockerfile).toMatch(/^CMD \["node", "dist\/main\.js"\]$/m);
    expect(read(join(ROOT, '.dockerignore'))).toMatch(/^node_modules$/m);
  });
});
