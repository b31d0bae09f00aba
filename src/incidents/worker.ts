// The background worker every bot process runs: it applies stored PagerDuty events, fires due
// timers, makes queued PagerDuty calls and sends queued Slack posts. Everything it does is
// claimed in the bot store first, so several replicas share the work and each piece runs once.
// It polls briefly and is woken at once when a webhook has been stored.
// Slack posts go out in one lane per channel, each claiming only what the channel's shared
// token bucket allows (pace.ts); a 429 or an unreachable Slack pauses that channel's bucket and
// no other, and a slow channel never holds the events, timers or the other channels.
import type { Config } from '../config.js';
import { formatDuration } from '../duration.js';
import { TargetError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import { findProcedure } from '../runbooks/index.js';
import { runProcedure } from '../runbooks/run.js';
import type { Report } from '../runbooks/types.js';
import type { Sql } from '../store/sql.js';
import type { PagerDutyClient } from '../targets/pagerduty.js';
import { pdErrorText } from '../targets/pagerduty.js';
import type { Targets } from '../targets/index.js';
import { contactFor, contactsFor } from './contacts.js';
import { specialistRoles } from './match.js';
import {
  backoffMs,
  claimChannelPosts,
  completePost,
  dueChannels,
  enqueuePost,
  failPost,
  laterRootUpdate,
  MAX_POST_ATTEMPTS,
  type OutboxRow,
  postPending,
  releasePosts,
} from './outbox.js';
import { backOffBucket, type BucketSpec, bucketRecovered, pauseBucket, slackChannelKey } from './pace.js';
import { claimPdCalls, completePdCall, failPdCall, type PdCallRow } from './pd-outbox.js';
import { type Postmortem, refreshPostmortem } from './postmortem.js';
import { fireTimer } from './reminders.js';
import { severityMap, severityOf } from './severity.js';
import { getIncident, incidentsInDigest, setRootTs } from './store.js';
import { claimDigestPosting, digestPosted, getDigest, releaseDigestPosting } from './storm.js';
import { addTimeline, timelineOf } from './timeline.js';
import { claimDueTimers } from './timers.js';
import type { Actor, Incident, Mention, PostIntent, TimelineEntry } from './types.js';
import { applyEvent, createIncident, snapshotFromRest, type WorkflowCtx } from './workflow.js';

/**
 * Why a send failed, which decides what happens next: `permanent` is given up (bad blocks,
 * unknown channel); `rate_limited` (429) and `unavailable` (Slack down, hung, erroring, talking
 * nonsense) pause the channel and retry without counting against the post; `busy` (another
 * worker is posting the same digest) retries shortly; `failed` retries with backoff, a few times.
 */
export type DeliveryKind = 'permanent' | 'rate_limited' | 'unavailable' | 'busy' | 'failed';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: DeliveryKind,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }

  get permanent(): boolean {
    return this.kind === 'permanent';
  }
}

/** What the worker needs from Slack; implemented in handlers/ (Block Kit and the Web API live there). */
export interface IncidentSlack {
  /** Posts the incident's one top-level message; returns its ts. */
  postRoot(i: Incident): Promise<string>;
  /** Posts a storm digest naming every incident in it (each one's top-level post); returns its ts. */
  postDigest(channel: string, digestId: number, members: Incident[]): Promise<string>;
  /** After a crash between posting a digest and recording it: the digest already in the channel, if any. */
  findDigest(channel: string, digestId: number): Promise<string | undefined>;
  updateDigest(channel: string, ts: string, digestId: number, members: Incident[]): Promise<void>;
  /** After a crash between posting and recording: the root already in the channel, if any. */
  findRoot(i: Incident): Promise<string | undefined>;
  updateRoot(i: Incident): Promise<void>;
  postReply(i: Incident, intent: PostIntent): Promise<void>;
  postReport(i: Incident, report: Report, actor: Actor | undefined): Promise<void>;
  postPostmortem(i: Incident, pm: Postmortem, timeline: TimelineEntry[], updatedBy?: Actor): Promise<void>;
  userByEmail(email: string): Promise<string | undefined>;
  /** A direct message, for outcomes with no thread to go to (a declaration PagerDuty refused). */
  notifyUser(slackId: string, text: string): Promise<void>;
}

export interface WorkerDeps {
  config: Config;
  log: Logger;
  store: Sql;
  targets: Targets;
  metrics?: Metrics;
  now(): Date;
}

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

const EVENT_MAX_ATTEMPTS = 6;
const DEFER_ATTEMPTS = 15;

