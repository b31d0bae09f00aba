// Sends the PagerDuty call outbox (pd-outbox.ts) beside the worker's loop, one batch at a time,
// so a hung PagerDuty never holds the events and timers; a call PagerDuty refuses for good is
// reported in the incident's thread, or to whoever asked when there is no thread yet.

import { backoff } from '../backoff.js';
import type { Config } from '../config.js';
import { type RichText, user } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { TargetError } from '../errors.js';
import { type PagerDutyClient, PagerDutyHeldBack, pdErrorText } from '../targets/pagerduty.js';
import { applyAccepted } from './actions.js';
import { enqueuePost, OUTBOX_BACKOFF } from './outbox.js';
import { snapshotFromRest } from './pagerduty-payload.js';
import { recordPaged } from './paging.js';
import { claimPdCalls, completePdCall, failPdCall, type PdCallRow } from './pd-outbox.js';
import { severityMap, severityOf } from './severity.js';
import { getIncident } from './store.js';
import type { LaneHooks, WorkerEnv } from './worker-env.js';
import { createIncident } from './workflow.js';

export interface PdCallLane {
  /** Claims a batch of due calls and makes them, unless a batch is still in flight; true when one started. */
  start(): Promise<boolean>;
  /** The batch in flight, if any. */
  inFlight(): Array<Promise<void>>;
}

/**
 * The PagerDuty lane of one worker. `stopped` is asked before claiming; `runRound` runs a round
 * when a batch is done and the worker has not stopped.
 */
export function pdCallLane(env: WorkerEnv, hooks: LaneHooks): PdCallLane {
  const { deps, log } = env;
  let pdLane: Promise<void> | undefined;
  return {
    async start() {
      if (pdLane || hooks.stopped()) return false;
      const calls = await claimPdCalls(deps.store, deps.now(), env.batch, env.leaseMs, env.claims.id());
      if (!calls.length) return false;
      const ids = calls.map((c) => c.id);
      env.claims.hold('pd_outbox', ids);
      pdLane = Promise.all(calls.map((c) => runPdCall(env, c)))
        .then(() => undefined)
        .catch((err: unknown) => log.error({ err }, 'PagerDuty calls failed; they are retried after their lease'))
        .finally(() => {
          env.claims.release('pd_outbox', ids);
          pdLane = undefined;
          if (!hooks.stopped()) hooks.runRound();
        });
      return true;
    },
    inFlight() {
      return pdLane ? [pdLane] : [];
    },
  };
}

/** When to try a failed PagerDuty call again, or undefined once PAGERDUTY_RETRY_FOR has passed. */
function pdRetryAt(config: Config, row: PdCallRow, now: Date, retryAfterMs?: number): Date | undefined {
  const deadline = row.createdAt.getTime() + config.PAGERDUTY_RETRY_FOR;
  if (now.getTime() >= deadline) return undefined;
  return new Date(
    Math.min(
      now.getTime() + backoff(row.attempts, { ...OUTBOX_BACKOFF, atLeast: retryAfterMs }),
      Math.max(deadline, now.getTime() + (retryAfterMs ?? 0)),
    ),
  );
}

async function runPdCall(env: WorkerEnv, row: PdCallRow): Promise<void> {
  const { deps, ctx, log, pd } = env;
  const now = deps.now();
  try {
    const answer = await performPdCall(pd, deps.config, row, log);
    if (answer.status >= 200 && answer.status < 300) {
      await deps.store.tx(async (q) => {
        await completePdCall(q, row.id, now, answer.status, answer.body);
        if (row.call.kind === 'create') {
          const snapshot = snapshotFromRest((answer.body as { incident?: unknown } | undefined)?.incident);
          if (snapshot) {
            await createIncident(q, ctx, snapshot, {
              receivedAt: deps.now(),
              at: deps.now(),
              declaration: { call: row.call, requestedBy: row.requestedBy },
            });
          }
        } else if (row.call.kind === 'responder_request') await recordPaged(q, ctx, row, answer.body);
        else await applyAccepted(q, ctx, row);
      });
      return;
    }
    const reason = pdErrorText(answer);
    const retryAt =
      answer.status === 429 || answer.status >= 500 ? pdRetryAt(deps.config, row, now, answer.retryAfterMs) : undefined;
    if (retryAt) {
      log.warn(
        { call: row.call.kind, status: answer.status, attempts: row.attempts, retryAt },
        'PagerDuty answered an error; will retry',
      );
      await failPdCall(deps.store, row.id, now, reason, retryAt, answer.status, answer.status !== 429);
      return;
    }
    await failPdCall(deps.store, row.id, now, reason, undefined, answer.status);
    await reportPdFailure(
      env,
      row,
      answer.status === 429 || answer.status >= 500
        ? `${reason}, still after ${formatDuration(now.getTime() - row.createdAt.getTime())} of retrying`
        : reason,
    );
  } catch (err) {
    const permanent = err instanceof PermanentPdError || (err instanceof TargetError && err.code === 'not_configured');
    const reason = err instanceof TargetError ? err.sentence() : String((err as Error)?.message ?? err);
    const retryAt = permanent ? undefined : pdRetryAt(deps.config, row, now);
    if (retryAt) {
      log.warn({ err, call: row.call.kind, attempts: row.attempts, retryAt }, 'PagerDuty call failed; will retry');
      await failPdCall(deps.store, row.id, now, reason, retryAt, undefined, !(err instanceof PagerDutyHeldBack));
      return;
    }
    await failPdCall(deps.store, row.id, now, reason, undefined);
    await reportPdFailure(
      env,
      row,
      permanent
        ? reason
        : `${reason}, still after ${formatDuration(now.getTime() - row.createdAt.getTime())} of retrying`,
    );
  }
}

