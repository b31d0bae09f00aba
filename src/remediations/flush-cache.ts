// Runbook: Maintenance Procedures › Cache Maintenance — "Clear all caches" (FLUSHDB). When
// DMP_REDIS_PREFIX is set the database is shared with others, so only the keys under that
// prefix are removed (SCAN + UNLINK); otherwise it is the runbook's FLUSHDB. High risk by default.
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { countKeys, unlinkMatching } from './redis-keys.js';
import { defineRemediation } from './types.js';

export const flushCache = defineRemediation({
  id: 'cache-flush',
  title: 'Clear all caches (FLUSHDB)',
  section: 'Maintenance Procedures › Cache Maintenance',
  risk: 'high',
  schema: z.object({}),
  riskKeys: () => ['cache-flush'],
  label: () => 'Flush the cache database',
  async preview(ctx) {
    const prefix = ctx.targets.redis.prefix;
    if (prefix) {
      const found = await countKeys(ctx, '*', 5_000);
      return {
        summary: `${found.complete ? '' : 'at least '}${found.count} keys under the prefix ${prefix} will be removed (DMP_REDIS_PREFIX is set, so FLUSHDB is limited to it)`,
        details: ['This includes scan_queue, workers and worker_heartbeats: queued jobs are lost.'],
      };
    }
    const size = await ctx.targets.redis.run((r) => r.dbsize());
    return {
      summary: `FLUSHDB: all ${size} keys of the platform's Redis database will be removed`,
      details: ['This includes scan_queue, workers and worker_heartbeats: queued jobs are lost.'],
    };
  },
  async execute(ctx) {
    const prefix = ctx.targets.redis.prefix;
    if (prefix) {
      const r = await unlinkMatching(ctx, '*');
      return { ok: r.complete, summary: `${r.removed} keys under ${prefix} removed in ${formatDuration(r.ms)}` };
    }
    const before = await ctx.targets.redis.run((r) => r.dbsize());
    await ctx.targets.redis.run((r) => r.flushdb(), 30_000);
    return { ok: true, summary: `FLUSHDB done: ${before} keys removed` };
  },
});
