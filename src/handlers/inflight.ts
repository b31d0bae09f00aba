// Counts Slack listeners still at work — a late reply after the ack, a rollout being followed —
// so that SIGTERM can wait for them before the pools close, instead of cutting them off.
import type { App } from '@slack/bolt';
import { sleep } from '../async.js';

export interface Inflight {
  readonly count: number;
  /** Resolves when nothing is in flight, or after `timeoutMs`; true when it drained. */
  drain(timeoutMs: number): Promise<boolean>;
}

export function trackInflight(app: App): Inflight {
  let count = 0;
  app.use(async ({ next }) => {
    count += 1;
    try {
      await next();
    } finally {
      count -= 1;
    }
  });
  return {
    get count() {
      return count;
    },
    async drain(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (count > 0 && Date.now() < until) await sleep(50);
      return count === 0;
    },
  };
}