export function startIncidentWorker(deps: WorkerDeps, slack: IncidentSlack, pd: PagerDutyClient, opts: WorkerOptions = {}): IncidentWorker {
  const pollMs = opts.pollMs ?? deps.config.INCIDENT_POLL_INTERVAL;
  const batch = opts.batch ?? 8;
  // A claim outlives the longest call it covers (Slack and PagerDuty calls are bounded at 10 s)
  // and no more: a process killed mid-call leaves its rows to the next one after this long.
  const leaseMs = opts.leaseMs ?? Math.max(25_000, deps.config.PAGERDUTY_TIMEOUT * 2 + 5_000);
  const log = deps.log.child({ component: 'incident-worker' });
  const ctx: WorkflowCtx = { config: deps.config, log, now: deps.now };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let again = false;
  const pace: BucketSpec = { ratePerSec: deps.config.SLACK_CHANNEL_RATE, burst: deps.config.SLACK_CHANNEL_BURST };
  /** Channels with a send batch in flight in this process. */
  const lanes = new Map<string, Promise<void>>();
  let pdLane: Promise<void> | undefined;
  let failingSince: number | undefined;
  let lastFailureLog = 0;

  // --- PagerDuty events

  async function processEvent(): Promise<boolean> {
    let eventRowId: number | undefined;
    let attempts = 0;
    try {
      return await deps.store.tx(async (q) => {
        const now = deps.now();
        const rows = await q.query<{ id: string; event_id: string; event_type: string; occurred_at: Date | null; received_at: Date; body: { event?: { agent?: unknown; data?: unknown } }; attempts: number }>(
          `SELECT id, event_id, event_type, occurred_at, received_at, body, attempts FROM pd_webhook_events
            WHERE processed_at IS NULL AND not_before <= $1 ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`,
          [now],
        );
        const row = rows[0];
        if (!row) return false;
        eventRowId = Number(row.id);
        attempts = row.attempts;
        const outcome = await applyEvent(q, ctx, {
          eventId: row.event_id,
          eventType: row.event_type,
          occurredAt: row.occurred_at ? new Date(row.occurred_at) : undefined,
          receivedAt: new Date(row.received_at),
          agent: row.body.event?.agent,
          data: row.body.event?.data,
        });
        if (outcome === 'defer' && row.attempts + 1 < DEFER_ATTEMPTS) {
          await q.query('UPDATE pd_webhook_events SET attempts = attempts + 1, not_before = $2 WHERE id = $1', [row.id, new Date(now.getTime() + 1000 * (row.attempts + 1))]);
        } else {
          await q.query('UPDATE pd_webhook_events SET processed_at = $2, outcome = $3 WHERE id = $1', [row.id, now, outcome === 'defer' ? 'orphan' : outcome]);
          if (outcome === 'defer') log.warn({ event: row.event_id, type: row.event_type }, 'PagerDuty event about an incident never seen; recorded and dropped');
        }
        deps.metrics?.webhookEventsProcessed.inc({ type: row.event_type, outcome });
        return true;
      });
    } catch (err) {
      if (eventRowId === undefined) throw err;
      log.error({ err, eventRowId }, 'could not apply a PagerDuty event; will retry');
      const giveUp = attempts + 1 >= EVENT_MAX_ATTEMPTS;
      await deps.store.query(
        `UPDATE pd_webhook_events SET attempts = attempts + 1, not_before = $2, error = $3, processed_at = $4, outcome = $5 WHERE id = $1`,
        [eventRowId, new Date(deps.now().getTime() + backoffMs(attempts + 1)), String((err as Error)?.message ?? err).slice(0, 1000), giveUp ? deps.now() : null, giveUp ? 'failed' : null],
      );
      return true;
    }
  }

  // --- timers

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

  // --- PagerDuty calls

  /** When to try a failed PagerDuty call again, or undefined once PAGERDUTY_RETRY_FOR has passed. */
  function pdRetryAt(row: PdCallRow, now: Date, retryAfterMs?: number): Date | undefined {
    const deadline = row.createdAt.getTime() + deps.config.PAGERDUTY_RETRY_FOR;
    if (now.getTime() >= deadline) return undefined;
    return new Date(Math.min(now.getTime() + backoffMs(row.attempts, retryAfterMs), Math.max(deadline, now.getTime() + (retryAfterMs ?? 0))));
  }

  async function runPdCall(row: PdCallRow): Promise<void> {
    const now = deps.now();
    try {
      const answer = await performPdCall(pd, deps.config, row);
      if (answer.status >= 200 && answer.status < 300) {
        await deps.store.tx(async (q) => {
          await completePdCall(q, row.id, now, answer.status, answer.body);
          if (row.call.kind === 'create') {
            const snapshot = snapshotFromRest((answer.body as { incident?: unknown } | undefined)?.incident);
            if (snapshot) {
              await createIncident(q, ctx, snapshot, { receivedAt: deps.now(), at: deps.now(), declaration: { call: row.call, requestedBy: row.requestedBy } });
            }
          }
        });
        return;
      }
      const reason = pdErrorText(answer);
      const retryAt = answer.status === 429 || answer.status >= 500 ? pdRetryAt(row, now, answer.retryAfterMs) : undefined;
      if (retryAt) {
        log.warn({ call: row.call.kind, status: answer.status, attempts: row.attempts, retryAt }, 'PagerDuty answered an error; will retry');
        await failPdCall(deps.store, row.id, now, reason, retryAt, answer.status);
        return;
      }
      await failPdCall(deps.store, row.id, now, reason, undefined, answer.status);
      await reportPdFailure(row, answer.status === 429 || answer.status >= 500 ? `${reason}, still after ${formatDuration(now.getTime() - row.createdAt.getTime())} of retrying` : reason);
    } catch (err) {
      const permanent = err instanceof PermanentPdError || (err instanceof TargetError && err.code === 'not_configured');
      const reason = err instanceof TargetError ? err.sentence() : String((err as Error)?.message ?? err);
      const retryAt = permanent ? undefined : pdRetryAt(row, now);
      if (retryAt) {
        log.warn({ err, call: row.call.kind, attempts: row.attempts, retryAt }, 'PagerDuty call failed; will retry');
        await failPdCall(deps.store, row.id, now, reason, retryAt);
        return;
      }
      if (!permanent) {
        await failPdCall(deps.store, row.id, now, reason, undefined);
        await reportPdFailure(row, `${reason}, still after ${formatDuration(now.getTime() - row.createdAt.getTime())} of retrying`);
        return;
      }
      await failPdCall(deps.store, row.id, now, reason, undefined);
      await reportPdFailure(row, reason);
    }
  }

  async function reportPdFailure(row: PdCallRow, reason: string): Promise<void> {
    log.warn({ call: row.call.kind, incident: row.incidentId, reason }, 'PagerDuty refused a call');
    const what = PD_CALL_LABEL[row.call.kind];
    const by = row.requestedBy?.slackId ? ` <@${row.requestedBy.slackId}>, please do it in PagerDuty.` : '';
    if (row.incidentId) {
      const i = await getIncident(deps.store, row.incidentId);
      if (i) await enqueuePost(deps.store, i, { type: 'warning', text: `PagerDuty did not take the ${what}: ${reason}.${by}` }, deps.now());
    } else if (row.requestedBy?.slackId) {
      await slack.notifyUser(row.requestedBy.slackId, `PagerDuty did not take the ${what}: ${reason}.`).catch((err: unknown) => log.warn({ err }, 'could not tell the user'));
    }
  }

  // --- Slack posts

  /** Claims what each channel's bucket allows and sends it in that channel's lane; true when any lane started. */
  async function startLanes(): Promise<boolean> {
    const now = deps.now();
    let started = false;
    for (const channel of await dueChannels(deps.store, now)) {
      if (stopped || lanes.has(channel)) continue;
      const rows = await claimChannelPosts(deps.store, channel, now, batch, leaseMs, pace);
      if (rows.length === 0) continue;
      started = true;
      const lane = runLane(channel, rows)
        .catch((err: unknown) => log.error({ err, channel }, 'Slack lane failed; its posts are retried after their lease'))
        .finally(() => {
          lanes.delete(channel);
          // The channel may have more to send as soon as its bucket allows.
          if (!stopped) void run();
        });
      lanes.set(channel, lane);
    }
    return started;
  }

  /** One channel's claimed posts, in order; a pause (429, Slack unreachable) hands the rest back untried. */
  async function runLane(channel: string, rows: OutboxRow[]): Promise<void> {
    let sent = false;
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k] as OutboxRow;
      const outcome = await runPost(row);
      if (outcome === 'paused') {
        await releasePosts(deps.store, rows.slice(k + 1).map((r) => r.id));
        return;
      }
      sent ||= outcome === 'sent';
    }
    // Slack answers again: the next outage starts its backoff afresh (whichever replica saw this one).
    if (sent) await bucketRecovered(deps.store, slackChannelKey(channel));
  }

  async function runPost(row: OutboxRow): Promise<'sent' | 'paused' | 'failed'> {
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
      await send(row, i);
      return 'sent';
    } catch (err) {
      const d = err instanceof DeliveryError ? err : new DeliveryError(String((err as Error)?.message ?? err), 'failed');
      deps.metrics?.apiErrors.inc({ service: 'slack', method: `outbox:${post}`, reason: d.kind });
      const key = slackChannelKey(row.channel);
      switch (d.kind) {
        case 'rate_limited': {
          // Slack's Retry-After holds this channel, for every replica; other channels go on.
          const until = new Date(now.getTime() + (d.retryAfterMs ?? 1000));
          log.warn({ channel: row.channel, incident: i.id, post, retryAfterMs: d.retryAfterMs }, 'Slack rate limited the channel; pausing it');
          await pauseBucket(deps.store, key, until);
          await failPost(deps.store, row.id, now, d.message, until, { refund: true });
          return 'paused';
        }
        case 'unavailable': {
          // Slack down, hung or answering nonsense: probe the channel with backoff; the post keeps its place.
          const delay = await backOffBucket(deps.store, key, now);
          log.warn({ err, channel: row.channel, incident: i.id, post, retryInMs: delay }, 'Slack did not take a post; pausing the channel');
          await failPost(deps.store, row.id, now, d.message, new Date(now.getTime() + delay), { refund: true });
          return 'paused';
        }
        case 'busy':
          await failPost(deps.store, row.id, now, d.message, new Date(now.getTime() + (d.retryAfterMs ?? 1000)), { refund: true });
          return 'failed';
        default:
          if (d.kind === 'permanent' || row.attempts >= MAX_POST_ATTEMPTS) {
            log.error({ err, incident: i.id, post }, 'Slack post given up');
            await failPost(deps.store, row.id, now, d.message, undefined);
          } else {
            log.warn({ err, incident: i.id, post, attempts: row.attempts }, 'Slack post failed; will retry');
            await failPost(deps.store, row.id, now, d.message, new Date(now.getTime() + backoffMs(row.attempts, d.retryAfterMs)));
          }
          return 'failed';
      }
    }
  }

  async function send(row: OutboxRow, i: Incident): Promise<void> {
    const intent = row.intent;
    const done = (result: Record<string, unknown> = {}) => completePost(deps.store, row.id, deps.now(), result);
    if (intent.type === 'root') {
      if (i.digestId !== undefined) {
        await sendDigest(row, i, i.digestId);
        return;
      }
      let ts = i.rootTs ?? (row.tried ? await slack.findRoot(i) : undefined);
      if (!ts) ts = await slack.postRoot(i);
      const rootTs = ts;
      await deps.store.tx(async (q) => {
        await setRootTs(q, i.id, rootTs);
        await completePost(q, row.id, deps.now(), { ts: rootTs });
      });
      return;
    }
    if (!i.rootTs) throw new DeliveryError('the incident has no root message to reply to', 'permanent');
    switch (intent.type) {
      case 'update_root':
        if (i.digestId !== undefined) {
          if (!(await laterRootUpdate(deps.store, row, i.digestId))) await slack.updateDigest(i.channel as string, i.rootTs, i.digestId, await incidentsInDigest(deps.store, i.digestId));
        } else if (!(await laterRootUpdate(deps.store, row))) await slack.updateRoot(i);
        break;
      case 'diagnosis': {
        const procedure = findProcedure(intent.procedureId) ?? findProcedure('health');
        if (!procedure) throw new DeliveryError(`no procedure ${intent.procedureId}`, 'permanent');
        const report = await runProcedure(procedure, deps.targets, [], deps.config.CHECK_DEADLINE);
        await slack.postReport(i, report, intent.actor);
        const counts = ['critical', 'warn', 'unknown'].map((s) => [s, report.findings.filter((f) => f.status === s).length] as const).filter(([, n]) => n > 0);
        // In a storm one automatic diagnosis serves every incident of the digest it fits.
        const served = i.digestId !== undefined && !intent.actor ? (await incidentsInDigest(deps.store, i.digestId)).filter((m) => m.id === i.id || m.procedureId === intent.procedureId) : [i];
        for (const m of served) {
          await addTimeline(deps.store, m.id, {
            at: deps.now(),
            kind: 'diagnosis',
            actor: intent.actor ?? { source: 'bot' },
            text: `Diagnosis ${procedure.title}: ${report.verdict}${counts.length ? ` (${counts.map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}${m.id === i.id ? '' : ' (one report for the storm digest)'}`,
            source: 'bot',
          });
        }
        break;
      }
      case 'postmortem':
      case 'postmortem_updated': {
        const pm = await refreshPostmortem(deps.store, i, deps.now());
        if (!pm) throw new DeliveryError('no post-mortem stored', 'permanent');
        await slack.postPostmortem(i, pm, await timelineOf(deps.store, i.id), intent.type === 'postmortem_updated' ? intent.actor : undefined);
        break;
      }
      case 'ack_reminder':
        await slack.postReply(i, { ...intent, onCall: await onCallMentions(i) });
        break;
      case 'storm_opened': {
        const members = i.digestId !== undefined ? await incidentsInDigest(deps.store, i.digestId) : [i];
        const roles = [...new Set(members.flatMap((m) => specialistRoles(m.title, m.serviceName)))];
        await slack.postReply(i, { type: 'storm_opened', members: members.length, contacts: contactsFor(deps.config.ESCALATION_CONTACTS, roles) });
        break;
      }
      default:
        await slack.postReply(i, intent);
    }
    await done();
  }

  /**
   * The root row of an incident in a storm digest: the first one due posts the digest naming
   * every incident in it, which completes all their root rows at once; one that joined after the
   * digest went out re-renders it so it names that incident too.
   */
  async function sendDigest(row: OutboxRow, i: Incident, digestId: number): Promise<void> {
    const d = await getDigest(deps.store, digestId);
    if (!d) throw new DeliveryError(`storm digest ${digestId} not found`, 'permanent');
    if (d.rootTs) {
      const rootTs = d.rootTs;
      let listed = d.listed;
      if (!listed.includes(i.id)) {
        const members = await incidentsInDigest(deps.store, digestId);
        await slack.updateDigest(d.channel, rootTs, digestId, members);
        listed = members.map((m) => m.id);
      }
      await deps.store.tx((q) => digestPosted(q, digestId, rootTs, listed, deps.now()));
      return;
    }
    const claim = await claimDigestPosting(deps.store, digestId, deps.now(), leaseMs);
    if (!claim.ok) throw new DeliveryError('the storm digest is being posted by another worker', 'busy', 1000);
    try {
      const members = await incidentsInDigest(deps.store, digestId);
      // A try that failed may have posted it all the same (a timeout after Slack took it).
      let ts = claim.triedBefore || row.tried ? await slack.findDigest(d.channel, digestId) : undefined;
      ts ??= await slack.postDigest(d.channel, digestId, members);
      const rootTs = ts;
      await deps.store.tx((q) => digestPosted(q, digestId, rootTs, members.map((m) => m.id), deps.now()));
    } catch (err) {
      await releaseDigestPosting(deps.store, digestId, deps.now()).catch(() => undefined);
      throw err;
    }
  }

  /** Who is on call: ESCALATION_CONTACTS.on_call, else the PagerDuty assignees found in Slack by email. */
  async function onCallMentions(i: Incident): Promise<Mention[]> {
    const configured = contactFor(deps.config.ESCALATION_CONTACTS, 'on_call');
    if (configured) return [configured];
    const out: Mention[] = [];
    for (const a of i.assignees.slice(0, 5)) {
      let slackId: string | undefined;
      try {
        if (pd.configured) {
          const res = await pd.request('GET', `/users/${encodeURIComponent(a.id)}`);
          const email = (res.body as { user?: { email?: string } } | undefined)?.user?.email;
          if (email) slackId = await slack.userByEmail(email);
        }
      } catch (err) {
        log.warn({ err, user: a.id }, 'could not find the on-call in Slack; naming them instead');
      }
      out.push(slackId ? { slackId, name: a.summary } : { name: a.summary });
    }
    return out;
  }

  // --- the loop

  async function round(): Promise<boolean> {
    let busy = false;
    for (let n = 0; n < 50 && !stopped; n++) {
      if (!(await processEvent())) break;
      busy = true;
    }
    if (await fireTimers()) busy = true;
    // PagerDuty calls and Slack posts run beside the loop, so a hung PagerDuty or a paused
    // channel never holds the events and timers (nor, for Slack, the other channels).
    if (!pdLane && !stopped) {
      const calls = await claimPdCalls(deps.store, deps.now(), batch, leaseMs);
      if (calls.length) {
        busy = true;
        pdLane = Promise.all(calls.map((c) => runPdCall(c)))
          .then(() => undefined)
          .catch((err: unknown) => log.error({ err }, 'PagerDuty calls failed; they are retried after their lease'))
          .finally(() => {
            pdLane = undefined;
            if (!stopped) void run();
          });
      }
    }
    if (!stopped && (await startLanes())) busy = true;
    return busy;
  }

  /** Everything in flight beside the loop (tests and drains wait for it). */
  async function inFlight(): Promise<void> {
    await Promise.all([pdLane, ...lanes.values()]);
  }

  async function drain(): Promise<void> {
    do {
      again = false;
      try {
        if (await round()) again = true;
        if (failingSince !== undefined) log.info({ downForMs: Date.now() - failingSince }, 'incident worker recovered');
        failingSince = undefined;
      } catch (err) {
        // The bot store is down or slow: say so, but not four times a second.
        failingSince ??= Date.now();
        if (Date.now() - lastFailureLog > 30_000) {
          lastFailureLog = Date.now();
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
    },
  };
}

const PD_CALL_LABEL: Record<PdCallRow['call']['kind'], string> = {
  ack: 'acknowledgement',
  resolve: 'resolution',
  escalate: 'escalation',
  priority: 'priority change',
  reassign: 'reassignment',
  note: 'note',
  create: 'new incident',
};

class PermanentPdError extends Error {}

type Answer = Awaited<ReturnType<PagerDutyClient['request']>>;

/** Builds and makes one PagerDuty call, with the look-ups some need (priority and user ids). */
async function performPdCall(pd: PagerDutyClient, config: Config, row: PdCallRow): Promise<Answer> {
  const from = row.fromEmail;
  if (!from) {
    throw new PermanentPdError('PagerDuty needs the acting user\'s email (From:), and the Slack user\'s email is not visible to the bot and PAGERDUTY_FROM_EMAIL is not set');
  }
  const id = encodeURIComponent(row.incidentId ?? '');
  const put = (incident: Record<string, unknown>) => pd.request('PUT', `/incidents/${id}`, { from, data: { incident: { type: 'incident_reference', ...incident } } });
  const call = row.call;
  switch (call.kind) {
    case 'ack':
      return put({ status: 'acknowledged' });
    case 'resolve':
      return put({ status: 'resolved' });
    case 'escalate':
      return put({ escalation_level: call.level });
    case 'note':
      return pd.request('POST', `/incidents/${id}/notes`, { from, data: { note: { content: call.content } } });
    case 'priority': {
      const priority = await priorityFor(pd, config, call.severity);
      if (!priority) throw new PermanentPdError(`PagerDuty has no priority that maps to ${call.severity}`);
      return put({ priority: { id: priority, type: 'priority_reference' } });
    }
    case 'reassign': {
      const res = await pd.request('GET', '/users', { query: { query: call.email } });
      const users = ((res.body as { users?: Array<{ id: string; email?: string }> } | undefined)?.users ?? []).filter((u) => u.email?.toLowerCase() === call.email.toLowerCase());
      const user = users[0];
      if (!user) throw new PermanentPdError(`PagerDuty has no user with the email ${call.email}`);
      return put({ assignments: [{ assignee: { id: user.id, type: 'user_reference' } }] });
    }
    case 'create': {
      const priority = await priorityFor(pd, config, call.severity).catch(() => undefined);
      return pd.request('POST', '/incidents', {
        from,
        data: {
          incident: {
            type: 'incident',
            title: call.title,
            service: { id: call.serviceId, type: 'service_reference' },
            urgency: call.urgency,
            incident_key: call.incidentKey,
            ...(priority ? { priority: { id: priority, type: 'priority_reference' } } : {}),
            ...(call.description ? { body: { type: 'incident_body', details: call.description } } : {}),
          },
        },
      });
    }
  }
}

/** The id of the account's priority that maps to a severity (by name first, then by the mapping). */
async function priorityFor(pd: PagerDutyClient, config: Config, severity: string): Promise<string | undefined> {
  const res = await pd.request('GET', '/priorities');
  if (res.status !== 200) return undefined;
  const list = (res.body as { priorities?: Array<{ id: string; name?: string; summary?: string }> } | undefined)?.priorities ?? [];
  const exact = list.find((p) => (p.name ?? p.summary ?? '').toUpperCase() === severity);
  if (exact) return exact.id;
  const map = severityMap(config.INCIDENT_SEVERITY_MAP);
  return list.find((p) => severityOf(p.name ?? p.summary, undefined, map) === severity)?.id;
}

