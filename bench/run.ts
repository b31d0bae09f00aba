// `npm run bench`: ack latency, fan-out, footprint, the PagerDuty storm and capacity; or only
// the sections named (`npm run bench -- ack capacity`). Every figure sits beside a baseline
// measured in the same run on the same machine, so the ratios hold on a noisy machine. Prints
// one table, every target with met yes/NO, and writes bench/results.json.
import { writeFileSync } from 'node:fs';
import { availableParallelism, cpus, freemem, loadavg, totalmem } from 'node:os';
import { ACK_RATES, type AckRow, ackBench } from './ack.js';
import { CAPACITY_P99_MS, type CapacityResult, capacityBench, RSS_EARLY, RSS_LATE } from './capacity.js';
import { type FanoutResult, fanoutBench } from './fanout.js';
import { FOOTPRINT_TARGETS, type FootprintCase, type FootprintResult, footprintBench } from './footprint.js';
import { openWorld } from './lib/world.js';
import { SETTLE_LIMIT_MS, type StormResult, stormBench } from './storm.js';

const RESULTS = new URL('./results.json', import.meta.url);
// `npm run bench -- footprint` runs only the sections named (ack, fanout, footprint, storm, capacity);
// `--main=PATH` measures another build's main.js in the footprint section (before/after).
const mainArg = process.argv
  .slice(2)
  .find((a) => a.startsWith('--main='))
  ?.slice('--main='.length);
const log = (line: string): void => void process.stderr.write(`${line}\n`);
const gb = (bytes: number): string => `${(bytes / 1024 ** 3).toFixed(1)} GiB`;

interface Row {
  section: string;
  case: string;
  figure: string;
  baseline: string;
  ratio: string;
  target: string;
  met: string;
}

const ms = (v: number): string => `${v} ms`;
const yes = (ok: boolean): string => (ok ? 'yes' : 'NO');

/** The issue's bar: the bot's per-command cost within 1.5× a bare Bolt app's. */
const ACK_RATIO = 1.5;

function ackRows(rows: AckRow[]): Row[] {
  return rows.flatMap((r) => {
    const errors = r.botErrors + r.bareErrors ? ` (${r.botErrors} bot / ${r.bareErrors} bare errors)` : '';
    const busyRatio = r.botBusyMsPerRequest / r.bareBusyMsPerRequest;
    const out: Row[] = [
      {
        section: 'ack',
        case: `${r.rate} req/s p50`,
        figure: ms(r.bot.p50),
        baseline: ms(r.bare.p50),
        ratio: `${(r.bot.p50 / r.bare.p50).toFixed(2)}×`,
        target: '',
        met: '',
      },
      {
        section: 'ack',
        case: `${r.rate} req/s p99${errors}`,
        figure: ms(r.bot.p99),
        baseline: ms(r.bare.p99),
        ratio: `${r.p99Ratio.toFixed(2)}×`,
        target: `≤${ACK_RATIO}×`,
        met: yes(r.p99Ratio <= ACK_RATIO && !r.botErrors),
      },
      {
        section: 'ack',
        case: `${r.rate} req/s max`,
        figure: ms(r.bot.max),
        baseline: ms(r.bare.max),
        ratio: `${(r.bot.max / r.bare.max).toFixed(2)}×`,
        target: '',
        met: '',
      },
      ...(r.steps ?? []).map((step) => ({
        section: 'ack',
        case: `${r.rate} req/s p99, ${step.name}`,
        figure: ms(step.latency.p99),
        baseline: ms(r.bare.p99),
        ratio: `${(step.latency.p99 / r.bare.p99).toFixed(2)}× (busy ${step.busyMsPerRequest} ms, CPU ${step.cpuMsPerRequest} ms)`,
        target: '',
        met: '',
      })),
      {
        section: 'ack',
        case: `${r.rate} req/s server busy a request`,
        figure: ms(r.botBusyMsPerRequest),
        baseline: ms(r.bareBusyMsPerRequest),
        ratio: `${busyRatio.toFixed(2)}×`,
        target: `≤${ACK_RATIO}×`,
        met: yes(busyRatio <= ACK_RATIO),
      },
      ...(r.botCpuMsPerRequest !== undefined && r.bareCpuMsPerRequest
        ? [
            {
              section: 'ack',
              case: `${r.rate} req/s server thread CPU a request`,
              figure: ms(r.botCpuMsPerRequest),
              baseline: ms(r.bareCpuMsPerRequest),
              ratio: `${(r.botCpuMsPerRequest / r.bareCpuMsPerRequest).toFixed(2)}×`,
              target: '',
              met: '',
            },
          ]
        : []),
    ];
    return out;
  });
}

