// The background worker every bot process runs: it applies stored PagerDuty events, fires due
// timers, makes queued PagerDuty calls and sends queued Slack posts. Everything it does is
// claimed in the bot store first, so several replicas share the work and each piece runs once.
// It polls briefly and is woken at once when a webhook has been stored.
import type { Config } from '../config.js';
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
import { contactFor } from './contacts.js';
import { backoffMs, claimPosts, completePost, enqueuePost, failPost, laterRootUpdate, MAX_POST_ATTEMPTS, type OutboxRow, pendingPosts } from './outbox.js';
import { claimPdCalls, completePdCall, failPdCall, MAX_PD_ATTEMPTS, type PdCallRow, pendingPdCalls } from './pd-outbox.js';
import { type Postmortem, refreshPostmortem } from './postmortem.js';
import { fireTimer } from './reminders.js';
import { severityMap, severityOf } from './severity.js';
import { countOpen, getIncident, setRootTs } from './store.js';
import { addTimeline, timelineOf } from './timeline.js';
import { claimDueTimers, pendingTimers } from './timers.js';
import type { Actor, Incident, Mention, PostIntent, TimelineEntry } from './types.js';
import { applyEvent, createIncident, snapshotFromRest, type WorkflowCtx } from './workflow.js';

/** A send that failed: `permanent` ones are not retried (bad blocks, unknown channel). */
export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** What the worker needs from Slack; implemented in handlers/ (Block Kit and the Web API live there). */
export interface IncidentSlack {
  /** Posts the incident's one top-level message; returns its ts. */
  postRoot(i: Incident): Promise<string>;
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
  const leaseMs = opts.leaseMs ?? 60_000;
  const log = deps.log.child({ component: 'incident-worker' });
  const ctx: WorkflowCtx = { config: deps.config, log, now: deps.now };
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<void> | undefined;
  let again = false;
  let lastGauges = 0;
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
        deps.metrics?.webhookEvents.inc({ type: row.event_type, result: outcome });
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

  async function runPdCall(row: PdCallRow): Promise<void> {
    const now = deps.now();
    try {
      const answer = await performPdCall(pd, deps.config, row);
      deps.metrics?.apiCalls.inc({ service: 'pagerduty', method: row.call.kind, result: String(answer.status) });
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
      if ((answer.status === 429 || answer.status >= 500) && row.attempts < MAX_PD_ATTEMPTS) {
        await failPdCall(deps.store, row.id, now, reason, new Date(now.getTime() + backoffMs(row.attempts, answer.retryAfterMs)), answer.status);
        return;
      }
      await failPdCall(deps.store, row.id, now, reason, undefined, answer.status);
      await reportPdFailure(row, reason);
    } catch (err) {
      deps.metrics?.apiCalls.inc({ service: 'pagerduty', method: row.call.kind, result: 'error' });
      const permanent = err instanceof PermanentPdError || (err instanceof TargetError && err.code === 'not_configured');
      const reason = err instanceof TargetError ? err.sentence() : String((err as Error)?.message ?? err);
      if (!permanent && row.attempts < MAX_PD_ATTEMPTS) {
        log.warn({ err, call: row.call.kind, attempts: row.attempts }, 'PagerDuty call failed; will retry');
        await failPdCall(deps.store, row.id, now, reason, new Date(now.getTime() + backoffMs(row.attempts)));
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

  async function runPost(row: OutboxRow): Promise<void> {
    const now = deps.now();
    const i = await getIncident(deps.store, row.incidentId);
    if (!i) {
      await failPost(deps.store, row.id, now, 'incident not found', undefined);
      return;
    }
    const method = row.intent.type;
    try {
      await send(row, i);
      deps.metrics?.apiCalls.inc({ service: 'slack', method, result: 'ok' });
    } catch (err) {
      deps.metrics?.apiCalls.inc({ service: 'slack', method, result: 'error' });
      const d = err instanceof DeliveryError ? err : undefined;
      const message = String((err as Error)?.message ?? err);
      if (d?.permanent || row.attempts >= MAX_POST_ATTEMPTS) {
        log.error({ err, incident: i.id, post: method }, 'Slack post given up');
        await failPost(deps.store, row.id, now, message, undefined);
      } else {
        log.warn({ err, incident: i.id, post: method, attempts: row.attempts }, 'Slack post failed; will retry');
        await failPost(deps.store, row.id, now, message, new Date(now.getTime() + backoffMs(row.attempts, d?.retryAfterMs)));
      }
    }
  }

  async function send(row: OutboxRow, i: Incident): Promise<void> {
    const intent = row.intent;
    const done = (result: Record<string, unknown> = {}) => completePost(deps.store, row.id, deps.now(), result);
    if (intent.type === 'root') {
      let ts = i.rootTs ?? (row.attempts > 1 ? await slack.findRoot(i) : undefined);
      if (!ts) ts = await slack.postRoot(i);
      const rootTs = ts;
      await deps.store.tx(async (q) => {
        await setRootTs(q, i.id, rootTs);
        await completePost(q, row.id, deps.now(), { ts: rootTs });
      });
      return;
    }
    if (!i.rootTs) throw new DeliveryError('the incident has no root message to reply to', true);
    switch (intent.type) {
      case 'update_root':
        if (!(await laterRootUpdate(deps.store, row))) await slack.updateRoot(i);
        break;
      case 'diagnosis': {
        const procedure = findProcedure(intent.procedureId) ?? findProcedure('health');
        if (!procedure) throw new DeliveryError(`no procedure ${intent.procedureId}`, true);
        const report = await runProcedure(procedure, deps.targets, [], deps.config.CHECK_DEADLINE);
        await slack.postReport(i, report, intent.actor);
        const counts = ['critical', 'warn', 'unknown'].map((s) => [s, report.findings.filter((f) => f.status === s).length] as const).filter(([, n]) => n > 0);
        await addTimeline(deps.store, i.id, {
          at: deps.now(),
          kind: 'diagnosis',
          actor: intent.actor ?? { source: 'bot' },
          text: `Diagnosis ${procedure.title}: ${report.verdict}${counts.length ? ` (${counts.map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}`,
          source: 'bot',
        });
        break;
      }
      case 'postmortem':
      case 'postmortem_updated': {
        const pm = await refreshPostmortem(deps.store, i, deps.now());
        if (!pm) throw new DeliveryError('no post-mortem stored', true);
        await slack.postPostmortem(i, pm, await timelineOf(deps.store, i.id), intent.type === 'postmortem_updated' ? intent.actor : undefined);
        break;
      }
      case 'ack_reminder':
        await slack.postReply(i, { ...intent, onCall: await onCallMentions(i) });
        break;
      default:
        await slack.postReply(i, intent);
    }
    await done();
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
    const calls = await claimPdCalls(deps.store, deps.now(), batch, leaseMs);
    if (calls.length) {
      busy = true;
      await Promise.all(calls.map((c) => runPdCall(c)));
    }
    const posts = await claimPosts(deps.store, deps.now(), batch, leaseMs);
    if (posts.length) {
      busy = true;
      await Promise.all(posts.map((p) => runPost(p)));
    }
    if (deps.metrics && Date.now() - lastGauges > 5_000) {
      lastGauges = Date.now();
      deps.metrics.incidentsOpen.set(await countOpen(deps.store));
      deps.metrics.timersPending.set(await pendingTimers(deps.store));
      deps.metrics.queueDepth.set({ service: 'slack' }, await pendingPosts(deps.store));
      deps.metrics.queueDepth.set({ service: 'pagerduty' }, await pendingPdCalls(deps.store));
    }
    return busy;
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
      await run();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
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

