// Runbook: Maintenance Procedures › Cache Maintenance — clear one cache namespace by pattern
// (`graph:*`): SCAN and UNLINK in batches, never KEYS; the count removed is reported and every
// other key stays. The platform's queue, worker registry and heartbeats are never a namespace.
import { z } from 'zod';
import { formatDuration } from '../duration.js';
import { countKeys, globMatches, unlinkMatching } from './redis-keys.js';
import { defineRemediation } from './types.js';

/** Keys that hold the platform's state, not cache: a pattern that matches one is refused. */
export const PROTECTED_KEYS = ['scan_queue', 'workers', 'worker_heartbeats'];

export const cachePattern = z
  .string()
  .trim()
  .min(2)
  .max(200)
  .regex(/^[A-Za-z0-9_:.\-*?]+$/, 'a pattern is letters, digits, _ : . - and the wildcards * and ?, such as graph:*')
  .regex(
    /^[A-Za-z0-9_:.-]{2,}/,
    'a pattern starts with at least two literal characters (a namespace such as graph:*); use `/dmp cache flush` to clear everything',
  )
  .refine((p) => !PROTECTED_KEYS.some((k) => globMatches(p, k)), {
    message: `that pattern would also remove the platform's own state (${PROTECTED_KEYS.join(', ')}), which is not cache`,
  });

const PREVIEW_DEADLINE_MS = 5_000;

export const clearCache = defineRemediation({
  id: 'cache-clear',
  title: 'Clear a cache namespace',
  section: 'Maintenance Procedures › Cache Maintenance',
  risk: 'medium',
  schema: z.object({ pattern: cachePattern }),
  riskKeys: (p) => ['cache-clear', `cache-clear:${p.pattern}`],
  label: (p) => `Clear cache ${p.pattern}`,
  async preview(ctx, p) {
    const found = await countKeys(ctx, p.pattern, PREVIEW_DEADLINE_MS);
    const n = `${found.complete ? '' : 'at least '}${found.count}`;
    const details = [
      ...(found.sample.length ? [`for example: ${found.sample.join(', ')}`] : []),
      'Removed with SCAN and UNLINK in batches; no other key is touched.',
      ...(ctx.targets.redis.prefix
        ? [`Keys are looked up under the prefix ${ctx.targets.redis.prefix} (DMP_REDIS_PREFIX).`]
        : []),
    ];
    if (found.count === 0)
      return { summary: `0 keys match ${p.pattern}`, details, nothingToDo: `No key matches ${p.pattern}.` };
    return { summary: `${n} key${found.count === 1 ? '' : 's'} match ${p.pattern} and will be removed`, details };
  },
  async execute(ctx, p) {
    const r = await unlinkMatching(ctx, p.pattern);
    return {
      ok: r.complete,
      summary: `${r.removed} key${r.removed === 1 ? '' : 's'} matching ${p.pattern} removed in ${formatDuration(r.ms)}${r.complete ? '' : ' (stopped at the time bound; run it again for the rest)'}`,
    };
  },
});
