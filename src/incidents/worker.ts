// The background worker every bot process runs: it applies stored PagerDuty events, fires due
// timers, makes queued PagerDuty calls and sends queued Slack posts. Everything it does is
// claimed in the bot store first, so several replicas share the work and each piece runs once.
// It polls briefly and is woken at once when a webhook has been stored. This module is the loop;
// the work is in apply-events.ts, pd-calls.ts and slack-lanes.ts (send-post.ts, digest-posting.ts).

import { followupLane } from '../followups/lane.js';
import { statuspageLane } from '../statuspage/lane.js';
import type { PagerDutyClient } from '../targets/pagerduty.js';
import { applyNextEvent } from './apply-events.js';
import { startClaimSession } from './claim-session.js';
import type { WorkflowCtx } from './ctx.js';
import type { IncidentSlack } from './delivery.js';
import { pdCallLane } from './pd-calls.js';
import { fireTimer } from './reminders.js';
import { slackLanes } from './slack-lanes.js';
import { claimDueTimers } from './timers.js';
import type { LaneHooks, WorkerDeps, WorkerEnv } from './worker-env.js';

export { DeliveryError, type DeliveryKind, type IncidentSlack, type PostRef } from './delivery.js';
export type { WorkerDeps } from './worker-env.js';

export interface WorkerOptions {
  pollMs?: number;
  /** Rows claimed per round for each kind of work. */
  batch?: number;
  leaseMs?: number;
}

export interface IncidentWorker {
  /** Runs a round now (a webhook was stored, a button pressed). */
  wake(): void;
  /** Resolves when a round has run after the call (tests, drains). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

export function startIncidentWorker(
  deps: WorkerDeps,
  slack: IncidentSlack,
  pd: PagerDutyClient,
  opts: WorkerOptions = {},
): IncidentWorker {
  const pollMs = opts.pollMs ?? deps.config.INCIDENT_POLL_INTERVAL;
  const batch = opts.batch ?? 8;
  // A claim ends with its claimer's database session (claim-session.ts): a replica that dies
  // leaves its rows to the others at once. The lease is only for one that hangs without dying;
  // the heartbeat renews it every third of it while the row is worked on.
  const leaseMs = opts.leaseMs ?? deps.config.INCIDENT_CLAIM_LEASE;
  const log = deps.log.child({ component: 'incident-worker' });
  const ctx: WorkflowCtx = { config: deps.config, log, now: deps.now };
  const claims = startClaimSession({
    store: deps.store,
    url: deps.config.BOT_DATABASE_URL,
    log,
    now: deps.now,
    leaseMs,
  });
  const env: WorkerEnv = { deps, log, ctx, slack, pd, batch, leaseMs, claims };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let again = false;
  let failingSince: number | undefined;
  let lastFailureLog = 0;
  const hooks: LaneHooks = {
    stopped: () => stopped,
    runRound: () => {
      void run();
    },
  };
  const pdCalls = pdCallLane(env, hooks);
  const slackPosts = slackLanes(env, hooks);
  const statusPage = statuspageLane(env, hooks);
  const followups = followupLane(env, hooks);

  async function fireTimers(): Promise<boolean> {
    return deps.store.tx(async (q) => {
      const due = await claimDueTimers(q, deps.now(), 20);
      for (const t of due) {
        const posted = await fireTimer(q, ctx, t);
        log.info({ incident: t.incidentId, timer: t.kind, posted }, 'incident timer fired');
      }
      return due.length > 0;
    });
  }

  async function round(): Promise<boolean> {
    let busy = false;
    for (let n = 0; n < 50 && !stopped; n++) {
      if (!(await applyNextEvent(env))) break;
      busy = true;
    }
    if (await fireTimers()) busy = true;
    // Claims made before the session is open would be lease-only: wait for its first try.
    await claims.ready;
    // PagerDuty calls and Slack posts run beside the loop, so a hung PagerDuty or a paused
    // channel never holds the events and timers (nor, for Slack, the other channels).
    if (await pdCalls.start()) busy = true;
    if (!stopped && (await slackPosts.start())) busy = true;
    if (!stopped && (await statusPage.start())) busy = true;
    if (!stopped && (await followups.start())) busy = true;
    return busy;
  }

  /** Everything in flight beside the loop (tests and drains wait for it). */
  async function inFlight(): Promise<void> {
    await Promise.all([
      ...pdCalls.inFlight(),
      ...slackPosts.inFlight(),
      ...statusPage.inFlight(),
      ...followups.inFlight(),
    ]);
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      try {
        if (await round()) again = true;
        if (failingSince !== undefined)
          log.info({ downForMs: deps.now().getTime() - failingSince }, 'incident worker recovered');
        failingSince = undefined;
      } catch (err) {
        // The bot store is down or slow: say so, but not four times a second.
        const t = deps.now().getTime();
        failingSince ??= t;
        if (t - lastFailureLog > 30_000) {
          lastFailureLog = t;
          log.error({ err }, 'incident worker round failed; retrying every poll');
        }
        again = false;
      }
    } while (again && !stopped);
  }

  function run(): Promise<void> {
    if (current) {
      again = true;
      return current;
    }
    current = drain().finally(() => {
      current = undefined;
    });
    return current;
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => {
      void run().then(schedule);
    }, pollMs);
    timer.unref?.();
  }

  schedule();

  return {
    wake() {
      if (!stopped) void run();
    },
    async tick() {
      await run();
      await inFlight();
      await run();
      await inFlight();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
      // Drain: what was claimed goes out (or back to the store) before the pools close.
      await inFlight();
      await claims.stop();
    },
  };
}
