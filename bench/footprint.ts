// (c) Footprint: cold start to ready (spawn → first 200 from GET /health) and resident memory
// when idle, for `node dist/main.js` in HTTP mode, against a bare Node HTTP server as baseline.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BOT_TOKEN, botDatabaseUrl, SIGNING_SECRET, type World } from './lib/world.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const MAIN = join(ROOT, 'dist', 'main.js');

export interface StartRun {
  readyMs: number;
  rssIdleMb: number;
  /** SIGTERM to exit, and the exit code (0 when it drained cleanly). */
  stopMs: number;
  exitCode: number | null;
}

export interface FootprintCase {
  case: string;
  runs: StartRun[];
  /** Medians over the runs. */
  readyMs: number;
  rssIdleMb: number;
  stopMs: number;
}

export interface FootprintResult {
  built: 'fresh' | 'rebuilt' | 'stale';
  baseline: FootprintCase;
  postgres?: FootprintCase;
  pglite: FootprintCase;
}

const RUNS = 3;
const IDLE_MS = 3_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};

function newest(dir: string): number {
  let t = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p);
    t = Math.max(t, st.isDirectory() ? newest(p) : st.mtimeMs);
  }
  return t;
}

/** Builds dist/ when src/ is newer; a build that fails on someone's half-written file leaves the old dist. */
function ensureBuilt(log: (line: string) => void): FootprintResult['built'] {
  if (existsSync(MAIN) && statSync(MAIN).mtimeMs >= newest(join(ROOT, 'src'))) return 'fresh';
  log('  building dist/ (npm run build)');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 120_000 });
    return 'rebuilt';
  } catch {
    if (!existsSync(MAIN)) throw new Error('npm run build failed and there is no dist/main.js');
    log('  build failed; measuring the dist/ that is there');
    return 'stale';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

async function waitHealthy(port: number, child: ChildProcess, limitMs: number): Promise<void> {
  const until = performance.now() + limitMs;
  while (performance.now() < until) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode} before it was ready`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`not ready within ${limitMs} ms`);
}

async function startOnce(args: string[], env: Record<string, string>, cwd: string): Promise<StartRun> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-2_000);
  });
  try {
    await waitHealthy(port, child, 30_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const readyMs = Math.round(performance.now() - started);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const rss = rssMb(child.pid as number);
  const stopping = performance.now();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const exitCode = await exited;
  clearTimeout(timer);
  return { readyMs, rssIdleMb: rss, stopMs: Math.round(performance.now() - stopping), exitCode };
}

async function measure(
  name: string,
  args: string[],
  envFor: () => Promise<Record<string, string>>,
  cwd: string,
  log: (line: string) => void,
): Promise<FootprintCase> {
  const runs: StartRun[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await startOnce(args, await envFor(), cwd));
  const c: FootprintCase = {
    case: name,
    runs,
    readyMs: median(runs.map((r) => r.readyMs)),
    rssIdleMb: median(runs.map((r) => r.rssIdleMb)),
    stopMs: median(runs.map((r) => r.stopMs)),
  };
  log(`  ${name}: ready in ${c.readyMs} ms, RSS idle ${c.rssIdleMb} MB`);
  return c;
}

// The smallest thing that answers GET /health: what any Node service pays to start.
const BARE_SERVER = `require('node:http').createServer((q, s) => { s.writeHead(200, {'content-type': 'application/json'}); s.end('{"status":"healthy"}'); }).listen(Number(process.env.PORT), '127.0.0.1'); process.on('SIGTERM', () => process.exit(0));`;

export async function footprintBench(world: World, log: (line: string) => void): Promise<FootprintResult> {
  const built = ensureBuilt(log);
  // A working directory of its own, so no .env of the developer's is read.
  const cwd = mkdtempSync(join(world.tmp, 'cwd-'));
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', HOME: cwd };
  const botEnv = (dbUrl: string | undefined): Record<string, string> => ({
    ...base,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: world.slack.apiUrl,
    LOG_LEVEL: 'warn',
    DATA_DIR: mkdtempSync(join(world.tmp, 'data-')),
    ...(dbUrl ? { BOT_DATABASE_URL: dbUrl } : {}),
  });
  const baseline = await measure('bare node:http server (baseline)', ['-e', BARE_SERVER], async () => base, cwd, log);
  // Each start gets an empty database, so the time includes creating the bot's tables.
  const postgres = world.pgUrl
    ? await measure('dmp-bot, PostgreSQL store', [MAIN], async () => botEnv(await botDatabaseUrl(world)), cwd, log)
    : undefined;
  const pglite = await measure('dmp-bot, embedded store (PGlite)', [MAIN], async () => botEnv(undefined), cwd, log);
  return { built, baseline, ...(postgres ? { postgres } : {}), pglite };
}
