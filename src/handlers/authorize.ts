// Bolt's single-token authorization calls auth.test once at start-up and keeps the promise,
// so a Slack that is unreachable for a moment at boot crashes the process (an unhandled
// rejection) or leaves every later event unauthorized. This one asks again until it knows
// the bot's ids, and lets events through with the token meanwhile.
import type { Authorize } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import { deadline } from '../async.js';
import type { Logger } from '../log.js';

const LEARN_WAIT_MS = 300;

export function singleWorkspaceAuthorize(client: WebClient, botToken: string, log: Logger): Authorize<boolean> {
  let known: { botId?: string; botUserId?: string; teamId?: string } | undefined;
  let pending: Promise<void> | undefined;
  const learn = async () => {
    try {
      const r = await client.auth.test({ token: botToken });
      known = { botId: r.bot_id, botUserId: r.user_id, teamId: r.team_id };
    } catch (err) {
      log.warn({ err }, 'auth.test failed; will ask again on the next event');
    } finally {
      pending = undefined;
    }
  };
  return async () => {
    if (!known) {
      // learn() never rejects; an event waits for it only briefly, never into Slack's 3 seconds.
      pending ??= learn();
      const learning = pending;
      await deadline(
        LEARN_WAIT_MS,
        () => learning,
        () => undefined,
      );
    }
    return { botToken, ...known };
  };
}
