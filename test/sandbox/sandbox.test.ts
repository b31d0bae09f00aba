import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
/** The console shows the console user's mention as Slack would: @ and their name. */
const me = `@${userInfo().username}`;

/**
 * `npm run sandbox --silent` driven through stdin as a newcomer drives it: type a line, read
 * what comes back, type the number shown before the button to press.
 */
class Newcomer {
  output = '';
  errors = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcessWithoutNullStreams;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn('npm', ['run', 'sandbox', '--silent'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.output += d.toString();
    });
    this.child.stderr.on('data', (d: Buffer) => {
      this.errors += d.toString();
    });
    this.exited = new Promise((resolve) => this.child.on('close', (code) => resolve(code)));
  }

  /** Types a line; returns where its answer starts in the output. */
  type(line: string): number {
    const mark = this.output.length;
    this.child.stdin.write(`${line}\n`);
    return mark;
  }

  /** Waits until the output after `from` matches; the match, or a failure showing what came. */
  async sees(pattern: RegExp, from = 0, ms = 45_000): Promise<RegExpExecArray> {
    const started = Date.now();
    while (Date.now() - started < ms) {
      const m = pattern.exec(this.output.slice(from));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `never saw ${pattern}; the sandbox printed:\n${this.output.slice(from).slice(-4_000)}\nstderr:\n${this.errors.slice(-2_000)}`,
    );
  }

  /** The number the console shows before the last button with this label. */
  async buttonNumber(label: RegExp, from: number): Promise<string> {
    await this.sees(new RegExp(`\\[\\d+\\] ${label.source}`), from);
    const all = [...this.output.slice(from).matchAll(new RegExp(`\\[(\\d+)\\] ${label.source}`, 'g'))];
    return all[all.length - 1]?.[1] as string;
  }

  async press(label: RegExp, from: number): Promise<number> {
    return this.type(await this.buttonNumber(label, from));
  }

  leave(): Promise<number | null> {
    this.child.stdin.end();
    return this.exited;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

describe('npm run sandbox: a newcomer tries the runbook and a whole incident', { timeout: 90_000 }, () => {
  let blocker: Server;
  let takenPort: number;
  let tmp: string;
  let you: Newcomer;

  beforeAll(async () => {
    // Port 3000 may be anybody's: the sandbox must take another when PORT is taken.
    blocker = createServer();
    takenPort = await new Promise<number>((resolve) =>
      blocker.listen(0, () => resolve((blocker.address() as { port: number }).port)),
    );
    tmp = mkdtempSync(join(tmpdir(), 'dmp-sandbox-test-'));
    you = new Newcomer({ PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: tmp, PORT: String(takenPort) });
  });

  afterAll(async () => {
    you?.kill();
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    rmSync(tmp, { recursive: true, force: true });
  });

  it('opens with a banner that says sandbox, what is simulated and three things to try', async () => {
    await you.sees(/Three things to try[\s\S]*exit leaves/, 0, 120_000);
    const banner = you.output;
    expect(banner).toContain('sandbox');
    expect(banner).toContain('Redis here is an in-memory stand-in');
    expect(banner).toMatch(/PostgreSQL — embedded PGlite/);
    expect(banner).toContain('/dmp scans stuck');
    expect(banner).toContain('/dmp sandbox page scans-stuck');
    expect(banner).toMatch(/number/);
    const port = Number(/HTTP server on http:\/\/127\.0\.0\.1:(\d+)/.exec(banner)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(port).not.toBe(takenPort);
  }, 150_000);

  it('answers /dmp health from the simulated platform: the backed-up queue and two dead workers', async () => {
    const at = you.type('/dmp health');
    await you.sees(/Runbook: Health Checks/, at);
    const reply = you.output.slice(at);
    expect(reply).toContain('Queue depth: 137 jobs in scan_queue');
    expect(reply).toContain('Worker pool: degraded, 3 alive, 2 dead');
    expect(reply).toMatch(/PostgreSQL: connected in \d+ ms/);
    expect(reply).toMatch(/Redis: PONG/);
    expect(reply).not.toContain('not configured');
  });

  it('finds the three stuck scans and the dead workers worker-3 and worker-5, and offers a restart', async () => {
    const at = you.type('/dmp scans stuck');
    await you.sees(/\[\d+\] Mark a scan failed/, at);
    const reply = you.output.slice(at);
    // Seeded 20 minutes back; the sandbox clock counts from the prompt, so a slow start does not show.
    expect(reply).toMatch(/3 scans pending for more than 5 minutes, the oldest for 20m\b/);
    expect(reply).toContain('Dead workers: 2 without a heartbeat for over 5 minutes: worker-3, worker-5');
    expect(reply).toMatch(/\[\d+\] Restart scan-workers/);
    expect(reply).toMatch(/\[\d+\] Scale scan-workers to \d+/);
  });

  it('restarts scan-workers by pressing the button and confirming, and the dead workers are gone', async () => {
    const restart = await you.press(/Restart scan-workers/, 0);
    const confirm = await you.press(/Confirm/, restart);
    await you.sees(/scan-workers restarted/, confirm);

    const at = you.type('/dmp scans stuck');
    await you.sees(/\[\d+\] Mark a scan failed/, at);
    const reply = you.output.slice(at);
    expect(reply).toContain('Dead workers: every heartbeat is fresher than 5 minutes');
    expect(reply).toContain('5 registered: worker-1, worker-2, worker-3, worker-4, worker-5');
    // No Restart button any more (a late line of the followed rollout may still mention it).
    expect(reply).not.toMatch(/\[\d+\] Restart scan-workers/);
    // The queue is still backed up: scaling is still the next step.
    expect(reply).toMatch(/\[\d+\] Scale scan-workers/);
  });

  it('pages through the simulated PagerDuty: the webhook reaches the bot and the thread appears in #incidents', async () => {
    const at = you.type('/dmp sandbox page scans-stuck');
    await you.sees(
      /PagerDuty delivered a signed `incident\.triggered` webhook to `POST \/pagerduty\/webhook`: HTTP 2\d\d/,
      at,
    );
    await you.sees(/#incidents\n.*Scans stuck in pending for over 15 minutes[\s\S]*\[\d+\] Acknowledge/, at);
    await you.sees(/Investigating: Scans stuck in pending for over 15 minutes/, at);
    // The automatic diagnosis in the thread runs against the restarted workers.
    await you.sees(/Automatic diagnosis[\s\S]*Dead workers: every heartbeat is fresher than 5 minutes/, at);
  });

  it('acknowledges in the thread once, though PagerDuty echoes the acknowledgement back', async () => {
    const at = await you.press(/Acknowledge/, 0);
    await you.sees(new RegExp(`Acknowledged by ${me} after`), at);
    await new Promise((r) => setTimeout(r, 2_000));
    const threadPosts =
      you.output.slice(at).match(new RegExp(`#incidents\\s+↳\\n\\s+\\S*\\s*Acknowledged by ${me}`, 'g')) ?? [];
    expect(threadPosts).toHaveLength(1);
    await you.sees(/Status\n.*Acknowledged/, at);
  });

  it('pages from the thread: the Page form searches PagerDuty as one types, and the thread says who was paged', async () => {
    const at = await you.press(/Page/, 0);
    await you.sees(/── Page responders ──/, at);
    // Piped answers, in the form's order: no escalation contact; search "eli", pick 1, done; the
    // message as offered.
    for (const line of ['', 'eli', '1', '', '']) you.type(line);
    await you.sees(
      /Who \(PagerDuty users or escalation policies\)( \(optional\))? — type to search: eli\n\s+1\. Eli Backup/,
      at,
    );
    await you.sees(new RegExp(`#incidents\\s+↳\\n[\\s\\S]*Paged Eli Backup: Please join: [^\\n]*\\(${me}\\)`), at);
  });

  it('resolves, and the post-mortem is posted with its timeline', async () => {
    const at = await you.press(/Resolve/, 0);
    await you.sees(new RegExp(`Resolved by ${me}`), at);
    // The post-mortem streams in line by line: wait for its timeline to reach the acknowledgement.
    const postmortem = await you.sees(
      /Post-mortem: Scans stuck in pending[\s\S]*Time to acknowledge[\s\S]*Timeline[\s\S]*Triggered in PagerDuty[\s\S]*Acknowledged in Slack/,
      at,
    );
    expect(postmortem[0]).toMatch(/Time to acknowledge\s+\d+s/);
  });

  it('leaves with exit code 0 at the end of input and removes its temporary directory', async () => {
    expect(await you.leave()).toBe(0);
    expect(readdirSync(tmp).filter((f) => f.startsWith('dmp-sandbox-'))).toEqual([]);
  }, 60_000);
});