function capacityRows(c: CapacityResult): Row[] {
  const rate = (v: number, top: boolean): string => `${v} req/s${top ? '+' : ''}`;
  const bar = Math.floor(c.bareMaxRate / ACK_RATIO);
  const rows: Row[] = [
    {
      section: 'capacity',
      case: `highest rate with ack p99 < ${CAPACITY_P99_MS} ms`,
      figure: rate(c.botMaxRate, c.botAtTop),
      baseline: rate(c.bareMaxRate, c.bareAtTop),
      ratio: c.bareMaxRate ? `${(c.botMaxRate / c.bareMaxRate).toFixed(2)}×` : '',
      target: `≥ bare ÷ ${ACK_RATIO} (${bar} req/s)`,
      met: yes(c.botMaxRate > 0 && c.botMaxRate >= bar),
    },
    ...c.steps.map((s) => ({
      section: 'capacity',
      case: `${s.rate} req/s p99${s.botErrors + s.bareErrors ? ` (${s.botErrors} bot / ${s.bareErrors} bare errors)` : ''}`,
      figure: s.bot ? ms(s.bot.p99) : '—',
      baseline: s.bare ? ms(s.bare.p99) : '—',
      ratio: s.bot && s.bare ? `${(s.bot.p99 / s.bare.p99).toFixed(2)}×` : '',
      target: '',
      met: '',
    })),
  ];
  if (c.rss)
    rows.push({
      section: 'capacity',
      case: `RSS after ${RSS_LATE.toLocaleString('en')} commands (baseline: after ${RSS_EARLY.toLocaleString('en')}${c.rss.gc ? ', both after a full GC' : ''})${c.rss.errors ? ` (${c.rss.errors} errors)` : ''}`,
      figure: `${c.rss.lateMb} MB`,
      baseline: `${c.rss.earlyMb} MB`,
      ratio: `${c.rss.growthPct >= 0 ? '+' : ''}${c.rss.growthPct} %`,
      target: '≤ +10 %',
      met: yes(c.rss.growthPct <= 10 && !c.rss.errors),
    });
  if (c.rss?.checkpoints.length)
    rows.push({
      section: 'capacity',
      case: 'RSS (heap) on the way, after N commands',
      figure: c.rss.checkpoints.map((p) => `${p.commands / 1000}k: ${p.rssMb} (${p.heapMb})`).join(', '),
      baseline: '',
      ratio: '',
      target: '',
      met: '',
    });
  return rows;
}

function fanoutRows(f: FanoutResult): Row[] {
  const base = f.baseline.latency;
  const line = (c: FanoutResult['healthy'], pct: 'p50' | 'p95', target: string, met: string): Row => ({
    section: 'fan-out',
    case: `${c.case} ${pct}${c.late ? ` (${c.late} late)` : ''}${c.errors ? ` (${c.errors} errors)` : ''}`,
    figure: ms(c.latency[pct]),
    baseline: ms(base[pct]),
    ratio: `${c.latency[pct] >= base[pct] ? '+' : '−'}${Math.abs(Math.round(c.latency[pct] - base[pct]))} ms`,
    target,
    met,
  });
  const hungLimit = f.checkDeadlineMs + 100;
  return [
    line(f.healthy, 'p50', '', ''),
    line(f.healthy, 'p95', '≤300 ms', yes(f.healthy.latency.p95 <= 300 && f.healthy.timedOut === 0)),
    line(f.hung, 'p50', '', ''),
    line(f.hung, 'p95', `≤${hungLimit} ms`, yes(f.hung.latency.p95 <= hungLimit && f.hung.late === 0)),
  ];
}

