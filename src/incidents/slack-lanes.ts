// Sends the Slack outbox in one lane per channel, each claiming only what the channel's shared
// token bucket allows (pace.ts); a 429 or an unreachable Slack pauses that channel's bucket and
// no other, and a slow channel never holds the worker's loop nor the other channels.
import { backoff } from '../backoff.js';
import { DeliveryError } from './delivery.js';
import {
  CHANNEL_UNREACHABLE,
  claimChannelPosts,
  dueChannels,
  failPost,
  MAX_POST_ATTEMPTS,
  OUTBOX_BACKOFF,
  type OutboxRow,
  postPending,
  releasePosts,
} from './outbox.js';
import { type BucketSpec, backOffBucket, bucketRecovered, pauseBucket, slackChannelKey } from './pace.js';
import { sendPost } from './send-post.js';
import { getIncident } from './store.js';
import type { Incident, PostIntent } from './types.js';
import type { LaneHooks, WorkerEnv } from './worker-env.js';

/** The Slack user whose act this post reports (the declarer, for a declared incident's root), if any. */
function pressedBy(intent: PostIntent, i: Incident): string | undefined {
  if (intent.type === 'root') return i.declaredBy;
  return 'actor' in intent && intent.actor?.source === 'slack' ? intent.actor.slackId : undefined;
}

export interface SlackLanes {
  /** Claims what each channel's bucket allows and sends it in that channel's lane; true when any lane started. */
  start(): Promise<boolean>;
  /** The lanes in flight in this process. */
  inFlight(): Array<Promise<void>>;
}

/**
 * The Slack lanes of one worker. `stopped` is asked before each channel is claimed; `runRound` runs
 * a round when a lane is done and the worker has not stopped.
 */
export function slackLanes(env: WorkerEnv, hooks: LaneHooks): SlackLanes {
  const { deps, log } = env;
  const pace: BucketSpec = { ratePerSec: deps.config.SLACK_CHANNEL_RATE, burst: deps.config.SLACK_CHANNEL_BURST };
  /** Channels with a send batch in flight in this process. */
  const lanes = new Map<string, Promise<void>>();
  return {
    async start() {
      const now = deps.now();
      let started = false;
      for (const channel of await dueChannels(deps.store, now)) {
        if (hooks.stopped() || lanes.has(channel)) continue;
        const rows = await claimChannelPosts(deps.store, channel, now, env.batch, env.leaseMs, pace, env.claims.id());
        if (rows.length === 0) continue;
        started = true;
        const ids = rows.map((r) => r.id);
        env.claims.hold('incident_outbox', ids);
        const lane = runLane(env, channel, rows)
          .catch((err: unknown) =>
            log.error({ err, channel }, 'Slack lane failed; its posts are retried after their lease'),
          )
          .finally(() => {
            env.claims.release('incident_outbox', ids);
            lanes.delete(channel);
            // The channel may have more to send as soon as its bucket allows.
            if (!hooks.stopped()) hooks.runRound();
          });
        lanes.set(channel, lane);
      }
      return started;
    },
    inFlight() {
      return [...lanes.values()];
    },
  };
}

/** One channel's claimed posts, in order; a pause (429, Slack unreachable) hands the rest back untried. */
async function runLane(env: WorkerEnv, channel: string, rows: OutboxRow[]): Promise<void> {
  const { deps } = env;
  let sent = false;
  for (let k = 0; k < rows.length; k++) {
    const row = rows[k] as OutboxRow;
    // The claims session was lost (its connection terminated): another replica may own these
    // rows now, so none of them is started from here.
    const outcome = row.claimedBy !== null && env.claims.id() !== row.claimedBy ? 'abandoned' : await runPost(env, row);
    if (outcome === 'paused' || outcome === 'abandoned') {
      await releasePosts(deps.store, rows.slice(outcome === 'paused' ? k + 1 : k));
      return;
    }
    sent ||= outcome === 'sent';
  }
  // Slack answers again: the next outage starts its backoff afresh (whichever replica saw this one).
  if (sent) await bucketRecovered(deps.store, slackChannelKey(channel));
}

