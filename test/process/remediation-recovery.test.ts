// Remediations never hang in `running`: a bot process killed (SIGKILL) or stopped (SIGTERM)
// while it follows a rollout leaves the action to the next replica, which follows the rollout to
// its end or says "interrupted" in the action's thread; the audit log says it started, and the
// same action can be run again. The bots are real processes (`node dist/main.js`).
import { type ChildProcess, spawn } from 'node:child_process';
import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { type SlackFake, startSlackFake } from '@dmp-bot/sim/slack-fake';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type BotDriver, driveBot, SIGNING_SECRET, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ALICE, press, slashShown, textOf, thread, until } from '../helpers/remediation.js';

const root = new URL('../..', import.meta.url).pathname;

interface BotProcess {
  child: ChildProcess;
  driver: BotDriver;
  exited: Promise<number | null>;
  out(): string;
}

describe('remediations left running by a process that is gone', () => {
  let store: TestDatabase;
  let slack: SlackFake;
  let kube: TestKube;
  const running: BotProcess[] = [];

  /** Starts `node dist/main.js` against the fakes and waits until it says it is ready. */
  async function startProcess(env: Record<string, string> = {}): Promise<BotProcess> {
    const child = spawn(process.execPath, ['dist/main.js'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        SLACK_BOT_TOKEN: 'xoxb-recovery-0001',
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: slack.apiUrl,
        PORT: '0',
        BOT_DATABASE_URL: store.url,
        KUBECONFIG: kube.kubeconfig,
        DMP_NAMESPACE: 'dmp',
        DMP_OPERATORS: ALICE,
        ROLLOUT_POLL_INTERVAL: '100ms',
        ROLLOUT_TIMEOUT: '2m',
        REMEDIATION_HEARTBEAT: '1s',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await until(
      () => /"msg":"dmp-bot ready"/.test(out) && /"port":(\d+)/.exec(out)?.[1],
      'the bot to be ready',
      30_000,
    );
    const p: BotProcess = { child, driver: driveBot(`http://127.0.0.1:${port}`, slack), exited, out: () => out };
    running.push(p);
    return p;
  }

  const actionRow = async () =>
    (
      await store.client.query<{ id: string; state: string; owner: string | null }>(
        `SELECT id, state, owner FROM remediation_actions WHERE remedy = 'restart-deployment' ORDER BY created_at DESC LIMIT 1`,
      )
    ).rows[0];
  const audits = async (outcome: string) =>
    (
      await store.client.query<{ text: string; user_id: string }>(
        `SELECT text, user_id FROM audit_log WHERE kind = 'remediation' AND action = 'restart-deployment' AND outcome = $1 ORDER BY id`,
        [outcome],
      )
    ).rows;

  /** Previews and confirms a restart of scan-workers; the preview message, once the rollout is being followed. */
  async function restartUnderWay(bot: BotProcess): Promise<SlackMessage> {
    const { message } = await slashShown(bot.driver, 'restart scan-workers', ALICE);
    if (!message) throw new Error('no preview was shown');
    expect((await press(bot.driver, message, 'Confirm')).status).toBe(200);
    await until(
      () => thread(bot.driver, message.ts).some((m) => m.text.includes('following the rollout')),
      'the rollout to be followed',
      30_000,
    );
    return message;
  }

  const outcomeIn = (ts: string, after = 0) =>
    thread({ slack }, ts)
      .slice(after)
      .find((m) => m.text.startsWith('Restart scan-workers:'));

  beforeAll(async () => {
    store = await createTestDatabase({ prefix: 'bot' });
    slack = await startSlackFake();
    kube = await startTestKube();
    seedPlatform(kube.fake);
  });
  afterEach(async () => {
    for (const p of running.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
  });
  afterAll(async () => {
    await kube?.close();
    await slack?.close();
    await store?.drop();
  });

  it('after a SIGKILL mid-rollout, the next process follows it to its outcome in the thread, and the action runs again', async () => {
    // Long enough that the rollout is still going when the first process dies.
    kube.fake.setRolloutDelay(20_000);
    const first = await startProcess();
    const message = await restartUnderWay(first);
    first.child.kill('SIGKILL');
    await first.exited;

    // What the dead process left: a started audit row, and the action still running.
    const started = await audits('started');
    expect(started).toHaveLength(1);
    expect(started[0]?.text).toContain('Restart scan-workers');
    expect(started[0]?.user_id).toBe(ALICE);
    expect((await actionRow())?.state).toBe('running');

    const second = await startProcess();
    const outcome = await until(() => outcomeIn(message.ts), 'the outcome in the thread', 90_000);
    // The restart reached the deployment before the kill, so its rollout can be followed to the end.
    expect(outcome.text).toContain('deployment "scan-workers" successfully rolled out');
    expect(outcome.text).toContain('followed after the bot restarted');
    expect((await actionRow())?.state).toBe('succeeded');
    // The confirmation no longer says it is running.
    const confirmation = await until(
      () => slack.messages.find((m) => m.ts === message.ts && textOf(m).includes('Done')),
      'the confirmation to say it is done',
      15_000,
    );
    expect(textOf(confirmation)).not.toContain('Running');

    // The same action can be started again, and runs.
    kube.fake.setRolloutDelay(0);
    const again = await restartUnderWay(second);
    const done = await until(() => outcomeIn(again.ts), 'the second outcome', 30_000);
    expect(done.text).toContain('successfully rolled out');
    expect(done.text).not.toContain('followed after');
    expect(await audits('started')).toHaveLength(2);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 150_000);

  it('on SIGTERM waits for a rollout that finishes within SHUTDOWN_DRAIN, then exits 0', async () => {
    kube.fake.setRolloutDelay(1_500);
    const bot = await startProcess({ SHUTDOWN_DRAIN: '60s' });
    const message = await restartUnderWay(bot);
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    // Reported by the process itself before it went.
    expect(outcomeIn(message.ts)?.text).toContain('successfully rolled out');
    expect(outcomeIn(message.ts)?.text).not.toContain('followed after');
    expect((await actionRow())?.state).toBe('succeeded');
  }, 90_000);

  it('on SIGTERM hands a rollout longer than SHUTDOWN_DRAIN over to the next process, which reports it', async () => {
    kube.fake.setRolloutDelay(20_000);
    const bot = await startProcess({ SHUTDOWN_DRAIN: '500ms' });
    const message = await restartUnderWay(bot);
    bot.child.kill('SIGTERM');
    expect(await bot.exited).toBe(0);
    // Handed over: still running, owned by nobody, so the next process takes it at once.
    const row = await actionRow();
    expect(row?.state).toBe('running');
    expect(row?.owner).toBeNull();

    await startProcess();
    const outcome = await until(() => outcomeIn(message.ts), 'the outcome in the thread', 90_000);
    expect(outcome.text).toContain('successfully rolled out');
    expect(outcome.text).toContain('followed after the bot restarted');
    expect((await actionRow())?.state).toBe('succeeded');
  }, 120_000);
});

describe('a remediation whose process died before its change reached anything', () => {
  let kube: TestKube;
  let t: TestBot;

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    t = await startTestBot({
      env: { KUBECONFIG: kube.kubeconfig, DMP_NAMESPACE: 'dmp', DMP_OPERATORS: ALICE, REMEDIATION_HEARTBEAT: '1s' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  it('is reported "interrupted — outcome unknown" in its thread, leaves running, and can be started again', async () => {
    const { message } = await slashShown(t, 'restart scan-workers', ALICE);
    if (!message) throw new Error('no preview was shown');
    // As a replica that moved it to running and died before patching the deployment leaves it.
    await t.store.client.query(
      `UPDATE remediation_actions SET state = 'running', owner = 'a-replica-gone', confirmed_by = $1,
              message_ts = $2, started_at = now(), heartbeat_at = now() - interval '1 hour'`,
      [ALICE, message.ts],
    );
    const told = await until(
      () => thread(t, message.ts).find((m) => m.text.includes('interrupted')),
      'the interrupted report',
      30_000,
    );
    expect(told.text).toContain('interrupted — outcome unknown, check `/dmp rollout history scan-workers`');
    const { rows } = await t.store.client.query<{ state: string }>('SELECT state FROM remediation_actions');
    expect(rows.map((r) => r.state)).toEqual(['failed']);
    const { rows: audit } = await t.store.client.query<{ outcome: string }>(
      `SELECT outcome FROM audit_log WHERE kind = 'remediation' AND action = 'restart-deployment' ORDER BY id`,
    );
    expect(audit.map((r) => r.outcome)).toContain('interrupted');

    // The same button press path works again: a fresh preview, confirmed, runs.
    const fresh = await slashShown(t, 'restart scan-workers', ALICE);
    if (!fresh.message) throw new Error('no second preview');
    await press(t, fresh.message, 'Confirm');
    const done = await until(
      () => thread(t, fresh.message?.ts ?? '').find((m) => m.text.startsWith('Restart scan-workers:')),
      'the outcome of the second restart',
      30_000,
    );
    expect(done.text).toContain('successfully rolled out');
  }, 60_000);
});