function stormRows(s: StormResult): Row[] {
  const row = (c: string, figure: string, target = '', met = ''): Row => ({
    section: 'storm',
    case: c,
    figure,
    baseline: '',
    ratio: '',
    target,
    met,
  });
  const lat = s.answerLatency;
  const total = (s.webhooks ?? 0) + (s.redeliveries ?? 0);
  const ok = Object.entries(s.answers ?? {}).reduce((n, [code, k]) => n + (code.startsWith('2') ? k : 0), 0);
  const settled = (v: number | undefined): string =>
    v === undefined ? `not within ${SETTLE_LIMIT_MS / 1000} s` : ms(v);
  return [
    row(
      `${s.webhooks} triggers + ${s.redeliveries} redeliveries, ${s.inFlight} in flight: answered 2xx`,
      `${ok}/${total}`,
      'all',
      yes(ok === total),
    ),
    row('answer latency p50 / p99', `${lat?.p50} / ${lat?.p99} ms`),
    row(
      'answer latency max',
      ms(lat?.max ?? Number.NaN),
      '<5000 ms',
      yes((lat?.max ?? Number.POSITIVE_INFINITY) < 5000),
    ),
    row('time until all stored (last answer)', ms(s.allStoredMs ?? Number.NaN)),
    row(
      'events stored / incidents recorded',
      `${s.eventsStored} / ${s.incidentsStored}`,
      `${s.webhooks} / ${s.webhooks}`,
      yes(s.eventsStored === s.webhooks && s.incidentsStored === s.webhooks),
    ),
    row('time until all incidents recorded', settled(s.allRecordedMs)),
    row('time until every incident is named in a top-level post', settled(s.allNamedMs)),
    row(
      'time until the Slack outbox drained',
      `${settled(s.outboxDrainedMs)}${s.outboxPending ? ` (${s.outboxPending} pending)` : ''}`,
    ),
    row(
      'top-level posts (of them storm digests) / thread replies in #incidents',
      `${s.topLevelPosts} (${s.digests ?? 0}) / ${s.threadReplies}`,
    ),
    row(
      'incidents named in a top-level post',
      `${s.incidentsPosted}/${s.webhooks}`,
      'all',
      yes(s.incidentsPosted === s.webhooks),
    ),
    row('duplicates', String(s.duplicates), '0', yes(s.duplicates === 0)),
    row(
      'highest Slack calls per channel in one second',
      String(s.maxSlackCallsPerChannelSecond),
      '~1 (bursts ≤3)',
      yes((s.maxSlackCallsPerChannelSecond ?? 0) <= 3),
    ),
    row('bench process RSS before → after', `${s.rssBeforeMb} → ${s.rssAfterMb} MB`),
  ];
}

function footprintRows(f: FootprintResult): Row[] {
  const T = FOOTPRINT_TARGETS;
  const row = (c: string, figure: string, baseline = '', ratio = '', target = '', met = ''): Row => ({
    section: 'footprint',
    case: c,
    figure,
    baseline,
    ratio,
    target,
    met,
  });
  const mb = (v: number): string => `${v} MB`;
  const exits = (c: FootprintCase): string => yes(c.runs.every((r) => r.exitCode === 0));
  const rows: Row[] = [];
  const bolt = f.bolt;
  if (f.postgres) {
    const c = f.postgres;
    const ratio = c.readyMs / bolt.readyMs;
    rows.push(
      row(
        `${c.case}: start to ready`,
        ms(c.readyMs),
        ms(bolt.readyMs),
        `${ratio.toFixed(2)}×`,
        `≤${T.httpReadyRatio}× Bolt`,
        yes(ratio <= T.httpReadyRatio),
      ),
      row(
        `${c.case}: RSS idle`,
        mb(c.rssIdleMb),
        mb(bolt.rssIdleMb),
        `${(c.rssIdleMb / bolt.rssIdleMb).toFixed(2)}×`,
        `≤${T.httpRssMb} MB`,
        yes(c.rssIdleMb <= T.httpRssMb),
      ),
      row(`${c.case}: peak RSS`, mb(c.peakMb), mb(bolt.peakMb)),
      row(`${c.case}: SIGTERM drains, exit 0`, '', '', '', 'exit 0', exits(c)),
    );
  }
  const e = f.consoleEmpty;
  rows.push(
    row(
      `${e.case}: to the prompt`,
      ms(e.readyMs),
      ms(bolt.readyMs),
      '',
      `≤${T.consoleEmptyMs} ms`,
      yes(e.readyMs <= T.consoleEmptyMs),
    ),
    row(
      `${e.case}: peak RSS`,
      mb(e.peakMb),
      mb(bolt.peakMb),
      '',
      `≤${T.consoleEmptyPeakMb} MB`,
      yes(e.peakMb <= T.consoleEmptyPeakMb),
    ),
    row(`${e.case}: RSS idle`, mb(e.rssIdleMb), mb(bolt.rssIdleMb)),
  );
  const x = f.consoleExisting;
  rows.push(
    row(`${x.case}: to the prompt`, ms(x.readyMs), ms(bolt.readyMs)),
    row(`${x.case}: peak RSS`, mb(x.peakMb), mb(bolt.peakMb)),
    row(
      `${x.case}: RSS idle`,
      mb(x.rssIdleMb),
      mb(bolt.rssIdleMb),
      '',
      `≤${T.consoleExistingRssMb} MB`,
      yes(x.rssIdleMb <= T.consoleExistingRssMb),
    ),
    row(
      `${x.case}: end of input, exit 0`,
      '',
      '',
      '',
      'exit 0',
      yes([e, x].every((c) => c.runs.every((r) => r.exitCode === 0))),
    ),
  );
  const h = f.httpEmbedded;
  rows.push(
    row(`${h.case}: start to ready`, ms(h.readyMs), ms(bolt.readyMs), `${(h.readyMs / bolt.readyMs).toFixed(2)}×`),
    row(
      `${h.case}: peak RSS`,
      mb(h.peakMb),
      mb(bolt.peakMb),
      '',
      `≤ chart limit ${f.chartLimitMb} MiB`,
      yes(h.peakMb <= f.chartLimitMb * 1.048576),
    ),
    row(`${h.case}: RSS idle`, mb(h.rssIdleMb), mb(bolt.rssIdleMb)),
    row(`load average (1 min) before → after`, `${f.load.before} → ${f.load.after}`),
  );
  return rows;
}

