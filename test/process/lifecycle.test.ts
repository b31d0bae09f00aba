// The bot as an operator runs it: `node dist/main.js` in HTTP mode answers /health within
// seconds, migrates an empty database by itself, drains on SIGTERM and exits 0; a wrong
// setting stops it with one line naming the variable, and no secret.
import { type ChildProcess, spawn } from 'node:child_process';
import { startPlatformApiFake } from '@dmp-bot/sim/platform-api-fake';
import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { signSlackRequest, slashCommandBody } from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/bot-process.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const root = new URL('../..', import.meta.url).pathname;

function start(env: Record<string, string>): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, ['dist/main.js'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  return { child, out: () => out };
}

const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

async function waitForHealth(
  port: number,
  out?: () => string,
  ms = 15_000,
): Promise<{ status: string; components: Record<string, string> }> {
  const until = Date.now() + ms;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`);
      if (res.ok) return (await res.json()) as { status: string; components: Record<string, string> };
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`no /health in time; the bot said:\n${out?.().slice(-2_000) ?? ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the bot process', () => {
  let store: TestDatabase;
  let slack: SlackFake;
  beforeAll(async () => {
    store = await createTestDatabase({ prefix: 'bot' });
    slack = await startSlackFake();
  });
  afterAll(async () => {
    await slack?.close();
    await store?.drop();
  });

  it('answers /health in HTTP mode, creates its tables in an empty database, and drains on SIGTERM with exit 0', async () => {
    const port = await freePort();
    const { child, out } = start({
      SLACK_BOT_TOKEN: 'xoxb-life-1234',
      SLACK_SIGNING_SECRET: 'life-secret',
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      BOT_DATABASE_URL: store.url,
    });
    const code = exited(child);
    const health = await waitForHealth(port, out);
    expect(health.status).toBe('healthy');
    expect(health.components.slack).toBe('http');
    const tables = await store.client.query(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.rows.map((r: { table_name: string }) => r.table_name)).toEqual(
      expect.arrayContaining(['audit_log', 'bot_migrations']),
    );
    child.kill('SIGTERM');
    expect(await code).toBe(0);
    expect(out()).not.toContain('xoxb-life-1234');
    expect(out()).not.toContain('life-secret');
  }, 30_000);

  it("keeps running and answering commands when Slack's API is unreachable at start-up", async () => {
    const port = await freePort();
    const { child } = start({
      SLACK_BOT_TOKEN: 'xoxb-offline',
      SLACK_SIGNING_SECRET: 'offline-secret',
      SLACK_API_URL: 'http://127.0.0.1:9/api/',
      PORT: String(port),
      BOT_DATABASE_URL: store.url,
    });
    const code = exited(child);
    await waitForHealth(port);
    const raw = slashCommandBody({ command: '/dmp', text: 'help' });
    const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest('offline-secret', raw),
      body: raw,
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('/dmp scans stuck');
    await new Promise((r) => setTimeout(r, 1_000));
    expect(child.exitCode).toBeNull();
    child.kill('SIGTERM');
    expect(await code).toBe(0);
  }, 30_000);

  it('on SIGTERM finishes a slow command whose answer is still coming, then exits 0', async () => {
    const api = await startPlatformApiFake();
    api.setFault('hang');
    const port = await freePort();
    const { child } = start({
      SLACK_BOT_TOKEN: 'xoxb-drain',
      SLACK_SIGNING_SECRET: 'drain-secret',
      SLACK_API_URL: slack.apiUrl,
      PORT: String(port),
      BOT_DATABASE_URL: store.url,
      DMP_API_URL: api.url,
      CHECK_DEADLINE: '4s',
    });
    const code = exited(child);
    try {
      await waitForHealth(port);
      const responseUrl = slack.responseUrl({ channel: 'C0OPS0001', user: 'U0ALICE01' });
      const raw = slashCommandBody({ command: '/dmp', text: 'health', response_url: responseUrl });
      const res = await fetch(`http://127.0.0.1:${port}/slack/events`, {
        method: 'POST',
        headers: signSlackRequest('drain-secret', raw),
        body: raw,
      });
      expect(await res.text()).toContain('Checking');
      // Acked; the checks are still waiting on the hung API when SIGTERM comes.
      child.kill('SIGTERM');
      expect(await code).toBe(0);
      const late = slack.responses.find((r) => r.url === responseUrl);
      expect(JSON.stringify(late?.body)).toContain('timed out');
    } finally {
      await api.close();
    }
  }, 30_000);

  it('stops with one line naming a wrong variable', async () => {
    const { child, out } = start({ PORT: 'eighty', DMP_DATABASE_URL: 'postgres://u:hunter22@db/x' });
    expect(await exited(child)).not.toBe(0);
    const lines = out().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('PORT');
    expect(out()).not.toContain('hunter22');
  }, 15_000);
});
