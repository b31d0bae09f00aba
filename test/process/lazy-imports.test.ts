// Load what is configured: `node dist/main.js` in HTTP mode with only Slack configured answers
// /health without loading the Kubernetes, PagerDuty, GitHub, Redis or charting clients, or the data-dir lock; given a
// kubeconfig it loads the Kubernetes client (so the record below can tell). Every module the ESM
// loader resolves is written down by a loader hook (test/helpers/record-imports.mjs).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBotProcess } from '../helpers/bot-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const HOOK = new URL('../helpers/record-imports.mjs', import.meta.url).pathname;
const LAZY = [
  '@kubernetes/client-node',
  '@pagerduty/pdjs',
  '@octokit/rest',
  'vega',
  'vega-lite',
  '@resvg/resvg-js',
  'ioredis',
  'proper-lockfile',
];

const tmp = mkdtempSync(join(tmpdir(), 'dmp-lazy-imports-'));
let store: TestDatabase;

beforeAll(async () => {
  store = await createTestDatabase({ prefix: 'lazy' });
});
afterAll(async () => {
  await store?.drop();
  rmSync(tmp, { recursive: true, force: true });
});

/** The packages a start loaded, from the loader's record: `node_modules/<package>/…` URLs. */
async function packagesLoadedAtStart(name: string, env: Record<string, string>): Promise<Set<string>> {
  const record = join(tmp, `${name}.log`);
  writeFileSync(record, '');
  const bot = await startBotProcess(
    {
      SLACK_BOT_TOKEN: 'xoxb-lazy-imports-test',
      SLACK_SIGNING_SECRET: 'lazy-imports-signing-secret',
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      BOT_DATABASE_URL: store.url,
      DATA_DIR: join(tmp, `data-${name}`),
      LOG_LEVEL: 'warn',
      IMPORTS_LOG: record,
      ...env,
    },
    60_000,
    ['--import', HOOK],
  );
  try {
    const health = await fetch(`${bot.url}/health`);
    expect(health.status).toBe(200);
  } finally {
    await bot.stop();
  }
  const packages = new Set<string>();
  for (const url of readFileSync(record, 'utf8').split('\n')) {
    const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
    if (m?.[1]) packages.add(m[1]);
  }
  return packages;
}

describe('start-up loads what is configured', () => {
  it('with only Slack configured, loads no Kubernetes, PagerDuty, GitHub or chart client', async () => {
    const loaded = await packagesLoadedAtStart('slack-only', {});
    // The record works: Bolt itself was loaded through it.
    expect(loaded.has('@slack/bolt')).toBe(true);
    expect(LAZY.filter((p) => loaded.has(p))).toEqual([]);
  }, 90_000);

  it('with a kubeconfig, loads the Kubernetes client at start', async () => {
    const kubeconfig = join(tmp, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: c, cluster: {server: "http://127.0.0.1:9"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: x, context: {cluster: c, user: u, namespace: dmp}}]',
        'current-context: x',
        '',
      ].join('\n'),
    );
    const loaded = await packagesLoadedAtStart('kube', { KUBECONFIG: kubeconfig });
    expect(loaded.has('@kubernetes/client-node')).toBe(true);
    expect(loaded.has('@pagerduty/pdjs')).toBe(false);
  }, 90_000);
});
