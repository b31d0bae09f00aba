// Console mode is safe by default: its HTTP server listens on loopback only, the embedded
// store belongs to one process (a second says so in one line and exits non-zero), and a
// taken port is said in one line, with no stack trace.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'dmp-safety-'));
const baseEnv = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir };

function startConsole(env: Record<string, string | undefined>): {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<number | null>;
} {
  const child = spawn('node', ['dist/main.js'], {
    cwd: root,
    env: { ...baseEnv, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: () => RegExpExecArray | null, describe: () => string, ms = 120_000) {
  const started = Date.now();
  while (Date.now() - started < ms) {
    const m = what();
    if (m) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting; saw:\n${describe()}`);
}

/** The addresses listening on a TCP port, from the kernel's own tables (hex, as /proc has them). */
function listenersOn(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      // State 0A is LISTEN.
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) found.push(local.slice(0, -5));
    }
  }
  return found;
}

describe('console mode is safe by default', { timeout: 180_000 }, () => {
  let first: ReturnType<typeof startConsole>;
  let port = 0;

  beforeAll(async () => {
    first = startConsole({ PORT: '0' });
    const m = await until(
      () => /HTTP server on port (\d+)/.exec(first.out()),
      () => first.out() + first.err(),
    );
    port = Number(m[1]);
  }, 180_000);
  afterAll(async () => {
    first?.child.stdin.end();
    await first?.exited;
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only', async () => {
    expect(port).toBeGreaterThan(0);
    // 0100007F is 127.0.0.1; a wildcard bind would show 00000000 or the IPv6 any address.
    expect(listenersOn(port)).toEqual(['0100007F']);
    const res = await fetch(`http://127.0.0.1:${port}/health`);
    expect(res.status).toBeLessThan(600);
  });

  it('refuses a second console on the same data directory in one line, exiting non-zero', async () => {
    const second = startConsole({ PORT: '0' });
    second.child.stdin.end('/dmp health\n');
    const code = await second.exited;
    expect(code).not.toBe(0);
    expect(second.out()).not.toContain('Platform health');
    const lines = second
      .err()
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('starting the embedded store'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`the data directory ${dataDir} is in use`);
    // The first one is unharmed and still answers.
    const at = first.out().length;
    first.child.stdin.write('/dmp health\n');
    await until(
      () => /Platform health/.exec(first.out().slice(at)),
      () => first.out().slice(at),
    );
  });

  it('says a taken port in one line, without a stack trace, and the console still works', async () => {
    const blocker: Server = createServer();
    const taken = await new Promise<number>((resolve) =>
      blocker.listen(0, '127.0.0.1', () => resolve((blocker.address() as { port: number }).port)),
    );
    const other = mkdtempSync(join(tmpdir(), 'dmp-safety-port-'));
    try {
      const c = startConsole({ PORT: String(taken), DATA_DIR: other });
      c.child.stdin.end('/dmp health\n');
      expect(await c.exited).toBe(0);
      const said = c
        .out()
        .split('\n')
        .filter((l) => l.includes(String(taken)));
      expect(said).toEqual([
        `No HTTP server: port ${taken} is in use by another program: set PORT to a free port (or 0 for any). The console works without it.`,
      ]);
      expect(c.out()).toContain('Platform health');
      expect(c.out() + c.err()).not.toMatch(/\bat .*\.js:\d+|EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
      rmSync(other, { recursive: true, force: true });
    }
  });
});
