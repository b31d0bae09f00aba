// A planted secret sentinel — in a Kubernetes secret, in the platform database URL's password,
// in the PagerDuty and platform API tokens — never appears in any Slack call, response_url
// post, uploaded file, HTTP answer or log line, while every command runs and an incident is
// paged, acknowledged (PagerDuty refusing the token) and diagnosed.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { type PlatformApiFake, startPlatformApiFake } from '@dmp-bot/sim/platform-api-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageOf } from '../../src/commands/help.js';
import { commandRegistry } from '../../src/commands/registry.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ALICE, controls, eventually, INCIDENTS, quiet, startWorld, type World } from '../incidents/world.js';

const SENTINEL = 'SeNtInEl-7c41f09a';
const FORMS = [SENTINEL, Buffer.from(SENTINEL).toString('base64'), encodeURIComponent(`p@${SENTINEL}`)];

/** A plausible argument for each placeholder in a command's usage. */
function sampleArgs(usage: string | undefined): string {
  if (!usage) return '';
  return usage
    .replace(/<deployment>|\[deployment\]|<app>|\[app\]/g, 'api')
    .replace(/<scan-id>|\[scan-id\]/g, '6f1c1b7e-0000-4000-8000-000000000001')
    .replace(/<pattern>/g, 'graph:*')
    .replace(/<n>|\[n\]|\[minutes\]|\[revision\]/g, '2')
    .replace(/<pod>/g, 'api-0')
    .replace(/<incident>|\[incident\]/g, 'PSENT01')
    .replace(/\[table\]/g, 'nodes')
    .replace(/\[--since [^\]]*\]/g, '--since 10m')
    .replace(/\[--grep [^\]]*\]/g, '--grep error')
    .replace(/<[^>]+>|\[[^\]]+\]/g, '')
    .replace(/[|]/g, ' ')
    .trim();
}

describe('abuse: a secret sentinel never leaks', () => {
  let w: World;
  let kube: KubeFake;
  let api: PlatformApiFake;
  let platformDb: TestDatabase;
  const dir = mkdtempSync(join(tmpdir(), 'sentinel-'));
  const answers: string[] = [];

  beforeAll(async () => {
    kube = await startKubeFake();
    seedPlatform(kube);
    kube.addSecret({
      name: 'jwt-keys',
      data: { 'private.pem': `-----BEGIN KEY-----\n${SENTINEL}\n-----END KEY-----`, 'public.pem': SENTINEL },
    });
    kube.addSecret({ name: 'webhook-secrets', data: { github: SENTINEL } });
    api = await startPlatformApiFake({ adminToken: 'the-right-admin-token' });
    platformDb = await createTestDatabase({ schema: true });
    const dbUrl = new URL(platformDb.url);
    dbUrl.password = SENTINEL; // trust auth ignores it; the bot must still never show it
    w = await startWorld({
      KUBECONFIG: kube.writeKubeconfig(dir),
      DMP_DATABASE_URL: dbUrl.toString(),
      DMP_API_URL: api.url,
      DMP_ADMIN_TOKEN: `adm-${SENTINEL}`,
      PAGERDUTY_API_TOKEN: `pd-${SENTINEL}`,
      DMP_OPERATORS: ALICE,
      TWO_PERSON_RULE: 'off',
    });
    await w.start();
  });
  afterAll(async () => {
    await w?.close();
    await kube?.close();
    await api?.close();
    await platformDb?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs every command, pages an incident and presses its buttons without the sentinel anywhere', async () => {
    for (const c of commandRegistry()) {
      const text = `${c.words.join(' ')} ${sampleArgs(c.usage)}`.trim();
      const res = await w.slash(text, ALICE);
      answers.push(res.body);
      expect(res.status, usageOf(c)).toBe(200);
    }
    const inc = await w.pd.triggerIncident({
      title: 'Authentication failures: 401 on login',
      serviceId: 'PDMPAPI',
      urgency: 'high',
    });
    void inc;
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Authentication failures')),
      10_000,
      'the incident root',
    );
    const ack = controls(w.slack.message(INCIDENTS, root.ts)).find((c) => c.label === 'Acknowledge');
    expect(ack).toBeDefined();
    await w.click({
      actionId: ack?.action_id ?? '',
      value: ack?.value,
      blockId: ack?.block_id,
      messageTs: root.ts,
      user: ALICE,
    });
    // PagerDuty refuses the sentinel token (at the look-up of the presser's account, before any
    // change): the refusal is told without it.
    await eventually(
      () => w.pd.requests.some((r) => r.path === '/users') && w.slack.ephemerals.some((e) => e.user === ALICE),
      10_000,
      'the account look-up and its refusal',
    );
    await quiet(w);
    for (const b of w.bots)
      answers.push(await (await fetch(`${b.url}/health`)).text(), await (await fetch(`${b.url}/metrics`)).text());

    const everything = [
      JSON.stringify(w.slack.calls.map((c) => c.args)),
      JSON.stringify(w.slack.responses.map((r) => r.body)),
      JSON.stringify(w.slack.messages),
      w.slack.files.map((f) => f.content).join('\n'),
      answers.join('\n'),
      w.bots.flatMap((b) => b.logs).join('\n'),
    ].join('\n');
    expect(everything.length).toBeGreaterThan(10_000);
    for (const form of FORMS) expect(everything).not.toContain(form);
    // The checks did run against the planted secrets (key names only).
    expect(everything).toContain('private.pem');
  }, 120_000);
});
