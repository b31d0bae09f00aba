// (c) Footprint: how long `node dist/main.js` takes to be ready and how much memory it holds,
// each case started afresh as a child process, 3 runs, medians:
//  - HTTP mode, only Slack configured, PostgreSQL store, against a bare Bolt HTTP app (the
//    baseline, bench/lib/bare-bolt.mjs): spawn → first 200 from GET /health, RSS when idle;
//  - console mode (the embedded store) from an empty DATA_DIR: spawn → the console's banner
//    (the prompt follows it at once), peak RSS (VmHWM) and RSS when idle;
//  - console mode again on the data directory the first start left;
//  - HTTP mode with the embedded store from an empty DATA_DIR: its peak against the chart's limit.
// The load average before and after is part of the result: the machine is shared.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { BOT_TOKEN, botDatabaseUrl, SIGNING_SECRET, type World } from './lib/world.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BARE_BOLT = fileURLToPath(new URL('./lib/bare-bolt.mjs', import.meta.url));

export interface StartRun {
  readyMs: number;
  /** Resident memory after IDLE_MS idle. */
  rssIdleMb: number;
  /** The highest resident memory the process reached (VmHWM), start-up included. */
  peakMb: number;
  exitCode: number | null;
}

export interface FootprintCase {
  case: string;
  runs: StartRun[];
  /** Medians over the runs. */
  readyMs: number;
  rssIdleMb: number;
  peakMb: number;
}

export interface FootprintResult {
  built: 'fresh' | 'rebuilt' | 'stale' | 'given';
  main: string;
  /** Whether dist/ carried the embedded store's template when the runs started. */
  template: boolean;
  /** The 1-minute load average when the footprint runs began and ended. */
  load: { before: number; after: number };
  /** The chart's memory limit (deploy/helm/dmp-bot/values.yaml), in MiB. */
  chartLimitMb: number;
  bolt: FootprintCase;
  postgres?: FootprintCase;
  consoleEmpty: FootprintCase;
  consoleExisting: FootprintCase;
  httpEmbedded: FootprintCase;
}

export const FOOTPRINT_TARGETS = {
  /** HTTP mode, only Slack configured: RSS idle. */
  httpRssMb: 130,
  /** HTTP mode, only Slack configured: start to ready against a bare Bolt app's. */
  httpReadyRatio: 2.5,
  /** Empty DATA_DIR: to the console prompt, and the peak on the way. */
  consoleEmptyMs: 3_000,
  consoleEmptyPeakMb: 300,
  /**
   * An existing DATA_DIR: a third less than the ~390 MB issue 16 measured. PGlite alone holds
   * ~165 MB however small its settings (its wasm declares 128 MB of minimum memory).
   */
  consoleExistingRssMb: 250,
} as const;

