// Bot processes as an operator runs them: `node dist/main.js` with its environment, killed with
// real signals. Their output is kept (JSON lines) so a test can say what a process logged.
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';

const root = new URL('../..', import.meta.url).pathname;

export interface BotProcess {
  child: ChildProcess;
  url: string;
  /** Everything it wrote to stdout and stderr. */
  output: string[];
  /** SIGKILL, and resolves when it is gone. */
  kill(): Promise<void>;
  /** SIGTERM, and resolves when it has exited. */
  stop(): Promise<void>;
}

/** A free loopback port (the kernel's choice, released before the bot binds it). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

const exited = (child: ChildProcess): Promise<void> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((r) => child.once('exit', () => r()));

/** Starts `dist/main.js` with `env` (plus PATH and PORT) and waits until /health answers; `nodeArgs` go before it. */
export async function startBotProcess(
  env: Record<string, string>,
  startMs = 60_000,
  nodeArgs: string[] = [],
): Promise<BotProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'dist/main.js'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', PORT: String(port), ...env },
  });
  const output: string[] = [];
  child.stdout?.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr?.on('data', (b: Buffer) => output.push(b.toString()));
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + startMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`bot exited at start: ${output.join('').slice(-2000)}`);
    try {
      if ((await fetch(`${url}/health`)).status < 600) break;
    } catch {
      // still starting
    }
    if (Date.now() > end) throw new Error('bot did not start');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    output,
    async kill() {
      child.kill('SIGKILL');
      await exited(child);
    },
    async stop() {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

/** Polls `fn` until it gives a truthy value; the timeout is generous because the machine may be busy. */
export async function until<T>(
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  ms = 60_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
