// Walking Redis keys safely: SCAN with MATCH in batches (never KEYS), UNLINK in batches. With
// DMP_REDIS_PREFIX set, ioredis adds the prefix to key arguments but not to SCAN's MATCH, and
// SCAN returns keys with the prefix: so the prefix is put into MATCH here and taken off before
// the keys go back through a prefixed command such as UNLINK.
import { formatDuration } from '../duration.js';
import type { ActionContext } from './types.js';

const BATCH = 500;

/** Escapes glob characters so a literal prefix matches only itself in SCAN MATCH. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

/** Redis glob matching for the `*` and `?` a pattern may contain (brackets are refused earlier). */
export function globMatches(pattern: string, key: string): boolean {
  const source = [...pattern]
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(key);
}

export interface ScanCount {
  count: number;
  sample: string[];
  complete: boolean;
}

/** Counts the keys matching `pattern` (without the prefix), within `deadlineMs`. */
export async function countKeys(ctx: ActionContext, pattern: string, deadlineMs: number): Promise<ScanCount> {
  const prefix = ctx.targets.redis.prefix;
  const match = `${globEscape(prefix)}${pattern}`;
  const started = ctx.now().getTime();
  let cursor = '0';
  let count = 0;
  const sample: string[] = [];
  do {
    const [next, keys] = await ctx.targets.redis.run((r) => r.scan(cursor, 'MATCH', match, 'COUNT', BATCH));
    cursor = next;
    count += keys.length;
    for (const k of keys) if (sample.length < 5) sample.push(k.slice(prefix.length));
    if (ctx.now().getTime() - started > deadlineMs) return { count, sample, complete: cursor === '0' };
  } while (cursor !== '0');
  return { count, sample, complete: true };
}

/** Removes every key matching `pattern` (without the prefix) in batches; returns how many went. */
export async function unlinkMatching(
  ctx: ActionContext,
  pattern: string,
): Promise<{ removed: number; ms: number; complete: boolean }> {
  const prefix = ctx.targets.redis.prefix;
  const match = `${globEscape(prefix)}${pattern}`;
  const started = ctx.now().getTime();
  const every = Math.max(100, ctx.config.MAINTENANCE_PROGRESS_INTERVAL);
  let nextReport = started + every;
  let cursor = '0';
  let removed = 0;
  do {
    const [next, keys] = await ctx.targets.redis.run((r) => r.scan(cursor, 'MATCH', match, 'COUNT', BATCH));
    cursor = next;
    if (keys.length) {
      const bare = keys.map((k) => k.slice(prefix.length));
      removed += await ctx.targets.redis.run((r) => r.unlink(...bare));
    }
    if (ctx.now().getTime() >= nextReport) {
      await ctx.progress({
        status: 'running',
        text: [`${removed} keys removed so far after ${formatDuration(ctx.now().getTime() - started)}`],
      });
      nextReport = ctx.now().getTime() + every;
    }
    if (ctx.now().getTime() - started > ctx.config.MAINTENANCE_TIMEOUT)
      return { removed, ms: ctx.now().getTime() - started, complete: false };
  } while (cursor !== '0');
  return { removed, ms: ctx.now().getTime() - started, complete: true };
}