async function runPost(env: WorkerEnv, row: OutboxRow): Promise<'sent' | 'paused' | 'failed'> {
  const { deps, log } = env;
  const now = deps.now();
  // A digest post completes its members' root rows: one claimed meanwhile has nothing left to do.
  if (!(await postPending(deps.store, row.id))) return 'sent';
  const i = await getIncident(deps.store, row.incidentId);
  if (!i) {
    await failPost(deps.store, row.id, now, 'incident not found', undefined);
    return 'failed';
  }
  const post = row.intent.type;
  try {
    await sendPost(env, row, i);
    return 'sent';
  } catch (err) {
    const d = err instanceof DeliveryError ? err : new DeliveryError(String((err as Error)?.message ?? err), 'failed');
    deps.metrics?.apiErrors.inc({ service: 'slack', method: `outbox:${post}`, reason: d.kind });
    const key = slackChannelKey(row.channel);
    switch (d.kind) {
      case 'rate_limited': {
        // Slack's Retry-After holds this channel, for every replica; other channels go on.
        const until = new Date(now.getTime() + (d.retryAfterMs ?? 1000));
        log.warn(
          { channel: row.channel, incident: i.id, post, retryAfterMs: d.retryAfterMs },
          'Slack rate limited the channel; pausing it',
        );
        await pauseBucket(deps.store, key, until);
        await failPost(deps.store, row.id, now, d.message, until, { refund: true });
        return 'paused';
      }
      case 'unavailable': {
        // Slack down, hung or answering nonsense: probe the channel with backoff; the post keeps its place.
        const delay = await backOffBucket(deps.store, key, now);
        log.warn(
          { err, channel: row.channel, incident: i.id, post, retryInMs: delay },
          'Slack did not take a post; pausing the channel',
        );
        await failPost(deps.store, row.id, now, d.message, new Date(now.getTime() + delay), { refund: true });
        return 'paused';
      }
      case 'unreachable': {
        // Nobody reads a post the channel refuses: keep it, probe the channel with backoff until
        // the bot is invited, and say so where someone will see it (logs, /health, a DM).
        const delay = await backOffBucket(deps.store, key, now);
        log.error(
          { channel: row.channel, incident: i.id, post, retryInMs: delay, reason: d.message },
          'the incidents channel is unreachable: the bot is not in it and cannot join it; invite the bot (its posts wait)',
        );
        const first = !row.lastError?.startsWith(CHANNEL_UNREACHABLE);
        await failPost(deps.store, row.id, now, d.message, new Date(now.getTime() + delay), { refund: true });
        const person = pressedBy(row.intent, i);
        if (first && person)
          await env.slack
            .notifyUnreachable(person, i)
            .catch((e: unknown) => log.warn({ err: e, incident: i.id }, 'could not tell the person by DM either'));
        return 'paused';
      }
      case 'busy':
        await failPost(deps.store, row.id, now, d.message, new Date(now.getTime() + (d.retryAfterMs ?? 1000)), {
          refund: true,
        });
        return 'failed';
      default:
        if (d.kind === 'permanent' || row.attempts >= MAX_POST_ATTEMPTS) {
          log.error({ err, incident: i.id, post }, 'Slack post given up');
          await failPost(deps.store, row.id, now, d.message, undefined);
        } else {
          log.warn({ err, incident: i.id, post, attempts: row.attempts }, 'Slack post failed; will retry');
          await failPost(
            deps.store,
            row.id,
            now,
            d.message,
            new Date(now.getTime() + backoff(row.attempts, { ...OUTBOX_BACKOFF, atLeast: d.retryAfterMs })),
          );
        }
        return 'failed';
    }
  }
}
