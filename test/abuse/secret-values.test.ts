// Secrets never arrive: the Kubernetes fake answers a metadata-only Accept the way the API server
// does (PartialObjectMetadata, no data), the bot asks for secrets only that way, so no value ever
// reaches it, and pod-log lines are redacted as they are read, from the very first command on.
import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METADATA_LIST_ONLY, METADATA_ONLY } from '../../src/targets/kube-reads.js';
import { allText, startTestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { finding, makeTargets, type TestTargets } from '../helpers/targets.js';

const JWT_PRIVATE = 'jwt-private-value-4d1f0c77';
const JWT_PUBLIC = 'jwt-public-value-9a83be12';
const GITHUB_SECRET = 'github-webhook-value-55e0a1';
const VALUES = [JWT_PRIVATE, JWT_PUBLIC, GITHUB_SECRET].flatMap((v) => [v, Buffer.from(v).toString('base64')]);

interface Answer {
  kind?: string;
  apiVersion?: string;
  metadata: { managedFields: unknown[] };
  items: Array<{ kind?: string }>;
  data: Record<string, string>;
}

async function get(kube: TestKube, path: string, accept?: string) {
  const res = await fetch(`${kube.fake.url}${path}`, {
    headers: { authorization: `Bearer ${kube.fake.token}`, ...(accept ? { accept } : {}) },
  });
  return { status: res.status, type: res.headers.get('content-type'), json: (await res.json()) as Answer };
}

describe('abuse: secret values never reach the bot', () => {
  let kube: TestKube;
  let t: TestTargets;

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    kube.fake.addSecret({
      name: 'jwt-keys',
      data: { 'private.pem': JWT_PRIVATE, 'public.pem': JWT_PUBLIC },
      labels: { app: 'api' },
      creationTimestamp: new Date(Date.now() - 30 * 86_400_000),
      manager: 'kubectl-client-side-apply',
      changedAt: new Date(Date.now() - 3 * 86_400_000),
    });
    kube.fake.addSecret({ name: 'webhook-secrets', data: { github: GITHUB_SECRET } });
    t = await makeTargets({ KUBECONFIG: kube.kubeconfig, GITHUB_API_URL: 'http://127.0.0.1:9/' });
  });
  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  it('the fake answers a metadata-only Accept as the API server does, and full objects otherwise', async () => {
    const path = '/api/v1/namespaces/dmp/secrets';
    const one = await get(kube, `${path}/jwt-keys`, METADATA_ONLY);
    expect(one.status).toBe(200);
    expect(one.type).toBe('application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1');
    expect(Object.keys(one.json).sort()).toEqual(['apiVersion', 'kind', 'metadata']);
    expect(one.json).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1' });
    expect(one.json.metadata.managedFields[0]).toMatchObject({
      manager: 'kubectl-client-side-apply',
      operation: 'Update',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:data': { '.': {}, 'f:private.pem': {}, 'f:public.pem': {} } },
    });

    const list = await get(kube, path, METADATA_LIST_ONLY);
    expect(list.json.kind).toBe('PartialObjectMetadataList');
    expect(list.json.apiVersion).toBe('meta.k8s.io/v1');
    expect(list.json.items.map((i) => i.kind)).toEqual(['PartialObjectMetadata', 'PartialObjectMetadata']);
    for (const answer of [one.json, list.json]) for (const v of VALUES) expect(JSON.stringify(answer)).not.toContain(v);

    // Asked plainly, the API server sends the whole object, data and all.
    const full = await get(kube, `${path}/jwt-keys`);
    expect(full.json.kind).toBe('Secret');
    expect(full.json.data['private.pem']).toBe(Buffer.from(JWT_PRIVATE).toString('base64'));
    expect((await get(kube, path, 'application/json')).json.kind).toBe('SecretList');
    // A transformation it does not serve for that request is 406, as the API server answers.
    const wrong = await get(kube, `${path}/jwt-keys`, METADATA_LIST_ONLY);
    expect(wrong.status).toBe(406);
    expect(wrong.json).toMatchObject({ kind: 'Status', reason: 'NotAcceptable', code: 406 });
  });

  it('reads every secret as metadata only: key names from managedFields, times from metadata, no value received', async () => {
    const from = kube.fake.requests.length;
    const auth = await t.run('auth-failures');
    const hooks = await t.run('webhooks');
    expect(finding(auth, 'JWT signing key').summary).toMatch(
      /^secret jwt-keys holds 2 keys \(private\.pem, public\.pem\), last changed 3d( \d+h)?( \d+m)?( \d+s)? ago$/,
    );
    expect(finding(hooks, 'Webhook secret').summary).toMatch(/^secret webhook-secrets has key github, last changed /);
    const reads = kube.fake.requests.slice(from).filter((r) => r.path.includes('/secrets'));
    expect(reads.length).toBeGreaterThanOrEqual(2);
    for (const r of reads) {
      expect(r.accept).toBe(METADATA_ONLY);
      expect(r.status).toBe(200);
      for (const v of VALUES) expect(r.answer ?? '').not.toContain(v);
    }
    // Nothing else the bot asked for carried a secret either (no list of secrets, no full read).
    for (const r of kube.fake.requests.slice(from)) for (const v of VALUES) expect(r.answer ?? '').not.toContain(v);
  });
});

describe('abuse: pod-log lines are redacted from the first line on', () => {
  it('the very first command, /dmp logs, shows no configured secret, private key, JWT or token from a pod’s log', async () => {
    const kube = await startTestKube();
    seedPlatform(kube.fake);
    const admin = 'adm-token-3f9d2c71e8';
    const dbPassword = 'db-pass-7c2e19aa';
    const bot = await startTestBot({
      env: {
        KUBECONFIG: kube.kubeconfig,
        DMP_ADMIN_TOKEN: admin,
        DMP_DATABASE_URL: `postgres://dmp:${dbPassword}@127.0.0.1:9/dmp`,
      },
    });
    try {
      const [pod] = kube.fake.pods('api');
      const at = (s: number) => new Date(Date.now() - s * 1000);
      const planted = [
        `using admin token ${admin}`,
        `connecting with password ${dbPassword}`,
        '-----BEGIN PRIVATE KEY-----',
        'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
        '-----END PRIVATE KEY-----',
        'session eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ0ZW5hbnQtNDIifQ.ZmFrZS1zaWduYXR1cmUtdmFsdWU',
        'fetch https://ghp_PlantedT0kenAsUser0000000001@github.com/acme/repo',
      ];
      kube.fake.setPodLogs(
        pod?.metadata.name ?? '',
        planted.map((text, i) => ({ at: at(60 - i), text })),
      );
      const res = await bot.slash('logs api --since 5m');
      expect(res.status).toBe(200);
      // Inline in the ack, or (on a slow machine) late through response_url: wait for whichever.
      if (!res.body.includes('using admin token')) await bot.slack.waitFor((a) => a.kind === 'response', 30_000);
      const everything = [
        res.body,
        allText(bot.slack.calls.map((c) => c.args)),
        allText(bot.slack.responses.map((r) => r.body)),
        bot.slack.files.map((f) => f.content).join('\n'),
        bot.logs.join('\n'),
      ].join('\n');
      expect(everything).toContain('using admin token [redacted]');
      for (const secret of [
        admin,
        dbPassword,
        'MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj',
        'eyJzdWIiOiJ0ZW5hbnQtNDIifQ',
        'ghp_PlantedT0kenAsUser0000000001',
      ])
        expect(everything).not.toContain(secret);
    } finally {
      await bot.close();
      await kube.close();
    }
  }, 60_000);
});