async function reportPdFailure(env: WorkerEnv, row: PdCallRow, reason: string): Promise<void> {
  const { deps, log, slack } = env;
  log.warn({ call: row.call.kind, incident: row.incidentId, reason }, 'PagerDuty refused a call');
  const what = PD_CALL_LABEL[row.call.kind];
  // A person's act waited for PagerDuty: say that nothing changed here either.
  const unchanged = row.call.onAccepted ? ' Nothing was changed here.' : '';
  const by: RichText = row.requestedBy?.slackId
    ? [`${unchanged} `, user(row.requestedBy.slackId), ', please do it in PagerDuty.']
    : unchanged
      ? [unchanged]
      : [];
  if (row.incidentId) {
    const i = await getIncident(deps.store, row.incidentId);
    if (i)
      await enqueuePost(
        deps.store,
        i,
        { type: 'warning', text: [`PagerDuty did not take the ${what}: ${reason}.`, ...by] },
        deps.now(),
      );
  } else if (row.requestedBy?.slackId) {
    await slack
      .notifyUser(row.requestedBy.slackId, `PagerDuty did not take the ${what}: ${reason}.`)
      .catch((err: unknown) => log.warn({ err }, 'could not tell the user'));
  }
}

const PD_CALL_LABEL: Record<PdCallRow['call']['kind'], string> = {
  ack: 'acknowledgement',
  resolve: 'resolution',
  escalate: 'escalation',
  priority: 'priority change',
  reassign: 'reassignment',
  note: 'note',
  status_update: 'status update',
  responder_request: 'page (nobody was paged)',
  create: 'new incident',
};

class PermanentPdError extends Error {}

type Answer = Awaited<ReturnType<PagerDutyClient['request']>>;

