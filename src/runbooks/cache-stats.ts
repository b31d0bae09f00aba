// Runbook: Useful Commands › Cache Operations ("Get cache stats": INFO stats) and Maintenance
// Procedures › Cache Maintenance (INFO memory, namespaces): the hit rate, the memory against
// maxmemory, and the keys per namespace counted with a bounded SCAN, never KEYS.
import type { Redis } from 'ioredis';
import { plural } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure, type Status } from './types.js';

export const HIT_RATE_WARN = 0.8;
export const MEMORY_WARN = 0.8;
export const MEMORY_CRITICAL = 0.95;
/** A cache namespace this big is worth clearing when memory is tight or the rate poor. */
export const BIG_NAMESPACE_KEYS = 1_000;
/** SCAN stops after this many keys so a huge keyspace cannot hold the reply. */
export const SCAN_BUDGET = 20_000;
const SCAN_COUNT = 1_000;

/** Keys that are the platform's machinery, not cache: never offered for clearing. */
export const NOT_CACHE = new Set(['scan_queue', 'workers', 'worker_heartbeats']);

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out[line.slice(0, i)] = line.slice(i + 1).trim();
  }
  return out;
}

const hitRate: Check = {
  id: 'hits',
  title: 'Hit rate',
  async run({ targets }): Promise<Finding> {
    const info = parseInfo(await targets.redis.run((r) => r.info('stats')));
    const hits = Number(info.keyspace_hits ?? 0);
    const misses = Number(info.keyspace_misses ?? 0);
    const total = hits + misses;
    if (total === 0)
      return {
        check: this.title,
        status: 'ok',
        summary: 'no lookups since the server started (keyspace_hits 0, keyspace_misses 0)',
        facts: { rate: -1 },
      };
    const rate = hits / total;
    return {
      check: this.title,
      status: rate < HIT_RATE_WARN ? 'warn' : 'ok',
      summary: `${(rate * 100).toFixed(1)}% (keyspace_hits ${hits}, keyspace_misses ${misses})`,
      details: [
        `evicted_keys ${info.evicted_keys ?? '?'}`,
        `expired_keys ${info.expired_keys ?? '?'}`,
        `instantaneous_ops_per_sec ${info.instantaneous_ops_per_sec ?? '?'}`,
      ],
      facts: { rate: Math.round(rate * 1000) / 1000, hits, misses },
    };
  },
};

const memory: Check = {
  id: 'memory',
  title: 'Redis memory',
  async run({ targets }): Promise<Finding> {
    const info = parseInfo(await targets.redis.run((r) => r.info('memory')));
    const used = Number(info.used_memory ?? 0);
    const max = Number(info.maxmemory ?? 0);
    const ratio = max ? used / max : 0;
    const status: Status = ratio >= MEMORY_CRITICAL ? 'critical' : ratio >= MEMORY_WARN ? 'warn' : 'ok';
    const limit = max
      ? `of maxmemory ${info.maxmemory_human ?? max} (${Math.round(ratio * 100)}%), policy ${info.maxmemory_policy ?? '?'}`
      : 'no maxmemory limit set';
    return {
      check: this.title,
      status,
      summary: `used_memory_human ${info.used_memory_human ?? '?'} ${limit}`,
      details: [
        `used_memory_peak_human ${info.used_memory_peak_human ?? '?'}`,
        `mem_fragmentation_ratio ${info.mem_fragmentation_ratio ?? '?'}`,
      ],
      facts: { used, max, ratio: Math.round(ratio * 1000) / 1000 },
    };
  },
};

export interface NamespaceCount {
  namespace: string;
  keys: number;
}

/**
 * Counts keys per namespace (the part before the first ':') with SCAN. ioredis adds its
 * keyPrefix to commands but not to a SCAN's MATCH pattern nor strips it from the keys SCAN
 * returns, so both are done here by hand.
 */
