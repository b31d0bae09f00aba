import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import {
  jsonMergePatch,
  jsonPatch,
  type KubeFake,
  seedPlatform,
  startKubeFake,
  strategicMergePatch,
} from '@dmp-bot/sim/k8s-fake';
import {
  ApiException,
  AppsV1Api,
  CoreV1Api,
  Exec,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Deployment,
  type V1Status,
  Watch,
} from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const NS = 'dmp';
const smp = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const jsonPatchType = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);

function clients(fake: KubeFake): { kc: KubeConfig; apps: AppsV1Api; core: CoreV1Api } {
  const kc = new KubeConfig();
  kc.loadFromString(fake.kubeconfigYaml());
  return { kc, apps: kc.makeApiClient(AppsV1Api), core: kc.makeApiClient(CoreV1Api) };
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function runExec(
  kc: KubeConfig,
  pod: string,
  command: string[],
): Promise<{ stdout: string; stderr: string; status: V1Status }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  stderr.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const status = await new Promise<V1Status>((resolve, reject) => {
    new Exec(kc).exec(NS, pod, 'api', command, stdout, stderr, null, false, resolve).catch(reject);
  });
  return { stdout: out, stderr: err, status };
}

describe('k8s fake with the real client-node', () => {
  let fake: KubeFake;
  let apps: AppsV1Api;
  let core: CoreV1Api;
  let kc: KubeConfig;

  beforeEach(async () => {
    fake = await startKubeFake();
    seedPlatform(fake);
    ({ kc, apps, core } = clients(fake));
  });

  afterEach(async () => {
    await fake.close();
  });

  it('lists and reads the deployments as kubectl get would see them', async () => {
    const list = await apps.listNamespacedDeployment({ namespace: NS });
    expect(list.kind).toBe('DeploymentList');
    expect(list.items.map((d) => d.metadata?.name)).toEqual(['api', 'scan-workers']);

    const api = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(api.spec?.replicas).toBe(3);
    expect(api.spec?.template.spec?.containers[0]?.image).toBe('ghcr.io/dmp/api:1.2.3');
    expect(api.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(api.status?.readyReplicas).toBe(3);
    expect(api.status?.observedGeneration).toBe(api.metadata?.generation);
    expect(api.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');

    const byLabel = await apps.listNamespacedDeployment({ namespace: NS, labelSelector: 'app=scan-workers' });
    expect(byLabel.items.map((d) => d.metadata?.name)).toEqual(['scan-workers']);
  });

  it('answers a missing object with a NotFound Status', async () => {
    const error = await apps.readNamespacedDeployment({ name: 'nope', namespace: NS }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiException);
    const e = error as ApiException<string>;
    expect(e.code).toBe(404);
    const status = JSON.parse(e.body) as V1Status;
    expect(status).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    expect(status.message).toBe('deployments.apps "nope" not found');
  });

  it('refuses a request without the bearer token', async () => {
    const res = await fetch(`${fake.url}/api/v1/namespaces/${NS}/pods`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
  });

  it('lists pods by label, with the ReplicaSet hash and restart counts', async () => {
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app=api' });
    expect(pods.items).toHaveLength(3);
    const [rs] = (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=api' })).items.filter(
      (r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3',
    );
    const hash = rs?.metadata?.labels?.['pod-template-hash'];
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
    for (const pod of pods.items) {
      expect(pod.metadata?.name).toMatch(new RegExp(`^api-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
      expect(pod.status?.phase).toBe('Running');
      expect(pod.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    }
    const two = await core.listNamespacedPod({
      namespace: NS,
      labelSelector: `app=api,pod-template-hash=${hash}`,
      limit: 2,
    });
    expect(two.items).toHaveLength(2);
    expect(two.metadata?._continue).toBeTruthy();
  });

  it('reads logs with sinceSeconds, filtering by time', async () => {
    const pods = fake.pods('api');
    const texts = await Promise.all(
      pods.map((p) => core.readNamespacedPodLog({ name: p.metadata.name, namespace: NS, sinceSeconds: 600 })),
    );
    const all = texts.join('');
    const authErrors = all.split('\n').filter((l) => l.includes('auth error: invalid JWT signature'));
    expect(authErrors).toHaveLength(4);
    const hour = await Promise.all(
      pods.map((p) => core.readNamespacedPodLog({ name: p.metadata.name, namespace: NS, sinceSeconds: 3600 })),
    );
    expect(
      hour
        .join('')
        .split('\n')
        .filter((l) => l.includes('webhook delivery failed: 401 from github')),
    ).toHaveLength(5);

    const tail = await core.readNamespacedPodLog({
      name: pods[0]?.metadata.name ?? '',
      namespace: NS,
      tailLines: 2,
      timestamps: true,
    });
    expect(tail.trimEnd().split('\n')).toHaveLength(2);
    expect(fake.requests.some((r) => r.path.endsWith('/log') && r.query.sinceSeconds === '600')).toBe(true);
  });

  it('reads secrets base64-encoded', async () => {
    const jwt = await core.readNamespacedSecret({ name: 'jwt-keys', namespace: NS });
    expect(Object.keys(jwt.data ?? {}).sort()).toEqual(['private.pem', 'public.pem']);
    expect(Buffer.from(jwt.data?.['public.pem'] ?? '', 'base64').toString()).toContain('BEGIN PUBLIC KEY');
    const hooks = await core.readNamespacedSecret({ name: 'webhook-secrets', namespace: NS });
    expect(Buffer.from(hooks.data?.github ?? '', 'base64').toString()).toMatch(/^[0-9a-f]{40}$/);
  });

  it('scales scan-workers through the scale subresource', async () => {
    const scale = await apps.readNamespacedDeploymentScale({ name: 'scan-workers', namespace: NS });
    expect(scale).toMatchObject({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      spec: { replicas: 3 },
      status: { selector: 'app=scan-workers' },
    });

    await apps.patchNamespacedDeploymentScale(
      { name: 'scan-workers', namespace: NS, body: { spec: { replicas: 5 } } },
      mergePatch,
    );
    expect(fake.pods('scan-workers')).toHaveLength(5);
    const d = await apps.readNamespacedDeployment({ name: 'scan-workers', namespace: NS });
    expect(d.spec?.replicas).toBe(5);
    expect(d.status?.readyReplicas).toBe(5);
    expect(d.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('1');

    const current = await apps.readNamespacedDeploymentScale({ name: 'scan-workers', namespace: NS });
    await apps.replaceNamespacedDeploymentScale({
      name: 'scan-workers',
      namespace: NS,
      body: { ...current, spec: { replicas: 2 } },
    });
    expect(fake.pods('scan-workers')).toHaveLength(2);
    expect(fake.listReplicaSets('scan-workers')).toHaveLength(1);
    const patchReq = fake.requests.find((r) => r.method === 'PATCH' && r.path.endsWith('/scale'));
    expect(patchReq?.contentType).toBe('application/merge-patch+json');
  });

  it('restarts a deployment like kubectl rollout restart: new ReplicaSet, new pods', async () => {
    const before = fake.pods('scan-workers').map((p) => p.metadata.name);
    const restartedAt = new Date().toISOString();
    const answer = await apps.patchNamespacedDeployment(
      {
        name: 'scan-workers',
        namespace: NS,
        body: {
          spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': restartedAt } } } },
        },
      },
      smp,
    );
    expect(answer.metadata?.generation).toBe(2);
    const req = fake.requests.find((r) => r.method === 'PATCH');
    expect(req?.contentType).toBe('application/strategic-merge-patch+json');

    const rss = fake.listReplicaSets('scan-workers');
    expect(rss).toHaveLength(2);
    expect(rss.map((r) => [r.metadata.annotations?.['deployment.kubernetes.io/revision'], r.spec.replicas])).toEqual([
      ['1', 0],
      ['2', 3],
    ]);
    expect(rss[1]?.spec.template.metadata.annotations?.['kubectl.kubernetes.io/restartedAt']).toBe(restartedAt);
    const after = fake.pods('scan-workers');
    expect(after).toHaveLength(3);
    expect(after.some((p) => before.includes(p.metadata.name))).toBe(false);
    expect(after.every((p) => p.metadata.name.startsWith(`${rss[1]?.metadata.name}-`))).toBe(true);
    // The container list merged by name: the image and env survived the patch.
    const d = fake.getDeployment('scan-workers');
    expect(d?.spec.template.spec.containers[0]?.image).toBe('ghcr.io/dmp/scan-worker:1.2.3');
    expect(d?.status).toMatchObject({ observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(d?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('merges container lists by name and env by name in a strategic merge patch', async () => {
    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'api',
                    env: [
                      { name: 'LOG_LEVEL', value: 'debug' },
                      { name: 'NEW_FLAG', value: '1' },
                    ],
                  },
                ],
              },
            },
          },
        },
      },
      smp,
    );
    const c = fake.getDeployment('api')?.spec.template.spec.containers[0];
    expect(c?.image).toBe('ghcr.io/dmp/api:1.2.3');
    expect(c?.env).toEqual([
      { name: 'DMP_ENV', value: 'production' },
      { name: 'LOG_LEVEL', value: 'debug' },
      { name: 'JWT_KEYS_DIR', value: '/etc/dmp/jwt' },
      { name: 'NEW_FLAG', value: '1' },
    ]);
  });

  it('applies a JSON merge patch and a JSON patch', async () => {
    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: { metadata: { annotations: { 'dmp.io/owner': 'platform' } }, spec: { replicas: 4 } },
      },
      mergePatch,
    );
    expect(fake.getDeployment('api')?.metadata.annotations?.['dmp.io/owner']).toBe('platform');
    expect(fake.pods('api')).toHaveLength(4);

    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: [
          { op: 'test', path: '/spec/replicas', value: 4 },
          { op: 'replace', path: '/spec/replicas', value: 2 },
          { op: 'remove', path: '/metadata/annotations/dmp.io~1owner' },
        ],
      },
      jsonPatchType,
    );
    const d = fake.getDeployment('api');
    expect(d?.spec.replicas).toBe(2);
    expect(d?.metadata.annotations?.['dmp.io/owner']).toBeUndefined();
    expect(fake.pods('api')).toHaveLength(2);

    const failed = await apps
      .patchNamespacedDeployment(
        { name: 'api', namespace: NS, body: [{ op: 'test', path: '/spec/replicas', value: 9 }] },
        jsonPatchType,
      )
      .catch((e: unknown) => e as ApiException<string>);
    expect((failed as ApiException<string>).code).toBe(422);
  });

  it('rolls back by copying an old ReplicaSet template, reusing that ReplicaSet as kubectl rollout undo does', async () => {
    const rss = (await apps.listNamespacedReplicaSet({ namespace: NS, labelSelector: 'app=api' })).items;
    expect(rss).toHaveLength(3);
    const rev2 = rss.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2');
    expect(rev2?.spec?.template?.spec?.containers[0]?.image).toBe('ghcr.io/dmp/api:1.2.2');
    const template = structuredClone(rev2?.spec?.template);
    delete template?.metadata?.labels?.['pod-template-hash'];
    const annotations = { ...rev2?.metadata?.annotations };
    for (const k of Object.keys(annotations)) if (k.startsWith('deployment.kubernetes.io/')) delete annotations[k];
    const deployment = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });

    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: [
          { op: 'replace', path: '/spec/template', value: template },
          {
            op: 'replace',
            path: '/metadata/annotations',
            value: {
              ...annotations,
              'deployment.kubernetes.io/revision':
                deployment.metadata?.annotations?.['deployment.kubernetes.io/revision'],
            },
          },
        ],
      },
      jsonPatchType,
    );

    const after = fake.listReplicaSets('api');
    expect(after).toHaveLength(3);
    const reused = after.find((r) => r.metadata.name === rev2?.metadata?.name);
    expect(reused?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    expect(reused?.metadata.annotations?.['deployment.kubernetes.io/revision-history']).toBe('2');
    expect(reused?.spec.replicas).toBe(3);
    const d = fake.getDeployment('api');
    expect(d?.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
    expect(d?.metadata.annotations?.['kubernetes.io/change-cause']).toContain('1.2.2');
    expect(fake.pods('api').every((p) => p.spec.containers[0]?.image === 'ghcr.io/dmp/api:1.2.2')).toBe(true);
  });

  it('replaces a deployment read through client-node without a spurious rollout, and refuses a stale one', async () => {
    const d = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    const stale = structuredClone(d);
    if (d.spec) d.spec.replicas = 4;
    const put = await apps.replaceNamespacedDeployment({ name: 'api', namespace: NS, body: d });
    expect(put.metadata?.generation).toBe((stale.metadata?.generation ?? 0) + 1);
    expect(fake.listReplicaSets('api')).toHaveLength(3);
    expect(fake.pods('api')).toHaveLength(4);

    const conflict = await apps
      .replaceNamespacedDeployment({ name: 'api', namespace: NS, body: stale })
      .catch((e: unknown) => e as ApiException<string>);
    expect((conflict as ApiException<string>).code).toBe(409);
    expect(JSON.parse((conflict as ApiException<string>).body)).toMatchObject({ reason: 'Conflict' });
  });

  it('streams watch events that follow a rollout', async () => {
    fake.setRolloutDelay(100);
    const seen: Array<{ type: string; updated: number; progressing: string | undefined }> = [];
    const watch = new Watch(kc);
    const controller = await watch.watch(
      `/apis/apps/v1/namespaces/${NS}/deployments`,
      { fieldSelector: 'metadata.name=api' },
      (type: string, obj: V1Deployment) => {
        seen.push({
          type,
          updated: obj.status?.updatedReplicas ?? 0,
          progressing: obj.status?.conditions?.find((c) => c.type === 'Progressing')?.reason,
        });
      },
      () => undefined,
    );
    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'x' } } } } },
      },
      smp,
    );
    await until(() =>
      seen.some((e) => e.progressing === 'NewReplicaSetAvailable' && e.updated === 3 && seen.indexOf(e) > 0),
    );
    controller.abort();
    expect(seen[0]?.type).toBe('ADDED');
    expect(seen.some((e) => e.progressing === 'ReplicaSetUpdated' && e.updated < 3)).toBe(true);
  });

  it('does not roll out a paused deployment, and rolls out on resume', async () => {
    await apps.patchNamespacedDeployment(
      { name: 'scan-workers', namespace: NS, body: { spec: { paused: true } } },
      smp,
    );
    const before = fake.pods('scan-workers').map((p) => p.metadata.name);
    await apps.patchNamespacedDeployment(
      {
        name: 'scan-workers',
        namespace: NS,
        body: {
          spec: {
            template: { spec: { containers: [{ name: 'scan-worker', image: 'ghcr.io/dmp/scan-worker:1.2.4' }] } },
          },
        },
      },
      smp,
    );
    expect(fake.listReplicaSets('scan-workers')).toHaveLength(1);
    expect(fake.pods('scan-workers').map((p) => p.metadata.name)).toEqual(before);
    const paused = fake.getDeployment('scan-workers');
    expect(paused?.status.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'Unknown',
      reason: 'DeploymentPaused',
    });
    expect(paused?.status.updatedReplicas).toBeUndefined();

    await apps.patchNamespacedDeployment(
      { name: 'scan-workers', namespace: NS, body: { spec: { paused: null } } },
      smp,
    );
    expect(fake.listReplicaSets('scan-workers')).toHaveLength(2);
    expect(
      fake.pods('scan-workers').every((p) => p.spec.containers[0]?.image === 'ghcr.io/dmp/scan-worker:1.2.4'),
    ).toBe(true);
  });

  it('shows a rollout in progress for rolloutDelayMs, then complete', async () => {
    fake.setRolloutDelay(150);
    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': 'now' } } } } },
      },
      smp,
    );
    const during = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(during.status?.updatedReplicas ?? 0).toBeLessThan(3);
    expect(during.status?.observedGeneration).toBe(during.metadata?.generation);
    await until(() => fake.getDeployment('api')?.status.updatedReplicas === 3);
    const done = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(done.status).toMatchObject({ replicas: 3, updatedReplicas: 3, availableReplicas: 3 });
    expect(done.status?.conditions?.find((c) => c.type === 'Progressing')?.reason).toBe('NewReplicaSetAvailable');
  });

  it('leaves a failed rollout with ProgressDeadlineExceeded', async () => {
    fake.failNextRollout();
    await apps.patchNamespacedDeployment(
      {
        name: 'api',
        namespace: NS,
        body: { spec: { template: { spec: { containers: [{ name: 'api', image: 'ghcr.io/dmp/api:9.9.9' }] } } } },
      },
      smp,
    );
    const d = await apps.readNamespacedDeployment({ name: 'api', namespace: NS });
    expect(d.status?.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({
      status: 'False',
      reason: 'ProgressDeadlineExceeded',
    });
    expect(d.status?.availableReplicas).toBe(3);
    expect(d.status?.updatedReplicas).toBe(1);
    const crashing = fake.pods('api').filter((p) => p.spec.containers[0]?.image === 'ghcr.io/dmp/api:9.9.9');
    expect(crashing[0]?.status.containerStatuses?.[0]?.state.waiting?.reason).toBe('CrashLoopBackOff');
  });

  it('recreates a deleted pod', async () => {
    const [victim] = fake.pods('scan-workers');
    await core.deleteNamespacedPod({ name: victim?.metadata.name ?? '', namespace: NS });
    const pods = fake.pods('scan-workers');
    expect(pods).toHaveLength(3);
    expect(pods.map((p) => p.metadata.name)).not.toContain(victim?.metadata.name);
  });

  it('runs df and logrotate through the Exec class', async () => {
    const pod = fake.pods('api')[0]?.metadata.name ?? '';
    const df = await runExec(kc, pod, ['df', '-h', '/var/log']);
    expect(df.status.status).toBe('Success');
    expect(df.stdout).toMatch(/^Filesystem\s+Size\s+Used\s+Avail\s+Use%\s+Mounted on\n/);
    expect(df.stdout).toMatch(/78% \/var\/log\n$/);

    const rotate = await runExec(kc, pod, ['logrotate', '-f', '/etc/logrotate.conf']);
    expect(rotate.status.status).toBe('Success');
    expect((await runExec(kc, pod, ['df', '-h', '/var/log'])).stdout).toMatch(/31% \/var\/log/);

    fake.setExecHandler(() => ({ stdout: '', stderr: 'boom\n', exitCode: 3 }));
    const failed = await runExec(kc, pod, ['sh', '-c', 'exit 3']);
    expect(failed.stderr).toBe('boom\n');
    expect(failed.status).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    const execReq = fake.requests.find((r) => r.path.endsWith('/exec'));
    expect(execReq?.query.command).toEqual(['df', '-h', '/var/log']);
  });

  it('hangs when told to, and close() still ends the hung request', async () => {
    fake.setFault('hang');
    let settled = false;
    const pending = apps.readNamespacedDeployment({ name: 'api', namespace: NS }).then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    expect(fake.requests.at(-1)?.status).toBeUndefined();
    await fake.close();
    await pending;
    expect(settled).toBe(true);
  });

  it('answers 500 Status and garbage when told to', async () => {
    fake.setFault('error');
    const e = await apps
      .readNamespacedDeployment({ name: 'api', namespace: NS })
      .catch((x: unknown) => x as ApiException<string>);
    expect((e as ApiException<string>).code).toBe(500);
    fake.setFault('garbage');
    await expect(apps.readNamespacedDeployment({ name: 'api', namespace: NS })).rejects.toThrow();
    fake.setFault('none');
    await expect(apps.readNamespacedDeployment({ name: 'api', namespace: NS })).resolves.toBeTruthy();
  });

  it('goes down and comes back up on the same port', async () => {
    const url = fake.url;
    await fake.down();
    await expect(apps.readNamespacedDeployment({ name: 'api', namespace: NS })).rejects.toThrow();
    await fake.up();
    expect(fake.url).toBe(url);
    await expect(apps.readNamespacedDeployment({ name: 'api', namespace: NS })).resolves.toBeTruthy();
  });

  it('writes a kubeconfig file that client-node loads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'k8s-fake-'));
    try {
      const path = fake.writeKubeconfig(dir);
      const loaded = new KubeConfig();
      loaded.loadFromFile(path);
      expect(loaded.getCurrentCluster()?.server).toBe(fake.url);
      expect(loaded.getContextObject(loaded.getCurrentContext())?.namespace).toBe(NS);
      expect(readFileSync(path, 'utf8')).toContain(fake.token);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('k8s fake for kubectl', () => {
  it('serves API discovery, and with requireAuth off answers without a token (client-go sends none over http)', async () => {
    const fake = await startKubeFake({ requireAuth: false });
    try {
      const res = await fetch(`${fake.url}/apis/apps/v1`);
      expect(res.status).toBe(200);
      const list = (await res.json()) as { resources: Array<{ name: string }> };
      expect(list.resources.map((r) => r.name)).toContain('deployments/scale');
    } finally {
      await fake.close();
    }
  });
});

describe('patch semantics', () => {
  it('strategic merge: null deletes, maps merge, merge-keyed lists merge, other lists replace', () => {
    const original = {
      metadata: { labels: { a: '1', b: '2' } },
      spec: {
        containers: [
          { name: 'x', image: 'x:1', args: ['--a'], ports: [{ containerPort: 80, protocol: 'TCP' }] },
          { name: 'y', image: 'y:1' },
        ],
        tolerations: [{ key: 'k1' }],
      },
    };
    const patched = strategicMergePatch(original, {
      metadata: { labels: { a: null, c: '3' } },
      spec: {
        containers: [
          { name: 'x', args: ['--b'], ports: [{ containerPort: 9090 }] },
          { name: 'y', $patch: 'delete' },
          { name: 'z', image: 'z:1' },
        ],
        tolerations: [{ key: 'k2' }],
      },
    });
    expect(patched).toEqual({
      metadata: { labels: { b: '2', c: '3' } },
      spec: {
        containers: [
          {
            name: 'x',
            image: 'x:1',
            args: ['--b'],
            ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 9090 }],
          },
          { name: 'z', image: 'z:1' },
        ],
        tolerations: [{ key: 'k2' }],
      },
    });
    expect(strategicMergePatch({ spec: { a: 1, b: 2 } }, { spec: { $patch: 'replace', c: 3 } })).toEqual({
      spec: { c: 3 },
    });
  });

  it('merge patch follows RFC 7386', () => {
    expect(jsonMergePatch({ a: 'b', c: { d: 'e', f: 'g' } }, { a: 'z', c: { f: null } })).toEqual({
      a: 'z',
      c: { d: 'e' },
    });
    expect(jsonMergePatch({ a: [1, 2] }, { a: [3] })).toEqual({ a: [3] });
  });

  it('JSON patch follows RFC 6902', () => {
    const doc = { foo: ['bar', 'baz'], a: { b: 1 } };
    expect(
      jsonPatch(doc, [
        { op: 'add', path: '/foo/1', value: 'qux' },
        { op: 'add', path: '/foo/-', value: 'end' },
        { op: 'move', from: '/a/b', path: '/moved' },
        { op: 'copy', from: '/foo/0', path: '/first' },
        { op: 'test', path: '/moved', value: 1 },
      ]),
    ).toEqual({ foo: ['bar', 'qux', 'baz', 'end'], a: {}, moved: 1, first: 'bar' });
    expect(() => jsonPatch(doc, [{ op: 'replace', path: '/missing', value: 1 }])).toThrow(/doc is missing key/);
    expect(doc).toEqual({ foo: ['bar', 'baz'], a: { b: 1 } });
  });
});