/** Builds and makes one PagerDuty call, with the look-ups some need (priority and user ids). */
async function performPdCall(
  pd: PagerDutyClient,
  config: Config,
  row: PdCallRow,
  log: WorkerEnv['log'],
): Promise<Answer> {
  const from = row.fromEmail;
  if (!from) {
    throw new PermanentPdError(
      "PagerDuty needs the acting user's email (From:), and the Slack user's email is not visible to the bot and PAGERDUTY_FROM_EMAIL is not set",
    );
  }
  const id = encodeURIComponent(row.incidentId ?? '');
  const put = (incident: Record<string, unknown>) =>
    pd.request('PUT', `/incidents/${id}`, { from, data: { incident: { type: 'incident_reference', ...incident } } });
  const call = row.call;
  // A try that may have been applied (its answer lost, or its process died during it): look at
  // the incident first, and a change it already shows is recorded instead of made twice.
  const look = row.tried && row.incidentId && call.kind !== 'create' ? await currentIncident(pd, id) : undefined;
  // PagerDuty cannot say now (429, 5xx): that answer is this try's, retried like any other.
  if (look && 'failed' in look) return look.failed;
  const current = look?.incident;
  const applied = (): Answer | undefined => (current ? { status: 200, body: { incident: current } } : undefined);
  switch (call.kind) {
    case 'ack':
      if (current?.status === 'acknowledged' || current?.status === 'resolved') return applied() as Answer;
      return put({ status: 'acknowledged' });
    case 'resolve':
      if (current?.status === 'resolved') return applied() as Answer;
      return put({ status: 'resolved' });
    case 'escalate':
      if (current && current.escalation_level === call.level) return applied() as Answer;
      return put({ escalation_level: call.level });
    case 'note': {
      if (row.tried) {
        const notes = await pd.request('GET', `/incidents/${id}/notes`);
        if (notes.status === 429 || notes.status >= 500) return notes;
        const list = (notes.body as { notes?: Array<{ content?: string }> } | undefined)?.notes ?? [];
        if (notes.status === 200 && list.some((n) => n.content === call.content))
          return { status: 200, body: { note: list.find((n) => n.content === call.content) } };
      }
      return pd.request('POST', `/incidents/${id}/notes`, { from, data: { note: { content: call.content } } });
    }
    case 'status_update':
      return pd.request('POST', `/incidents/${id}/status_updates`, { from, data: { message: call.message } });
    case 'responder_request': {
      // A try that may have gone through: PagerDuty lists the incident's responders with the
      // request's message; one asked for since this call was queued is taken as this page.
      const since = row.createdAt.getTime() - 60_000;
      const earlier = current?.incidents_responders?.filter(
        (r) => r.message === call.message && Date.parse(r.requested_at ?? '') >= since,
      );
      if (earlier?.length)
        return {
          status: 200,
          body: {
            responder_request: {
              responder_request_targets: [
                ...new Set(earlier.map((r) => r.user?.summary).filter((n): n is string => typeof n === 'string')),
              ].map((summary) => ({ responder_request_target: { summary } })),
            },
          },
        };
      return pd.request('POST', `/incidents/${id}/responder_requests`, {
        from,
        data: {
          requester_id: call.requesterId,
          message: call.message,
          responder_request_targets: call.targets.map((t) => ({
            responder_request_target: {
              id: t.id,
              type: t.kind === 'user' ? 'user_reference' : 'escalation_policy_reference',
            },
          })),
        },
      });
    }
    case 'priority': {
      const priority = await priorityFor(pd, config, call.severity);
      if (!priority) throw new PermanentPdError(`PagerDuty has no priority that maps to ${call.severity}`);
      if (current?.priority?.id === priority) return applied() as Answer;
      return put({ priority: { id: priority, type: 'priority_reference' } });
    }
    case 'reassign': {
      const res = await pd.request('GET', '/users', { query: { query: call.email } });
      const users = ((res.body as { users?: Array<{ id: string; email?: string }> } | undefined)?.users ?? []).filter(
        (u) => u.email?.toLowerCase() === call.email.toLowerCase(),
      );
      const user = users[0];
      if (!user) throw new PermanentPdError(`PagerDuty has no user with the email ${call.email}`);
      if (current?.assignments?.some((a) => a.assignee?.id === user.id)) return applied() as Answer;
      return put({ assignments: [{ assignee: { id: user.id, type: 'user_reference' } }] });
    }
    case 'create': {
      // The incident key makes the declaration findable: one an earlier try created is taken as it is.
      if (row.tried) {
        const found = await pd.request('GET', '/incidents', { query: { incident_key: call.incidentKey } });
        if (found.status === 429 || found.status >= 500) return found;
        const existing = (found.body as { incidents?: RestIncident[] } | undefined)?.incidents?.find(
          (x) => x.incident_key === call.incidentKey,
        );
        if (found.status === 200 && existing) return { status: 201, body: { incident: existing } };
      }
      // Without the priority the incident is still worth creating; say why it has none.
      const priority = await priorityFor(pd, config, call.severity).catch((err: unknown) => {
        log.warn(
          { err, severity: call.severity },
          'could not look up the PagerDuty priority; creating the incident without it',
        );
        return undefined;
      });
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

interface RestIncident {
  id: string;
  status?: string;
  escalation_level?: number;
  incident_key?: string;
  priority?: { id?: string } | null;
  assignments?: Array<{ assignee?: { id?: string } }>;
  incidents_responders?: Array<{ message?: string; requested_at?: string; user?: { summary?: string } }>;
}

/** The incident as PagerDuty has it now, or PagerDuty's answer when it could not say (429, 5xx). */
async function currentIncident(
  pd: PagerDutyClient,
  id: string,
): Promise<{ incident?: RestIncident } | { failed: Answer }> {
  const res = await pd.request('GET', `/incidents/${id}`);
  if (res.status === 429 || res.status >= 500) return { failed: res };
  if (res.status !== 200) return {};
  return { incident: (res.body as { incident?: RestIncident } | undefined)?.incident };
}

/** The id of the account's priority that maps to a severity (by name first, then by the mapping). */
async function priorityFor(pd: PagerDutyClient, config: Config, severity: string): Promise<string | undefined> {
  const res = await pd.request('GET', '/priorities');
  if (res.status !== 200) return undefined;
  const list =
    (res.body as { priorities?: Array<{ id: string; name?: string; summary?: string }> } | undefined)?.priorities ?? [];
  const exact = list.find((p) => (p.name ?? p.summary ?? '').toUpperCase() === severity);
  if (exact) return exact.id;
  const map = severityMap(config.INCIDENT_SEVERITY_MAP);
  return list.find((p) => severityOf(p.name ?? p.summary, undefined, map) === severity)?.id;
}
