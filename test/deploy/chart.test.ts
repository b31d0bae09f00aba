// The deploy files, checked without helm (no registry ships a helm binary here): plain YAML
// parses, templates keep their directives balanced, and the RBAC, probes, secrets and
// hardening the runbook's operators rely on are the ones written down.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAllYaml } from '@kubernetes/client-node';
import { Ajv } from 'ajv';
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
    // DMP_DEPLOYMENTS comes from platformDeployments, the list the Role names.
    const fixed = ['PORT', 'DMP_NAMESPACE', 'DATA_DIR', 'KUBECONFIG', 'DMP_DEPLOYMENTS'];
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
    const names = (group: string, resource: string, verb: string) =>
      rules
        .filter((r) => r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb))
        .map((r) => r.resourceNames);
    // Deployments are read and changed by name only: the platform's, from platformDeployments.
    expect(grants('apps', 'deployments').sort()).toEqual(['get', 'patch']);
    expect(grants('apps', 'deployments/scale')).toEqual(['patch']);
    for (const [resource, verb] of [
      ['deployments', 'get'],
      ['deployments', 'patch'],
      ['deployments/scale', 'patch'],
    ] as const)
      expect(names('apps', resource, verb), `${verb} ${resource}`).toEqual([['TEMPLATED']]);
    expect(
      template('role.yaml').match(/resourceNames:\n\s+\{\{- range \.Values\.platformDeployments \}\}/g),
    ).toHaveLength(2);
    expect(template('deployment.yaml')).toMatch(
      /name: DMP_DEPLOYMENTS\s+value: \{\{ join "," \.Values\.platformDeployments \| quote \}\}/,
    );
    expect((values as unknown as { platformDeployments: string[] }).platformDeployments).toEqual([
      'api',
      'scan-workers',
    ]);
    expect(grants('apps', 'replicasets')).toEqual(['list']);
    expect(grants('', 'pods').sort()).toEqual(['get', 'list']);
    expect(grants('', 'pods/log')).toEqual(['get']);
    // Exec cannot be named (generated pod names): it is optional, and the bot scopes it by app label.
    expect(grants('', 'pods/exec').sort()).toEqual(['create', 'get']);
    expect(template('role.yaml')).toMatch(
      /\{\{- if \.Values\.rbac\.podExec \}\}\n(\s+#.*\n)+\s+- apiGroups: \[""\]\n\s+resources: \["pods\/exec"\]/,
    );
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

  it('lets only the HTTP port in and only DNS and the listed ports out, never the metadata address', () => {
    const [policy] = skeleton(template('networkpolicy.yaml')) as Array<{
      kind: string;
      spec: {
        policyTypes: string[];
        ingress: Array<{ ports: Array<{ port: unknown }> }>;
        egress: Array<{ to?: Array<{ ipBlock?: { cidr: string; except: string[] } }>; ports: unknown[] }>;
      };
    }>;
    expect(policy?.kind).toBe('NetworkPolicy');
    expect(policy?.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy?.spec.ingress.map((r) => r.ports)).toEqual([[{ port: 'http', protocol: 'TCP' }]]);
    expect(policy?.spec.egress[0]?.ports).toEqual([
      { port: 53, protocol: 'UDP' },
      { port: 53, protocol: 'TCP' },
    ]);
    expect(policy?.spec.egress[1]?.to?.[0]?.ipBlock?.cidr).toBe('0.0.0.0/0');
    const np = (
      values as unknown as { networkPolicy: { enabled: boolean; blockedCidrs: string[]; egressPorts: number[] } }
    ).networkPolicy;
    expect(np.enabled).toBe(true);
    expect(np.blockedCidrs).toContain('169.254.169.254/32');
    expect(np.egressPorts).toEqual(expect.arrayContaining([443, 5432, 6379, 6443]));
    expect(template('networkpolicy.yaml')).toContain('{{- if .Values.networkPolicy.enabled }}');
  });

  it('has a values.schema.json that accepts the chart’s values and refuses wrong ones', () => {
    const schema = JSON.parse(read(join(CHART, 'values.schema.json'))) as {
      properties: { env: { properties: object }; secrets: { properties: { values: { properties: object } } } };
    };
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(values), JSON.stringify(validate.errors)).toBe(true);
    // Every variable values.yaml offers is in the schema, and no other.
    expect(Object.keys(schema.properties.env.properties).sort()).toEqual(Object.keys(values.env).sort());
    expect(Object.keys(schema.properties.secrets.properties.values.properties).sort()).toEqual(
      Object.keys(values.secrets.values).sort(),
    );
    type Loose = {
      [key: string]: unknown;
      env: Record<string, string>;
      platformDeployments: string[];
      networkPolicy: { enabled: unknown; egressPorts: number[] };
      podSecurityContext: { runAsNonRoot: boolean };
    };
    const wrong: Array<[string, (v: Loose) => void]> = [
      ['an unknown top-level key', (v) => (v.replicas = 3)],
      ['a misspelt variable', (v) => (v.env.SLACK_API_ULR = 'x')],
      ['a deployment name Kubernetes refuses', (v) => (v.platformDeployments = ['Scan_Workers'])],
      ['no deployments at all', (v) => (v.platformDeployments = [])],
      ['a string for a boolean', (v) => (v.networkPolicy.enabled = 'yes')],
      ['a port out of range', (v) => (v.networkPolicy.egressPorts = [70000])],
      ['running as root', (v) => (v.podSecurityContext.runAsNonRoot = false)],
    ];
    for (const [what, change] of wrong) {
      const copy = structuredClone(values) as unknown as Loose;
      change(copy);
      expect(validate(copy), what).toBe(false);
    }
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

  it('runs a current Node LTS pinned in one place: .node-version, the Dockerfile’s default and engines agree', () => {
    const pinned = read(join(ROOT, '.node-version')).trim();
    expect(pinned).toMatch(/^\d+(\.\d+){0,2}$/);
    const major = Number(pinned.split('.')[0]);
    // Node 20 reached end of life in 2026-04; 24 is Active LTS.
    expect(major).toBeGreaterThanOrEqual(24);
    expect(major % 2, 'an even (LTS) major').toBe(0);
    expect(dockerfile).toMatch(new RegExp(`^ARG NODE_VERSION=${pinned.replace(/\./g, '\\.')}$`, 'm'));
    expect(stages.every((l) => /^FROM node:\$\{NODE_VERSION\}-(slim|alpine)\b/.test(l))).toBe(true);
    const engines = (JSON.parse(read(join(ROOT, 'package.json'))) as { engines: { node: string } }).engines.node;
    const floor = /^>=\s*(\d+)/.exec(engines);
    expect(floor, `engines.node ${engines} is a >= range`).not.toBeNull();
    expect(major).toBeGreaterThanOrEqual(Number(floor?.[1]));
    // CI's machine runs the tests on its own Node, which the engines range must allow too.
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(Number(floor?.[1]));
  });

  it('builds in one stage and runs dist/ with production dependencies only in another', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
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