const RUNS = 3;
const IDLE_MS = 3_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? Number.NaN;
};
const load1 = (): number => Math.round((loadavg()[0] ?? 0) * 100) / 100;

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
function ensureBuilt(main: string, log: (line: string) => void): FootprintResult['built'] {
  // tsc -b leaves an output whose source did not change alone: compare with the newest output.
  if (existsSync(main) && newest(join(ROOT, 'dist')) >= newest(join(ROOT, 'src'))) return 'fresh';
  log('  building dist/ (npm run build)');
  try {
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: 'ignore', timeout: 180_000 });
    return 'rebuilt';
  } catch {
    if (!existsSync(main)) throw new Error('npm run build failed and there is no dist/main.js');
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

/** VmRSS and VmHWM of a running process, in MB. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) =>
    Math.round((Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]) / 1024) * 10) / 10;
  return { rss: mb('VmRSS'), peak: mb('VmHWM') };
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

function waitOutput(child: ChildProcess, text: string, limitMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${text}" within ${limitMs} ms`)), limitMs);
    child.stdout?.on('data', (c: Buffer) => {
      seen = (seen + c.toString('utf8')).slice(-4_000);
      if (seen.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before it was ready`));
    });
  });
}

type Ready = { kind: 'http' } | { kind: 'console' };

async function startOnce(args: string[], env: Record<string, string>, cwd: string, ready: Ready): Promise<StartRun> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...env, PORT: String(port) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-2_000);
  });
  if (ready.kind === 'http') child.stdout?.resume();
  try {
    if (ready.kind === 'http') await waitHealthy(port, child, 60_000);
    else await waitOutput(child, 'dmp-bot console', 60_000);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
  const readyMs = Math.round(performance.now() - started);
  await new Promise((r) => setTimeout(r, IDLE_MS));
  const mem = memoryMb(child.pid as number);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // The console leaves at the end of its input; the HTTP server drains on SIGTERM.
  if (ready.kind === 'console') child.stdin?.end();
  else child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const exitCode = await exited;
  clearTimeout(timer);
  return { readyMs, rssIdleMb: mem.rss, peakMb: mem.peak, exitCode };
}

async function measure(
  name: string,
  runOnce: (i: number) => Promise<StartRun>,
  log: (line: string) => void,
): Promise<FootprintCase> {
  const runs: StartRun[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await runOnce(i));
  const c: FootprintCase = {
    case: name,
    runs,
    readyMs: median(runs.map((r) => r.readyMs)),
    rssIdleMb: median(runs.map((r) => r.rssIdleMb)),
    peakMb: median(runs.map((r) => r.peakMb)),
  };
  log(`  ${name}: ready in ${c.readyMs} ms, RSS idle ${c.rssIdleMb} MB, peak ${c.peakMb} MB (load ${load1()})`);
  return c;
}

function chartLimitMb(): number {
  const values = yaml.load(readFileSync(join(ROOT, 'deploy/helm/dmp-bot/values.yaml'), 'utf8')) as {
    resources?: { limits?: { memory?: string } };
  };
  const m = /^(\d+)(Mi|Gi)$/.exec(values.resources?.limits?.memory ?? '');
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 : 1);
}

/** `main`: the entry to measure (default dist/main.js; another build's to compare). */
export async function footprintBench(
  world: World,
  log: (line: string) => void,
  main: string = join(ROOT, 'dist', 'main.js'),
): Promise<FootprintResult> {
  const entry = isAbsolute(main) ? main : resolve(main);
  const built = entry === join(ROOT, 'dist', 'main.js') ? ensureBuilt(entry, log) : 'given';
  const template = existsSync(join(entry, '..', 'store-template', 'template.json'));
  const before = load1();
  log(`  measuring ${entry}; store template ${template ? 'shipped' : 'absent'}; load ${before}`);
  // A working directory of its own, so no .env of the developer's is read.
  const cwd = mkdtempSync(join(world.tmp, 'cwd-'));
  const base: Record<string, string> = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production', HOME: cwd };
  const slack = {
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: world.slack.apiUrl,
  };
  const newDataDir = () => mkdtempSync(join(world.tmp, 'data-'));
  const http: Ready = { kind: 'http' };
  const consoleReady: Ready = { kind: 'console' };

  const bolt = await measure(
    'bare Bolt HTTP app (baseline)',
    () => startOnce([BARE_BOLT], { ...base, ...slack }, cwd, http),
    log,
  );
  // Each start gets an empty database, so the time includes creating the bot's tables.
  const postgres = world.pgUrl
    ? await measure(
        'HTTP mode, only Slack configured, PostgreSQL store',
        async () =>
          startOnce(
            [entry],
            {
              ...base,
              ...slack,
              LOG_LEVEL: 'warn',
              DATA_DIR: newDataDir(),
              BOT_DATABASE_URL: (await botDatabaseUrl(world)) as string,
            },
            cwd,
            http,
          ),
        log,
      )
    : undefined;
  const dirs = Array.from({ length: RUNS }, newDataDir);
  const consoleEnv = (dir: string) => ({ ...base, LOG_LEVEL: 'warn', DATA_DIR: dir });
  const consoleEmpty = await measure(
    'console, embedded store, empty DATA_DIR',
    (i) => startOnce([entry], consoleEnv(dirs[i] as string), cwd, consoleReady),
    log,
  );
  const consoleExisting = await measure(
    'console, embedded store, existing DATA_DIR',
    (i) => startOnce([entry], consoleEnv(dirs[i] as string), cwd, consoleReady),
    log,
  );
  const httpEmbedded = await measure(
    'HTTP mode, embedded store, empty DATA_DIR',
    () => startOnce([entry], { ...base, ...slack, LOG_LEVEL: 'warn', DATA_DIR: newDataDir() }, cwd, http),
    log,
  );
  return {
    built,
    main: entry,
    template,
    load: { before, after: load1() },
    chartLimitMb: chartLimitMb(),
    bolt,
    ...(postgres ? { postgres } : {}),
    consoleEmpty,
    consoleExisting,
    httpEmbedded,
  };
}