function table(rows: Row[]): string {
  const head: Row = {
    section: 'section',
    case: 'case',
    figure: 'bot',
    baseline: 'baseline',
    ratio: 'bot/baseline',
    target: 'target',
    met: 'met',
  };
  const keys = Object.keys(head) as Array<keyof Row>;
  const width = Object.fromEntries(
    keys.map((k) => [k, Math.max(...[head, ...rows].map((r) => r[k].length))]),
  ) as Record<keyof Row, number>;
  const fmt = (r: Row): string =>
    keys
      .map((k) => r[k].padEnd(width[k]))
      .join(' | ')
      .trimEnd();
  return [fmt(head), keys.map((k) => '-'.repeat(width[k])).join('-|-'), ...rows.map(fmt)].join('\n');
}

const SECTIONS = ['ack', 'fanout', 'footprint', 'storm', 'capacity'] as const;
type Section = (typeof SECTIONS)[number];
const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const a of asked)
  if (!(SECTIONS as readonly string[]).includes(a)) {
    process.stderr.write(`unknown bench section "${a}": choose from ${SECTIONS.join(', ')}\n`);
    process.exit(2);
  }
/** Every section when none is named. */
const wanted = (s: Section): boolean => asked.length === 0 || asked.includes(s);

async function main(): Promise<void> {
  const started = Date.now();
  const machine = {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memory: gb(totalmem()),
    memoryFree: gb(freemem()),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    /** Other work on the machine skews the tails: the 1-minute load average before and after. */
    loadBefore: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    loadAfter: 0,
  };
  const world = await openWorld();
  log(
    `dmp-bot bench: ${machine.cpus} cores, ${machine.memory}, node ${machine.node}; bot store: ${world.storeKind}; Redis: ${world.redisUrl ? 'local' : 'none'}`,
  );
  let ack: AckRow[] = [];
  let fanout: FanoutResult | undefined;
  let footprint: FootprintResult | undefined;
  let storm: StormResult | undefined;
  let capacity: CapacityResult | undefined;
  try {
    if (wanted('ack')) {
      log('(a) ack latency');
      ack = await ackBench(world, log);
    }
    if (wanted('fanout')) {
      log('(b) fan-out');
      fanout = await fanoutBench(world, log);
    }
    if (wanted('footprint')) {
      log('(c) footprint');
      footprint = await footprintBench(world, log, mainArg);
    }
    if (wanted('storm')) {
      log('(d) PagerDuty storm');
      storm = await stormBench(world, log);
      if (!storm.ran) log(`  not run: ${storm.reason}`);
    }
    if (wanted('capacity')) {
      log('(e) capacity');
      capacity = await capacityBench(world, log);
    }
  } finally {
    await world.close();
  }
  const rows = [
    ...ackRows(ack),
    ...(fanout ? fanoutRows(fanout) : []),
    ...(storm?.ran ? stormRows(storm) : []),
    ...(footprint ? footprintRows(footprint) : []),
    ...(capacity ? capacityRows(capacity) : []),
  ];
  const seconds = Math.round((Date.now() - started) / 1000);
  machine.loadAfter = Math.round((loadavg()[0] ?? 0) * 100) / 100;
  process.stdout.write(`\n${table(rows)}\n`);
  if (storm && !storm.ran) process.stdout.write(`\nPagerDuty storm: not run — ${storm.reason}\n`);
  const lag = Math.max(0, ...ack.map((r) => r.clientMaxLagMs), ...(capacity?.steps ?? []).map((s) => s.clientMaxLagMs));
  process.stdout.write(
    `\nLoad generator: its own thread; worst lag behind schedule ${lag} ms (counted in the latencies).\n`,
  );
  const build =
    footprint && footprint.built === 'stale'
      ? '; dist/ could not be rebuilt, footprint measured the previous build'
      : '';
  process.stdout.write(
    `\n${machine.cpus} cores (${machine.cpuModel}), ${machine.memory}, node ${machine.node}; load ${machine.loadBefore} → ${machine.loadAfter}; bot store ${world.storeKind}${build}; ${seconds}s; written to bench/results.json\n`,
  );
  const results = {
    at: new Date(started).toISOString(),
    seconds,
    machine,
    store: world.storeKind,
    redis: Boolean(world.redisUrl),
    ack: { rates: ACK_RATES, rows: ack },
    fanout,
    footprint,
    storm,
    capacity,
    sections: [...SECTIONS].filter(wanted),
    table: rows,
  };
  writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
