// The runbook procedures through the signed Slack HTTP path: a whole bot against real
// PostgreSQL and Redis, the Kubernetes fake and a GitHub stand-in, driven with /dmp commands.
import { readFileSync } from 'node:fs';
import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { type ReachabilityFake, startReachabilityFake } from '@dmp-bot/sim/platform-api-fake';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROCEDURES } from '../../src/runbooks/index.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { createTestRedis, REDIS_URL, seedWorkers, type TestRedis } from '../helpers/redis.js';

const RUNBOOK = readFileSync(new URL('../../fixtures/runbook.md', import.meta.url), 'utf8');

/** `### Issue: …` headings, and the `###` subsections of `## <section>`. */
function issues(): string[] {
  return [...RUNBOOK.matchAll(/^### Issue: (.+)$/gm)].map((m) => (m[1] as string).trim());
}
function subsections(section: string): string[] {
  const start = RUNBOOK.indexOf(`\n## ${section}\n`);
  const end = RUNBOOK.indexOf('\n## ', start + 1);
  return [...RUNBOOK.slice(start, end).matchAll(/^### (.+)$/gm)].map((m) => (m[1] as string).trim());
}

describe('runbook procedures over signed HTTP', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let kube: TestKube;
  let github: ReachabilityFake;
  let t: TestBot;

  /** The reply to a slash command: inline when ready in time, else the response_url post. */
  async function ask(text: string): Promise<{ status: number; body: string; reply: string }> {
    const res = await t.slash(text);
    if (!res.body.includes('hourglass')) return { status: res.status, body: res.body, reply: allText(res.json) };
    const late = await t.slack.waitFor((a) => a.kind === 'response' && a.url === res.responseUrl, 15_000);
    return { status: res.status, body: res.body, reply: allText(late) };
  }

  async function secretValues(name: string): Promise<string[]> {
    const kc = new KubeConfig();
    kc.loadFromFile(kube.kubeconfig);
    const s = await kc.makeApiClient(CoreV1Api).readNamespacedSecret({ name, namespace: 'dmp' });
    return Object.values(s.data ?? {}).flatMap((b64) => {
      const plain = Buffer.from(b64, 'base64').toString('utf8');
      return [b64, plain, ...plain.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))];
    });
  }

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    redis = await createTestRedis();
    kube = await startTestKube();
    seedPlatform(kube.fake);
    github = await startReachabilityFake();
    await seedWorkers(redis.redis, { queue: 42, alive: ['worker-1', 'worker-2'], dead: ['worker-3'] });
    t = await startTestBot({
      env: {
        DMP_DATABASE_URL: db.url,
        DMP_REDIS_URL: REDIS_URL,
        DMP_REDIS_PREFIX: redis.prefix,
        KUBECONFIG: kube.kubeconfig,
        GITHUB_API_URL: `${github.url}/`,
        ESCALATION_CONTACTS: '{"engineering_lead":"U0LEAD1","dba":"S0DBAS1","security":"U0SEC01"}',
        CHECK_DEADLINE: '5s',
      },
    });
  });

  afterAll(async () => {
    await t?.close();
    await github?.close();
    await kube?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  it('/dmp db locks names the pid holding a lock and the pid waiting on it', async () => {
    const holder = new pg.Client({ connectionString: db.url });
    const waiter = new pg.Client({ connectionString: db.url });
    await holder.connect();
    await waiter.connect();
    try {
      const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      const waiterPid = (await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      await holder.query(
        `INSERT INTO repositories (id, tenant_id, name) VALUES ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', 'acme/api')`,
      );
      await holder.query('BEGIN');
      await holder.query(
        `UPDATE repositories SET name = 'acme/api-v2' WHERE id = '11111111-1111-4111-8111-111111111111'`,
      );
      const waiting = waiter.query(
        `UPDATE repositories SET name = 'acme/api-v3' WHERE id = '11111111-1111-4111-8111-111111111111'`,
      );
      for (let i = 0; i < 100; i++) {
        const r = await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`, [
          waiterPid,
        ]);
        if (r.rows.length) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const { status, reply } = await ask('db locks');
      expect(status).toBe(200);
      expect(reply).toContain(`pid ${waiterPid} (postgres)`);
      expect(reply).toContain(`blocked by pid ${holderPid}`);
      expect(reply).toContain('UPDATE repositories SET name = ');
      await holder.query('ROLLBACK');
      await waiting;
    } finally {
      await holder.end();
      await waiter.end();
    }
  });

  it('/dmp graph timeout with a bad scan id answers a sentence', async () => {
    const { status, reply } = await ask('graph timeout 12345');
    expect(status).toBe(200);
    expect(reply).toContain('\\"12345\\" is not a scan ID: scan IDs are UUIDs');
    expect(reply).not.toMatch(/Error:|at .*\.ts:\d+/);
  });

  it('/dmp queue and /dmp workers read Redis under its prefix', async () => {
    const queue = await ask('queue');
    expect(queue.reply).toContain('42 jobs in scan_queue');
    const workers = await ask('workers');
    expect(workers.reply).toContain('3 registered, 2 alive, 1 dead: worker-3');
    expect(workers.reply).toContain('Restart scan-workers');
  });

  it('/dmp logs cuts the lines with "…and N more lines" and uploads the full text', async () => {
    const before = t.slack.files.length;
    const { reply } = await ask('logs api --since 1h');
    expect(reply).toMatch(/…and \d+ more lines/);
    const pod = kube.fake.pods('api')[0]?.metadata.name as string;
    expect(reply).toContain(`Logs of ${pod}`);
    await t.slack.waitFor(
      (a) => a.kind === 'call' && a.method === 'files.completeUploadExternal' && allText(a.args).includes(pod),
      10_000,
    );
    const file = t.slack.files.slice(before).find((f) => f.title.startsWith(`${pod} logs`));
    expect(file?.content.split('\n').length).toBeGreaterThan(100);
    // Log lines are for the asker alone: the reply is ephemeral and the full text goes to their DM.
    expect(file?.channel).toMatch(/^D/);
  });

  it('/dmp rollout history api lists the revisions with the current one marked', async () => {
    const { reply } = await ask('rollout history api');
    expect(reply).toContain('api at revision 3 (ghcr.io/dmp/api:1.2.3); 3 revisions kept');
    expect(reply).toContain('revision 3 (current)');
    expect(reply).toContain('release 1.2.2: webhook retry backoff (deploy #431)');
  });

  it('/dmp auth failures and /dmp webhooks never show a secret’s value, in Slack, HTTP answers or logs', async () => {
    const auth = await ask('auth failures');
    expect(auth.reply).toContain('secret jwt-keys holds 2 keys (private.pem, public.pem)');
    expect(auth.reply).toMatch(/\d+ \\"auth error\\" lines in the last 10 minutes/);
    const hooks = await ask('webhooks');
    expect(hooks.reply).toContain('secret webhook-secrets has key github');
    // Any upload of long lines has finished (no listener still at work) before looking at everything Slack saw.
    expect(await t.bot.built.inflight.drain(10_000)).toBe(true);
    const seen = [
      auth.body,
      hooks.body,
      allText(t.slack.calls),
      allText(t.slack.responses),
      allText(t.slack.files.map((f) => f.content)),
      t.logs.join('\n'),
    ].join('\n');
    const values = [...(await secretValues('jwt-keys')), ...(await secretValues('webhook-secrets'))];
    expect(values.length).toBeGreaterThan(4);
    for (const v of values) expect(seen).not.toContain(v);
  });

  it('/dmp contacts mentions the configured people and groups, /dmp severity gives the table', async () => {
    const contacts = await ask('contacts');
    expect(contacts.reply).toContain('<@U0LEAD1>');
    expect(contacts.reply).toContain('<!subteam^S0DBAS1>');
    expect(contacts.reply).toContain('PagerDuty');
    const severity = await ask('severity');
    expect(severity.reply).toContain('Complete service outage: respond within 15m');
    expect(severity.reply).not.toContain('all clear');
  });

  it('/dmp help lists a command for every procedure in the registry', async () => {
    const { reply } = await ask('help');
    for (const p of PROCEDURES) expect(reply, p.id).toContain(`/dmp ${p.words.join(' ')}`);
    expect(reply).not.toMatch(/…and \d+ more/);
  });

  it('the registry covers every diagnosis section of the runbook', () => {
    const sections = PROCEDURES.map((p) => p.section);
    expect(issues().length).toBeGreaterThanOrEqual(5);
    for (const issue of issues())
      expect(
        sections.some((s) => s.startsWith(`Common Issues › ${issue}`)),
        issue,
      ).toBe(true);
    const health = subsections('Health Checks');
    expect(health).toEqual(expect.arrayContaining(['API Health', 'Database Health', 'Queue Health']));
    // /dmp health runs the whole section; the database and queue parts have commands of their own too.
    for (const sub of health)
      expect(
        sections.some((s) => s === 'Health Checks' || s.startsWith(`Health Checks › ${sub}`)),
        sub,
      ).toBe(true);
    for (const sub of ['Database Health', 'Queue Health'])
      expect(
        sections.some((s) => s.startsWith(`Health Checks › ${sub}`)),
        sub,
      ).toBe(true);
    for (const other of [
      'Severity Levels',
      'Rollback Procedure',
      'Maintenance Procedures',
      'Monitoring Dashboards',
      'Escalation Contacts',
      'Database Queries',
      'Pod Management',
      'Cache Operations',
    ]) {
      expect(
        sections.some((s) => s.includes(other)),
        other,
      ).toBe(true);
    }
  });
});
