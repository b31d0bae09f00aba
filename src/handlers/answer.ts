// The one way the Slack glue answers what an incident act came to: the domain's returned refusal
// (an ActionResult with ok false) rendered once by blocks/, the glue's own UserError (who pressed,
// from where) said as it is, and anything else a sentence for the person while the cause goes to the log.
import { renderRich } from '../blocks/mrkdwn.js';
import { UserError } from '../errors.js';
import type { ActionResult } from '../incidents/actions.js';
import type { Logger } from '../log.js';

export interface Failure {
  /** What the person reads when the act failed for a reason that is not theirs. */
  say: string;
  /** The log line beside the cause. */
  log: string;
}

export const ACTION_FAILED: Failure = {
  say: "That did not work: the details are in the bot's log.",
  log: 'incident action failed',
};

/**
 * Runs `work` and says what to tell the person, or undefined when there is nothing to say: a
 * refusal's text, a UserError's sentence, the failure's sentence (the cause logged), or, with
 * `sayDone`, the text of an act that was done.
 */
export async function answerOf(
  log: Pick<Logger, 'error'>,
  work: () => Promise<ActionResult | undefined>,
  failure: Failure = ACTION_FAILED,
  opts: { sayDone?: boolean } = {},
): Promise<string | undefined> {
  try {
    const result = await work();
    return result && (!result.ok || opts.sayDone) ? renderRich(result.text) : undefined;
  } catch (err) {
    if (err instanceof UserError) return renderRich(err.text);
    log.error({ err }, failure.log);
    return failure.say;
  }
}
