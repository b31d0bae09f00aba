// The one exponential backoff: outboxes, paused rate buckets and retried PagerDuty calls all
// wait base, 2·base, 4·base … up to max after consecutive failures.

export interface BackoffOptions {
  /** The wait after the first failure, in ms. */
  base: number;
  /** The cap, in ms. */
  max: number;
  /** 0 (the default) waits exactly; 0.2 spreads each wait over ±20 % so replicas do not retry in step. */
  jitter?: number;
  /** Injected for tests; Math.random otherwise. */
  random?: () => number;
  /** A wait the other side asked for (Retry-After), in ms: kept when longer than the backoff's. */
  atLeast?: number | undefined;
}

/** The wait before retry number `attempt` (1 = after the first failure), in whole ms. */
export function backoff(
  attempt: number,
  { base, max, jitter = 0, random = Math.random, atLeast = 0 }: BackoffOptions,
): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  if (!jitter) return Math.max(exp, atLeast);
  const spread = exp * jitter * (2 * random() - 1);
  return Math.max(Math.round(Math.min(max, Math.max(0, exp + spread))), atLeast);
}
