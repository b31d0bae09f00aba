// `npm run bench:profile [-- bot|bare] [rate] [seconds]`: the server thread's CPU profile while it
// acks signed `/dmp help` at a fixed rate (after a warm-up), with the top functions by self time.
// The load generator runs on its own thread, outside the profile. Writes bench/<who>.cpuprofile
// (open it in Chrome's DevTools or speedscope) and prints the top 25 entries.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';
import { startBareBolt } from './ack.js';
import { openWorld, slashRequests, startBenchBot } from './lib/world.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

/** Total (self + callees) time by function, for the functions of this project and the few libraries named. */
export function topByTotal(profile: Profile, match: RegExp, n = 20): Array<{ ms: number; pct: number; fn: string }> {
  const hits = profile.samples?.length ?? 0;
  const perHit = hits ? (profile.endTime - profile.startTime) / 1000 / hits : 0;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const label = (node: ProfileNode): string => {
    const f = node.callFrame;
    const file = f.url
      .replace(/^file:\/\//, '')
      .replace(/.*\/node_modules\//, '')
      .replace(`${process.cwd()}/`, '');
    return `${f.functionName || '(anonymous)'}${file ? ` ${file}` : ''}`;
  };
  const byFn = new Map<string, number>();
  // Each sample counted once per function on its stack (recursion does not count twice).
  const walk = (node: ProfileNode, onStack: Set<string>): number => {
    let total = node.hitCount ?? 0;
    const key = label(node);
    const fresh = !onStack.has(key);
    if (fresh) onStack.add(key);
    for (const c of node.children ?? []) {
      const child = byId.get(c);
      if (child) total += walk(child, onStack);
    }
    if (fresh) {
      onStack.delete(key);
      if (match.test(key)) byFn.set(key, (byFn.get(key) ?? 0) + total);
    }
    return total;
  };
  const root = profile.nodes[0];
  if (root) walk(root, new Set());
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, h]) => ({ ms: Math.round(h * perHit), pct: Math.round((h / Math.max(1, hits)) * 1000) / 10, fn }));
}

/** Self time by function (name, file, line), in ms, largest first, with the share of all samples. */
export function topBySelf(profile: Profile, n = 25): Array<{ ms: number; pct: number; fn: string }> {
  const hits = profile.samples?.length ?? 0;
  const perHit = hits ? (profile.endTime - profile.startTime) / 1000 / hits : 0;
  const byFn = new Map<string, number>();
  for (const node of profile.nodes) {
    const f = node.callFrame;
    const file = f.url.replace(/^file:\/\//, '').replace(/.*\/node_modules\//, '');
    const where = file ? ` ${file.replace(`${process.cwd()}/`, '')}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (node.hitCount ?? 0));
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([fn, h]) => ({ ms: Math.round(h * perHit), pct: Math.round((h / Math.max(1, hits)) * 1000) / 10, fn }));
}

async function main(): Promise<void> {
  const who = process.argv[2] === 'bare' ? 'bare' : 'bot';
  const rate = Number(process.argv[3] ?? 300);
  const seconds = Number(process.argv[4] ?? 10);
  const world = await openWorld();
  const bot = who === 'bot' ? await startBenchBot(world) : undefined;
  const bare = who === 'bare' ? await startBareBolt(world.slack.apiUrl, 'ack') : undefined;
  const url = (bot?.url ?? bare?.url) as string;
  const session = new Session();
  session.connect();
  try {
    await world.load.run({ url, rate: 200, requests: slashRequests(world.slack, 'help', 1000), timeoutMs: 10_000 });
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
    const before = performance.eventLoopUtilization();
    const r = await world.load.run({
      url,
      rate,
      requests: slashRequests(world.slack, 'help', rate * seconds),
      timeoutMs: 10_000,
    });
    const busy = performance.eventLoopUtilization(before).active;
    const { profile } = (await session.post('Profiler.stop')) as { profile: Profile };
    const file = new URL(`./${who}.cpuprofile`, import.meta.url);
    writeFileSync(file, JSON.stringify(profile));
    const errors = r.samples.filter((s) => s.status !== 200).length;
    const total = (profile.endTime - profile.startTime) / 1000;
    process.stdout.write(
      `${who} @${rate}/s for ${seconds} s: ${r.samples.length} requests (${errors} errors); busy ${(busy / r.samples.length).toFixed(3)} ms a request; profile ${Math.round(total)} ms; load ${loadavg()[0]?.toFixed(2)}\n`,
    );
    process.stdout.write('self ms |     % | function\n');
    for (const e of topBySelf(profile))
      process.stdout.write(`${String(e.ms).padStart(7)} | ${e.pct.toFixed(1).padStart(5)} | ${e.fn}\n`);
    process.stdout.write('\ntotal ms |     % | function (this project, pg, pino, prom-client)\n');
    for (const e of topByTotal(profile, / (src\/|pg\/|pino|prom-client|sonic-boom)/))
      process.stdout.write(`${String(e.ms).padStart(8)} | ${e.pct.toFixed(1).padStart(5)} | ${e.fn}\n`);
  } finally {
    session.disconnect();
    await bare?.close();
    await bot?.stop();
    await world.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`profile failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