export async function countNamespaces(
  redis: Redis,
  prefix: string,
  budget = SCAN_BUDGET,
): Promise<{ counts: NamespaceCount[]; scanned: number; complete: boolean }> {
  const byNs = new Map<string, number>();
  let cursor = '0';
  let scanned = 0;
  const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', SCAN_COUNT);
    cursor = next;
    for (const raw of keys) {
      const key = raw.startsWith(prefix) ? raw.slice(prefix.length) : raw;
      const i = key.indexOf(':');
      const ns = i > 0 ? `${key.slice(0, i)}:*` : key;
      byNs.set(ns, (byNs.get(ns) ?? 0) + 1);
    }
    scanned += keys.length;
  } while (cursor !== '0' && scanned < budget);
  const counts = [...byNs.entries()]
    .map(([namespace, keys]) => ({ namespace, keys }))
    .sort((a, b) => b.keys - a.keys || a.namespace.localeCompare(b.namespace));
  return { counts, scanned, complete: cursor === '0' };
}

const namespaces: Check = {
  id: 'namespaces',
  title: 'Keys by namespace',
  async run({ targets }): Promise<Finding> {
    const prefix = targets.redis.prefix;
    const [{ counts, scanned, complete }, dbsize] = await targets.redis.run(async (r) =>
      Promise.all([countNamespaces(r, prefix), r.dbsize()]),
    );
    const cache = counts.filter((c) => c.namespace.endsWith(':*') && !NOT_CACHE.has(c.namespace));
    const others = counts.filter((c) => !cache.includes(c));
    const biggest = cache[0];
    const scope = complete
      ? `${plural(scanned, 'key')}${prefix ? ` under prefix ${prefix}` : ''}`
      : `sampled the first ${scanned} of ${dbsize} keys`;
    return {
      check: this.title,
      status: 'ok',
      summary: biggest
        ? `${scope}; the largest cache namespace ${biggest.namespace} with ${biggest.keys}`
        : `${scope}; no cache namespace`,
      details: [
        ...cache.slice(0, 10).map((c) => `${c.namespace}  ${c.keys}`),
        ...(others.length
          ? [
              `other keys: ${others
                .slice(0, 8)
                .map((o) => `${o.namespace} ${o.keys}`)
                .join(', ')}`,
            ]
          : []),
      ],
      facts: {
        scanned,
        complete,
        biggest: biggest?.namespace ?? '',
        biggestKeys: biggest?.keys ?? 0,
        big: cache.filter((c) => c.keys >= BIG_NAMESPACE_KEYS).map((c) => c.namespace),
      },
    };
  },
};

export function adviseCache(findings: Finding[]): NextStep[] {
  const ns = factsOf(findings, namespaces.title);
  const mem = factsOf(findings, memory.title);
  const rate = Number(factsOf(findings, hitRate.title)?.rate ?? -1);
  const big = (ns?.big as string[] | undefined) ?? [];
  const tight = Number(mem?.ratio ?? 0) >= MEMORY_WARN;
  const candidates = big.length ? big : tight && ns?.biggest ? [String(ns.biggest)] : [];
  return candidates.slice(0, 3).map((pattern) => ({
    remedy: 'cache-clear',
    label: `Clear ${pattern}`,
    reason: `${pattern} is ${tight ? 'the largest namespace while memory is tight' : `a big namespace`}${rate >= 0 && rate < HIT_RATE_WARN ? ` and the hit rate is ${(rate * 100).toFixed(0)}%` : ''}: clear that namespace (redis-cli --scan --pattern "${pattern}" | xargs redis-cli DEL)`,
    params: { pattern },
  }));
}

export const cacheChecks = { hitRate, memory, namespaces };

export const cacheStats: Procedure = {
  id: 'cache-stats',
  words: ['cache', 'stats'],
  title: 'Cache statistics',
  section: 'Useful Commands › Cache Operations (INFO stats) and Maintenance Procedures › Cache Maintenance',
  group: 'Diagnosis',
  summary: 'Redis hit rate, memory against maxmemory, and keys per namespace (bounded SCAN)',
  dashboard: '/grafana/d/health',
  checks: [hitRate, memory, namespaces],
  remedies: [
    {
      id: 'cache-clear',
      title: 'Clear a cache namespace',
      risk: 'medium',
      section: 'Maintenance Procedures › Cache Maintenance',
    },
  ],
  advise: adviseCache,
};
