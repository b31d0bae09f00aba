// The contract between the incident worker and Slack: what the worker asks of Slack (implemented
// in handlers/incident-delivery.ts) and how a failed send says what should happen next.
import type { RichText } from '../domain/text.js';
import type { Report } from '../runbooks/types.js';
import type { Postmortem } from './postmortem.js';
import type { Actor, Incident, PostIntent, TimelineEntry } from './types.js';

/**
 * Why a send failed, which decides what happens next: `permanent` is given up (bad blocks,
 * unknown channel); `rate_limited` (429) and `unavailable` (Slack down, hung, erroring, talking
 * nonsense) pause the channel and retry without counting against the post; `busy` (another
 * worker is posting the same digest) retries shortly; `failed` retries with backoff, a few times;
 * `unreachable` (the bot is not in the channel and cannot join it: private, or not visible to it)
 * pauses the channel and probes it with backoff, without end, until someone invites the bot.
 */
export type DeliveryKind = 'permanent' | 'rate_limited' | 'unavailable' | 'busy' | 'failed' | 'unreachable';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: DeliveryKind,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/**
 * The outbox row a post is made for. Every post carries it as message metadata, so a retry
 * whose earlier try may have reached Slack finds that post instead of making a second one.
 */
export interface PostRef {
  outboxId: number;
}

/** What the worker needs from Slack; implemented in handlers/ (Block Kit and the Web API live there). */
export interface IncidentSlack {
  /** Posts the incident's one top-level message; returns its ts. */
  postRoot(i: Incident, ref?: PostRef): Promise<string>;
  /** Posts a storm digest naming every incident in it (each one's top-level post); returns its ts. */
  postDigest(channel: string, digestId: number, members: Incident[]): Promise<string>;
  /** After a crash between posting a digest and recording it: the digest already in the channel, if any. */
  findDigest(channel: string, digestId: number): Promise<string | undefined>;
  updateDigest(channel: string, ts: string, digestId: number, members: Incident[]): Promise<void>;
  /** After a crash between posting and recording: the root already in the channel, if any. */
  findRoot(i: Incident): Promise<string | undefined>;
  updateRoot(i: Incident): Promise<void>;
  /**
   * After a try that may have got through: the reply already in the incident's thread for this
   * outbox row, if any (read back from its metadata). Throws a DeliveryError when Slack cannot say.
   */
  findReply(i: Incident, ref: PostRef): Promise<string | undefined>;
  postReply(i: Incident, intent: PostIntent, ref?: PostRef): Promise<void>;
  postReport(i: Incident, report: Report, actor: Actor | undefined, ref?: PostRef): Promise<void>;
  postPostmortem(
    i: Incident,
    pm: Postmortem,
    timeline: TimelineEntry[],
    updatedBy?: Actor,
    ref?: PostRef,
  ): Promise<void>;
  userByEmail(email: string): Promise<string | undefined>;
  /** The link to the incident's thread, for the follow-up issues that point back to it. */
  permalink?(i: Incident): Promise<string | undefined>;
  /** A direct message, for outcomes with no thread to go to (a declaration PagerDuty refused). */
  notifyUser(slackId: string, text: string | RichText): Promise<void>;
  /** Tells a person by DM that what they did on the incident cannot reach its channel yet. */
  notifyUnreachable(slackId: string, i: Incident): Promise<void>;
}
