// The PagerDuty client the bot uses: under PAGERDUTY_TIMEOUT, within the token's budget of
// PAGERDUTY_RATE_LIMIT calls a minute shared by every replica (pace.ts), counted in /metrics.
import { createHash } from 'node:crypto';
import type { Deps } from '../deps.js';
import { createPagerDuty, type PagerDutyClient } from '../targets/pagerduty.js';
import { pagerDutySpec, storeLimiter } from './pace.js';

/** The bucket of one API token, named by a hash so the token itself never reaches the store. */
function pagerDutyBucketKey(token: string): string {
  return `pagerduty:${createHash('sha256').update(token).digest('hex').slice(0, 16)}`;
}

export function pacedPagerDuty(
  deps: Pick<Deps, 'config' | 'store' | 'metrics' | 'now'>,
  timeoutMs: number = deps.config.PAGERDUTY_TIMEOUT,
): PagerDutyClient {
  const token = deps.config.PAGERDUTY_API_TOKEN;
  return createPagerDuty({
    token,
    baseUrl: deps.config.PAGERDUTY_API_URL,
    timeoutMs,
    now: deps.now,
    ...(token
      ? {
          limiter: storeLimiter(
            deps.store,
            pagerDutyBucketKey(token),
            pagerDutySpec(deps.config.PAGERDUTY_RATE_LIMIT),
            deps.now,
            'pagerduty',
          ),
        }
      : {}),
    observe(route, result) {
      deps.metrics.apiCalls.inc({ service: 'pagerduty', method: route, result });
      if (!/^2\d\d$/.test(result)) deps.metrics.apiErrors.inc({ service: 'pagerduty', method: route, reason: result });
    },
  });
}
