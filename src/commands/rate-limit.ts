// Each person's pace of slash commands: COMMAND_RATE_LIMIT per COMMAND_RATE_PERIOD, a token
// bucket per Slack user in the bot store (incidents/pace.ts), so every replica counts the same
// presses. A store that cannot answer lets the command through: a rate limit must not turn a
// database hiccup into an outage of every command.
import { deadline } from '../async.js';
import type { Deps } from '../deps.js';
import { formatDuration } from '../duration.js';
import { takeToken } from '../incidents/pace.js';

/** A hung store must not hold the ack (Slack's 3 seconds): past this, the command goes through. */
const RATE_CHECK_MS = 500;

/** Undefined when the user may run a command now; else the sentence telling them when they may. */
export async function commandRateRefusal(
  deps: Pick<Deps, 'config' | 'store' | 'log' | 'now'>,
  userId: string,
): Promise<string | undefined> {
  const limit = deps.config.COMMAND_RATE_LIMIT;
  const periodMs = deps.config.COMMAND_RATE_PERIOD;
  let waitMs = 0;
  try {
    // One statement, no transaction: the ack waits on one round trip to the store, not five.
    const bucket = await deadline(
      RATE_CHECK_MS,
      () =>
        takeToken(deps.store, `command:${userId}`, { ratePerSec: limit / (periodMs / 1000), burst: limit }, deps.now()),
      () => {
        throw new Error(`the bot store did not answer within ${RATE_CHECK_MS} ms`);
      },
    );
    waitMs = bucket.waitMs;
    if (bucket.available >= 1) return undefined;
  } catch (err) {
    deps.log.warn({ err }, 'could not check the command rate limit; letting the command through');
    return undefined;
  }
  return `You are running commands faster than the limit of ${limit} every ${formatDuration(periodMs)} (COMMAND_RATE_LIMIT); nothing was run. Try again in ${formatDuration(Math.max(1000, waitMs))}.`;
}
