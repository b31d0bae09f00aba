// The runbook's Kubernetes procedures against the Kubernetes fake through the real client:
// pods, logs, rollout history, authentication failures and webhook failures, plus the
// reference tables that need no target at all.

import { type SeedSummary, seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { type ReachabilityFake, startReachabilityFake } from '@dmp-bot/sim/platform-api-fake';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderSummary } from '../../src/blocks/report.js';
import { UserError } from '../../src/errors.js';
import { readRolloutHistory } from '../../src/runbooks/rollout-history.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { finding, makeTargets, reportText, type TestTargets } from '../helpers/targets.js';

/** Every value of a secret as the API stores it (base64) and decoded, for leak checks. */
async function secretValues(kubeconfig: string, name: string): Promise<string[]> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace: 'dmp' });
  return Object.values(s.data ?? {}).flatMap((b64) => {
    const plain = Buffer.from(b64, 'base64').toString('utf8');
    // A PEM's body lines are as secret as the whole.
    return [b64, plain, ...plain.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))];
  });
}

describe('Kubernetes procedures', () => {
  let kube: TestKube;
  let github: ReachabilityFake;
  let t: TestTargets;
  let seeded: SeedSummary;

  beforeAll(async () => {
    kube = await startTestKube();
    seeded = seedPlatform(kube.fake);
    github = await startReachabilityFake();
    t = await makeTargets({ KUBECONFIG: kube.kubeconfig, GITHUB_API_URL: `${github.url}/` });
  });

  afterAll(async () => {
    await t?.close();
    await github?.close();
    await kube?.close();
  });

  describe('/dmp pods', () => {
    it('lists the pods of api and scan-workers with phase, readiness, restarts, age and node', async () => {
      const report = await t.run('pods');
      const api = finding(report, 'Pods of api');
      expect(api.summary).toBe('3 pods, 3 ready, 0 restarts');
      const names = kube.fake.pods('api').map((p) => p.metadata.name);
      for (const name of names)
        expect(api.details?.some((d) => d.startsWith(`${name}  Running  ready 1/1  restarts 0  age `))).toBe(true);
      expect(api.details?.[0]).toMatch(/node ip-10-0-\d-\d+\.ec2\.internal/);
      expect(finding(report, 'Pods of scan-workers').summary).toBe('3 pods, 3 ready, 0 restarts');
      expect(report.verdict).toBe('ok');
    });

    it('shows one app, and a crash-looping pod as critical', async () => {
      const [first] = kube.fake.pods('scan-workers');
      const name = first?.metadata.name as string;
      kube.fake.updatePod(name, (p) => {
        const s = p.status.containerStatuses?.[0];
        if (s) {
          s.restartCount = 7;
          s.ready = false;
          s.state = { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 5m0s restarting failed container' } };
        }
        for (const c of p.status.conditions ?? [])
          if (c.type === 'Ready' || c.type === 'ContainersReady') c.status = 'False';
      });
      const report = await t.run('pods', ['scan-workers']);
      expect(report.findings.map((f) => f.check)).toEqual(['Pods of scan-workers']);
      const f = finding(report, 'Pods of scan-workers');
      expect(f.status).toBe('critical');
      expect(f.summary).toBe(`3 pods, 2 ready, 7 restarts; ${name} CrashLoopBackOff`);
    });

    it('refuses an app that is not a label value', async () => {
      await expect(t.run('pods', ['Bad_App!'])).rejects.toThrow(UserError);
    });
  });

  describe('/dmp logs', () => {
    it('shows the latest lines of each api pod, says how many more, and attaches them all', async () => {
      const report = await t.run('logs', ['api', '--since', '30m']);
      const pods = kube.fake.pods('api').map((p) => p.metadata.name);
      expect(report.findings.map((f) => f.check)).toEqual(pods.map((p) => `Logs of ${p}`));
      const f = finding(report, `Logs of ${pods[0]}`);
      const total = Number(/^(\d+) lines/.exec(renderSummary(f.summary))?.[1]);
      expect(total).toBeGreaterThan(10);
      expect(f.details?.[0]).toBe(`…and ${total - 10} more lines before these (in the attached file)`);
      expect(f.details).toHaveLength(11);
      expect(f.attachment?.text.split('\n')).toHaveLength(total);
      expect(f.attachment?.text.endsWith(f.details?.[10] ?? '?')).toBe(true);
    });

    it('keeps only the lines containing the --grep text', async () => {
      const report = await t.run('logs', ['api', '--since', '10m', '--grep', 'auth error']);
      const matching = report.findings.flatMap((f) => f.details ?? []);
      expect(matching).toHaveLength(seeded.authErrorsLast10m);
      for (const line of matching) expect(line).toContain('auth error: invalid JWT signature');
    });

    it('answers a missing app or a bad duration with a sentence', async () => {
      await expect(t.run('logs', [])).rejects.toThrow('Which app?');
      await expect(t.run('logs', ['api', '--since', 'yesterday'])).rejects.toThrow('"yesterday" is not a duration');
      await expect(t.run('logs', ['api', '--since', '3d'])).rejects.toThrow('from 1s to 24h');
    });
  });

  describe('/dmp rollout history', () => {
    it('reads the revisions from the ReplicaSets: change cause, image and the current one', async () => {
      const h = await readRolloutHistory(t.targets.kube, 'api');
      expect(h?.revisions.map((r) => [r.revision, r.current, r.images[0]])).toEqual([
        [3, true, 'ghcr.io/dmp/api:1.2.3'],
        [2, false, 'ghcr.io/dmp/api:1.2.2'],
        [1, false, 'ghcr.io/dmp/api:1.2.1'],
      ]);
      expect(h?.revisions[1]?.changeCause).toBe('release 1.2.2: webhook retry backoff (deploy #431)');

      const report = await t.run('rollout-history', ['api']);
      const f = finding(report, 'Revisions');
      expect(f.summary).toBe('api at revision 3 (ghcr.io/dmp/api:1.2.3); 3 revisions kept');
      expect(f.details?.[0]).toMatch(
        /^revision 3 \(current\) {2}api-\w+ {2}ghcr\.io\/dmp\/api:1\.2\.3 {2}created 1d 2h ago {2}3\/3 ready {2}release 1\.2\.3: JWT key rotation support \(deploy #447\)$/,
      );
      expect(finding(report, 'Rollout status').summary).toBe('api: successfully rolled out, 3 of 3 available');
      expect(report.nextSteps).toEqual([]);
    });

    it('says so when the deployment does not exist, and asks which one when none is given', async () => {
      // billing is one of the platform's apps here (DMP_DEPLOYMENTS), but the cluster has none.
      const wide = await makeTargets({ KUBECONFIG: kube.kubeconfig, DMP_DEPLOYMENTS: 'api,scan-workers,billing' });
      try {
        const report = await wide.run('rollout-history', ['billing']);
        expect(finding(report, 'Revisions').summary).toMatch(/^no deployment billing in namespace /);
      } finally {
        await wide.close();
      }
      await expect(t.run('rollout-history', ['billing'])).rejects.toThrow("is not one of the platform's apps");
      await expect(t.run('rollout-history', [])).rejects.toThrow('Which deployment?');
    });
  });

  describe('/dmp auth failures', () => {
    it('checks GitHub, the jwt-keys metadata and counts the recent auth errors, without a key’s value', async () => {
      const report = await t.run('auth-failures');
      expect(finding(report, 'GitHub OAuth').summary).toMatch(new RegExp(`^${github.url}/ answered 200 in \\d+ ms$`));
      expect(github.requests.at(-1)?.method).toBe('HEAD');
      const key = finding(report, 'JWT signing key');
      expect(key.status).toBe('ok');
      expect(key.summary).toMatch(
        /^secret jwt-keys holds 2 keys \(private\.pem, public\.pem\), last changed 88d( \d+s)? ago$/,
      );
      const errors = finding(report, 'Auth errors in API logs');
      expect(errors.summary).toBe(
        `${seeded.authErrorsLast10m} "auth error" lines in the last 10 minutes across 3 pods`,
      );
      expect(errors.details?.every((d) => d.includes('auth error'))).toBe(true);
      expect(report.nextSteps).toEqual([]);
      const text = reportText(report);
      for (const v of await secretValues(kube.kubeconfig, 'jwt-keys')) expect(text).not.toContain(v);
      for (const v of await secretValues(kube.kubeconfig, 'jwt-keys')) expect(t.logs.join('\n')).not.toContain(v);
    });

    it('offers a rollback of api when the signing key changed within a day', async () => {
      kube.fake.addSecret({
        name: 'jwt-keys',
        data: { 'private.pem': 'rotated-private-key-material-0001', 'public.pem': 'rotated-public-key-material-0001' },
        creationTimestamp: new Date(Date.now() - 2 * 3_600_000),
      });
      const report = await t.run('auth-failures');
      const key = finding(report, 'JWT signing key');
      expect(key.status).toBe('warn');
      expect(key.summary).toMatch(/last changed 2h( \d+s)? ago: a recent rotation$/);
      expect(report.nextSteps).toEqual([
        expect.objectContaining({ remedy: 'rollback-deployment', params: { deployment: 'api' } }),
      ]);
      expect(reportText(report)).not.toContain('rotated-private-key-material-0001');
      expect(reportText(report)).not.toContain(Buffer.from('rotated-private-key-material-0001').toString('base64'));
    });

    it('reports a missing secret as critical', async () => {
      const empty = await startTestKube({ namespace: 'empty' });
      const e = await makeTargets({ KUBECONFIG: empty.kubeconfig, GITHUB_API_URL: `${github.url}/` });
      try {
        const report = await e.run('auth-failures');
        expect(finding(report, 'JWT signing key')).toMatchObject({
          status: 'critical',
          summary: 'secret jwt-keys not found in namespace empty',
        });
        expect(finding(report, 'Auth errors in API logs').summary).toBe('no pods with app=api');
      } finally {
        await e.close();
        await empty.close();
      }
    });
  });

  describe('/dmp webhooks', () => {
    it('counts the webhook lines of the last hour, finds the github key and POSTs to GitHub', async () => {
      const report = await t.run('webhooks');
      const logs = finding(report, 'Webhook log lines');
      expect(logs.summary).toBe(
        `${seeded.webhookFailuresLastHour} "webhook" lines in the last hour across 3 pods, ${seeded.webhookFailuresLastHour} of them failures`,
      );
      expect(logs.status).toBe('warn');
      expect(finding(report, 'Webhook secret').summary).toMatch(
        /^secret webhook-secrets has key github, last changed /,
      );
      expect(finding(report, 'Outbound to GitHub').summary).toMatch(/^POST .* answered 404 in \d+ ms: egress works$/);
      expect(github.requests.at(-1)?.method).toBe('POST');
      const text = reportText(report);
      for (const v of await secretValues(kube.kubeconfig, 'webhook-secrets')) {
        expect(text).not.toContain(v);
        expect(t.logs.join('\n')).not.toContain(v);
      }
    });

    it('names GitHub unreachable when nothing answers', async () => {
      await github.down();
      try {
        const report = await t.run('webhooks');
        expect(finding(report, 'Outbound to GitHub')).toMatchObject({
          status: 'critical',
          summary: expect.stringMatching(/^GitHub: unreachable/),
        });
      } finally {
        await github.up();
      }
    });
  });

  describe('/dmp maintenance', () => {
    it('reads /var/log usage in every pod with df and offers a rotation where it fills up', async () => {
      const pod = kube.fake.pods('api')[1]?.metadata.name as string;
      kube.fake.setLogVolumeUsage(93, pod);
      try {
        const report = await t.run('maintenance');
        const f = finding(report, 'Log volumes');
        expect(f.status).toBe('critical');
        expect(renderSummary(f.summary).startsWith(`/var/log at most 93% full (${pod}); 1 pod at 80% or more`)).toBe(
          true,
        );
        expect(f.details).toContain(`${pod}  93%`);
        // The scan worker crash-looping since an earlier test cannot be exec'd into; the rest read 78%.
        expect(f.details?.filter((d) => d.endsWith('  78%')).length).toBeGreaterThanOrEqual(4);
        expect(report.nextSteps.filter((s) => s.params.pod !== undefined)).toEqual([
          expect.objectContaining({ params: { pod } }),
        ]);
        // Without a database the table checks say so on their own lines.
        expect(finding(report, 'Tables').summary).toContain('not configured');
      } finally {
        kube.fake.setLogVolumeUsage(78);
      }
    });
  });

  it('says Kubernetes is not configured without KUBECONFIG or a service account', async () => {
    const bare = await makeTargets({});
    try {
      const report = await bare.run('pods');
      expect(report.findings).toEqual([
        expect.objectContaining({ status: 'unknown', summary: expect.stringContaining('not configured') }),
      ]);
    } finally {
      await bare.close();
    }
  });

  it('names Kubernetes unreachable when the API server is down', async () => {
    await kube.fake.down();
    try {
      const report = await t.run('rollout-history', ['api']);
      expect(finding(report, 'Revisions')).toMatchObject({
        status: 'critical',
        summary: expect.stringMatching(/^Kubernetes: (unreachable|timed out)/),
      });
    } finally {
      await kube.fake.up();
    }
  });
});

describe('reference procedures', () => {
  it('/dmp severity gives P1–P4 with definitions, examples and the configured response times', async () => {
    const t = await makeTargets({ RESPONSE_TARGETS: '{"P1":"10m"}' });
    const report = await t.run('severity');
    expect(report.findings.map((f) => `${f.check}: ${f.summary}`)).toEqual([
      'P1: Complete service outage: respond within 10m. Examples: API down, data loss',
      'P2: Major feature unavailable: respond within 1h. Examples: Scans failing, auth broken',
      'P3: Minor feature issue: respond within 4h. Examples: UI glitch, slow performance',
      'P4: Cosmetic/low impact: respond within 1d. Examples: Typos, minor bugs',
    ]);
    await t.close();
  });

  it('/dmp dashboards links each dashboard under GRAFANA_URL, or says it is not configured', async () => {
    const linked = await makeTargets({ GRAFANA_URL: 'https://grafana.example.com/grafana/' });
    const report = await linked.run('dashboards');
    expect(renderSummary(finding(report, 'Queue').summary)).toBe(
      'Job processing rates: <https://grafana.example.com/grafana/d/queue>',
    );
    expect(report.findings).toHaveLength(5);
    const bare = await makeTargets({});
    const plain = await bare.run('dashboards');
    expect(finding(plain, 'Grafana').summary).toContain('not configured — set GRAFANA_URL');
    expect(finding(plain, 'Database').summary).toBe('Queries, connections: /grafana/d/db');
    await Promise.all([linked.close(), bare.close()]);
  });

  it('/dmp contacts mentions the configured Slack user and group for each role, on-call via PagerDuty', async () => {
    const t = await makeTargets({ ESCALATION_CONTACTS: '{"engineering_lead":"U0LEAD1","dba":"S0DBAS1"}' });
    const report = await t.run('contacts');
    expect(renderSummary(finding(report, 'On-call Engineer').summary)).toContain('PagerDuty');
    expect(renderSummary(finding(report, 'Engineering Lead').summary)).toBe('<@U0LEAD1> — P1, P2 unresolved &gt;1hr');
    expect(renderSummary(finding(report, 'Database Admin').summary)).toBe('<!subteam^S0DBAS1> — Database issues');
    expect(finding(report, 'Security').status).toBe('unknown');
    expect(renderSummary(finding(report, 'Security').summary)).toContain(
      'not configured — set ESCALATION_CONTACTS.security',
    );
    await t.close();
  });
});
