// Signed requests: a timestamp more than 5 minutes from now either way is 401 before Bolt; the
// same signed request received twice, by one replica or another, runs once; a response_url that
// is not Slack's (nor SLACK_API_URL's origin) is never posted to, and the answer goes through the
// Web API instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { SLACK_DEFAULTS, signSlackRequest, slashCommandBody } from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTrustedResponseUrl } from '../../src/handlers/response-url.js';
import { ALICE, type BotProcess, eventually, SIGNING_SECRET, startWorld, type World } from '../incidents/world.js';

const nowSec = () => Math.floor(Date.now() / 1000);

describe('abuse: signed requests', () => {
  let w: World;
  let a: BotProcess;
  let b: BotProcess;
  let kube: KubeFake;
  let evil: SlackFake;
  const dir = mkdtempSync(join(tmpdir(), 'signed-'));

  const audits = async (text?: string) =>
    (
      await a.bot.deps.store.query<{ n: number }>(
        "SELECT count(*)::int AS n FROM audit_log WHERE kind = 'command' AND ($1::text IS NULL OR text = $1)",
        [text === undefined ? null : `/dmp ${text}`],
      )
    )[0]?.n ?? 0;
  const send = (to: BotProcess, raw: string, ts?: number) =>
    fetch(`${to.url}/slack/events`, { method: 'POST', headers: signSlackRequest(SIGNING_SECRET, raw, ts), body: raw });
  const command = (text: string, responseUrl: string) =>
    slashCommandBody({
      command: '/dmp',
      text,
      user_id: ALICE,
      channel_id: SLACK_DEFAULTS.channelId,
      response_url: responseUrl,
    });

  beforeAll(async () => {
    kube = await startKubeFake({ namespace: 'dmp' });
    seedPlatform(kube);
    evil = await startSlackFake();
    // The checks may take their time here, so a slow Kubernetes makes the reply a late one.
    w = await startWorld({ KUBECONFIG: kube.writeKubeconfig(dir), CHECK_DEADLINE: '20s' });
    a = await w.start();
    b = await w.start();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await kube?.close();
    await evil?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses with 401 a timestamp an hour or ten years ahead, five and a half minutes ahead or six minutes old, and runs nothing', async () => {
    const before = await audits();
    const calls = w.slack.calls.length;
    for (const ts of [nowSec() + 3_600, nowSec() + 10 * 365 * 86_400, nowSec() + 330, nowSec() - 360]) {
      const res = await send(a, command('help', w.slack.responseUrl()), ts);
      expect(res.status, `timestamp ${ts - nowSec()} s from now`).toBe(401);
      expect(await res.text()).not.toMatch(/at .*\.(js|ts):\d+/);
    }
    expect(w.slack.calls.length).toBe(calls);
    expect(w.slack.responses).toHaveLength(0);
    expect(await audits()).toBe(before);
    // Within the window, either way, it is answered.
    for (const ts of [nowSec() + 240, nowSec() - 240]) {
      const res = await send(a, command('help', w.slack.responseUrl()), ts);
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('/dmp');
    }
  });

  it('runs a signed request received twice once, whichever replica gets the copy', async () => {
    const raw = command('help pods', w.slack.responseUrl());
    const ts = nowSec();
    const before = await audits('help pods');
    const first = await send(a, raw, ts);
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('/dmp');
    await eventually(async () => (await audits('help pods')) === before + 1, 10_000, 'the first run’s audit row');
    for (const to of [a, b, b]) {
      const again = await send(to, raw, ts);
      expect(again.status).toBe(200);
      expect(await again.text()).toBe('');
    }
    // A new request (another timestamp, so another signature) still runs.
    const fresh = await send(b, raw, ts + 1);
    expect(await fresh.text()).toContain('/dmp');
    await eventually(async () => (await audits('help pods')) === before + 2, 10_000, 'the fresh run’s audit row');

    expect(a.logs.concat(b.logs).join('\n')).toContain('received again');
  });

  it('never posts to a response_url off Slack: the late answer goes through chat.postMessage, and it is logged', async () => {
    kube.setLatency(3_500);
    try {
      const foreign = evil.responseUrl();
      expect(isTrustedResponseUrl(foreign, w.env.SLACK_API_URL as string)).toBe(false);
      const res = await send(a, command('pods api', foreign));
      expect(res.status).toBe(200);
      const posted = await eventually(
        () =>
          w.slack.calls.find(
            (c) =>
              c.method === 'chat.postMessage' &&
              c.args.channel === SLACK_DEFAULTS.channelId &&
              String(c.args.text).startsWith('Pods'),
          ),
        30_000,
        'the late answer through the Web API',
      );
      expect(posted).toBeDefined();
      expect(evil.responses).toHaveLength(0);
      expect(evil.calls).toHaveLength(0);
      expect(a.logs.join('\n')).toContain("response_url is not on Slack's hooks host");
    } finally {
      kube.setLatency(0);
    }
  }, 60_000);

  it('trusts only Slack’s hooks hosts and SLACK_API_URL’s origin', () => {
    const api = 'http://127.0.0.1:4100/api/';
    expect(isTrustedResponseUrl('https://hooks.slack.com/commands/T1/2/abc', api)).toBe(true);
    expect(isTrustedResponseUrl('https://hooks.slack-gov.com/actions/T1/2/abc', api)).toBe(true);
    expect(isTrustedResponseUrl('http://127.0.0.1:4100/response/7', api)).toBe(true);
    for (const bad of [
      'http://hooks.slack.com/commands/T1/2/abc',
      'https://hooks.slack.com.evil.example/commands/T1',
      'https://evil.example/hooks.slack.com',
      'https://user@hooks.slack.com/commands/T1',
      'http://127.0.0.1:4101/response/7',
      'http://169.254.169.254/latest/meta-data/',
      'not a url',
    ])
      expect(isTrustedResponseUrl(bad, api), bad).toBe(false);
  });
});
