// The incident workflow on PagerDuty's side: each stored v3 webhook event becomes state changes,
// timeline entries, queued posts and timers, all in one transaction that holds the incident's
// row lock. decide.ts makes the decisions (by the incident's state and the event's time, not
// arrival order); this module reads the incident, asks, and writes the answer.
import type { Severity } from '../config.js';
import { statusPageOnResolved } from '../statuspage/store.js';
import { contactsFor } from './contacts.js';
import type { WorkflowCtx } from './ctx.js';
import { type Decision, decide, type IncidentEvent, mayEcho, noteOf, statusUpdateOf } from './decide.js';
import { matchProcedure, specialistRoles } from './match.js';
import { enqueuePost } from './outbox.js';
import { agentActor, incidentRefId, parseSnapshot, type Snapshot } from './pagerduty-payload.js';
import { consumeEcho, declarationByKey, type PdCall, pagedByBot } from './pd-outbox.js';
import { openPostmortem } from './postmortem.js';
import { scheduleCommanderNudge } from './roles.js';
import { severityMap, severityOf } from './severity.js';
import { scheduleUpdateReminder } from './stakeholder-updates.js';
import { getIncident, insertIncident, type Q, saveIncident } from './store.js';
import { digestHasDiagnosis, joinStormDigest } from './storm.js';
import { addTimeline } from './timeline.js';
import { cancelTimers, scheduleTimer } from './timers.js';
import type { Actor, Incident, PdRef } from './types.js';

export interface StoredEvent {
  eventId: string;
  eventType: string;
  occurredAt?: Date;
  receivedAt: Date;
  agent: unknown;
  data: unknown;
}

export type EventOutcome = 'ping' | 'ignored' | 'created' | 'applied' | 'unchanged' | 'defer';

const refs = (list: Array<{ id: string; summary?: string }> | undefined): PdRef[] =>
  (list ?? []).map((a) => ({ id: a.id, summary: a.summary ?? a.id }));

/** Applies one stored PagerDuty event inside the caller's transaction. */
export async function applyEvent(q: Q, ctx: WorkflowCtx, ev: StoredEvent): Promise<EventOutcome> {
  if (ev.eventType === 'pagey.ping') return 'ping';
  if (!ev.eventType.startsWith('incident.')) return 'ignored';
  const at = ev.occurredAt ?? ev.receivedAt;
  const actor = agentActor(ev.agent);
  const snapshot = parseSnapshot(ev.data);
  const incidentId = snapshot?.id ?? incidentRefId(ev.data);
  if (!incidentId) return 'ignored';

  let incident = await getIncident(q, incidentId, true);
  let outcome: EventOutcome = 'unchanged';
  if (!incident) {
    // Only an event carrying the whole incident can open its thread; a note about an incident
    // not seen yet waits for the page that must be on its way.
    if (!snapshot) return 'defer';
    const made = await createIncident(q, ctx, snapshot, { receivedAt: ev.receivedAt, at });
    incident = made.incident;
    if (made.created) outcome = 'created';
  }

  const now = ctx.now();
  let echo = false;
  if (ev.eventType === 'incident.annotated')
    echo = await consumeEcho(q, incident.id, ev.eventType, now, noteOf(ev).content);
  else if (ev.eventType === 'incident.status_update_published') {
    // PagerDuty announces the bot's own status update (Post update) too: matched on its message.
    const update = statusUpdateOf(ev);
    echo = await consumeEcho(q, incident.id, ev.eventType, now, update.message, update.trimmed);
  } else if (ev.eventType === 'incident.responder.added') {
    // Each user the bot's own Page named is announced back: its post said so already.
    const d = (ev.data ?? {}) as { user?: { id?: unknown }; message?: unknown };
    if (typeof d.user?.id === 'string' && typeof d.message === 'string')
      echo = await pagedByBot(q, incident.id, d.user.id, d.message, now);
  } else if (snapshot && mayEcho(ev.eventType)) echo = await consumeEcho(q, incident.id, ev.eventType, now);
  const event: IncidentEvent = { eventId: ev.eventId, type: ev.eventType, at, actor, snapshot, data: ev.data, echo };
  const decision = decide(incident, event, now, { severityMap: severityMap(ctx.config.INCIDENT_SEVERITY_MAP) });
  await writeDecision(q, ctx, decision, now);
  return outcome === 'created' ? outcome : decision.changed ? 'applied' : 'unchanged';
}

/** Writes what decide() returned, in the caller's transaction. */
async function writeDecision(q: Q, ctx: WorkflowCtx, d: Decision, now: Date): Promise<void> {
  const i = d.incident;
  if (d.timers.cancel.length > 0) await cancelTimers(q, i.id, d.timers.cancel, now);
  for (const e of d.timeline) await addTimeline(q, i.id, e);
  if (d.timers.rescheduleSeverity) await scheduleSeverityTimers(q, ctx, i, true);
  if (d.save) await saveIncident(q, i);
  for (const p of d.posts) await enqueuePost(q, i, p, now);
  if (d.save) await enqueuePost(q, i, { type: 'update_root' }, now);
  if (d.resolved) await onResolved(q, ctx, i);
}

export interface CreateOptions {
  receivedAt: Date;
  at: Date;
  /** Set when the incident was declared from Slack and PagerDuty's answer arrived first. */
  declaration?: { call: Extract<PdCall, { kind: 'create' }>; requestedBy?: Actor };
}

/** Records a new incident and queues its thread; when another event or replica got there first, returns that one, locked. */
export async function createIncident(
  q: Q,
  ctx: WorkflowCtx,
  s: Snapshot,
  o: CreateOptions,
): Promise<{ incident: Incident; created: boolean }> {
  const declaration = o.declaration ?? (s.incident_key ? await declarationByKey(q, s.incident_key) : undefined);
  const map = severityMap(ctx.config.INCIDENT_SEVERITY_MAP);
  const severity: Severity = declaration?.call.severity ?? severityOf(s.priority?.summary, s.urgency, map);
  const createdAt = s.created_at ? new Date(s.created_at) : o.at;
  const triggeredAt = Number.isNaN(createdAt.getTime()) ? o.at : createdAt;
  const baseline = new Date(Math.min(triggeredAt.getTime(), o.at.getTime()));
  const incident: Incident = {
    id: s.id,
    number: s.number,
    title: s.title,
    description: declaration?.call.description,
    serviceId: s.service?.id,
    serviceName: s.service?.summary,
    priority: s.priority?.summary,
    urgency: s.urgency,
    severity,
    // The page itself: later events in this transaction move it on from here.
    pdStatus: 'triggered',
    statusAt: baseline,
    snapshotAt: baseline,
    htmlUrl: s.html_url,
    assignees: refs(s.assignees),
    escalationLevel: 1,
    procedureId: matchProcedure(s.title, s.service?.summary),
    triggeredAt,
    receivedAt: o.receivedAt,
    declaredBy: declaration?.requestedBy?.slackId,
    channel: ctx.config.INCIDENTS_CHANNEL,
    updatedAt: ctx.now(),
  };
  if (!(await insertIncident(q, incident))) {
    return { incident: (await getIncident(q, s.id, true)) as Incident, created: false };
  }
  const now = ctx.now();
  const serviceText = incident.serviceName ? `, ${incident.serviceName}` : '';
  if (declaration) {
    await addTimeline(q, incident.id, {
      at: triggeredAt,
      kind: 'declared',
      actor: declaration.requestedBy,
      text: `Declared from Slack: ${incident.title} (${severity}${serviceText})`,
      source: 'slack',
      dedupeKey: `triggered:${incident.id}`,
    });
  } else {
    await addTimeline(q, incident.id, {
      at: triggeredAt,
      kind: 'triggered',
      text: `Triggered in PagerDuty: ${incident.title} (${severity}${serviceText})`,
      source: 'pagerduty',
      dedupeKey: `triggered:${incident.id}`,
    });
  }
  if (!incident.channel) {
    ctx.log.warn(
      { incident: incident.id },
      'incident thread refused: INCIDENTS_CHANNEL is not set, so the incident is recorded but nothing is posted',
    );
  }
  // A page in a storm joins the storm's digest; one declared by a person always gets its own root.
  const storm = declaration ? undefined : await joinStormDigest(q, ctx, incident);
  if (storm) {
    incident.digestId = storm.digest.id;
    // Its root is the digest message, posted once the digest has gathered its incidents.
    await enqueuePost(q, incident, { type: 'root' }, now, storm.digest.closesAt);
    if (storm.opened) {
      await enqueuePost(q, incident, { type: 'storm_opened' }, now);
      await enqueuePost(q, incident, { type: 'bringing_in', forDigest: true }, now);
    }
    if (incident.procedureId && !(await digestHasDiagnosis(q, storm.digest.id, incident.procedureId))) {
      await enqueuePost(q, incident, { type: 'diagnosis', procedureId: incident.procedureId }, now);
    }
  } else {
    const specialists = contactsFor(
      ctx.config.ESCALATION_CONTACTS,
      specialistRoles(incident.title, incident.serviceName),
    );
    await enqueuePost(q, incident, { type: 'root' }, now);
    await enqueuePost(
      q,
      incident,
      { type: 'investigating', description: incident.description?.trim() || incident.title },
      now,
    );
    // Who is called in is a reply of its own: one thing per reply.
    if (specialists.length) await enqueuePost(q, incident, { type: 'bringing_in', contacts: specialists }, now);
    if (incident.procedureId)
      await enqueuePost(q, incident, { type: 'diagnosis', procedureId: incident.procedureId }, now);
  }
  await scheduleSeverityTimers(q, ctx, incident, false);
  return { incident, created: true };
}

/** The response-target reminder and, for P1/P2, the engineering lead's escalation, both counted from when the bot received the page. */
export async function scheduleSeverityTimers(q: Q, ctx: WorkflowCtx, i: Incident, reschedule: boolean): Promise<void> {
  if (i.pdStatus === 'triggered') {
    await scheduleTimer(
      q,
      i.id,
      'ack_reminder',
      new Date(i.receivedAt.getTime() + ctx.config.responseTargets[i.severity]),
      reschedule,
    );
  }
  if ((i.severity === 'P1' || i.severity === 'P2') && i.pdStatus !== 'resolved') {
    await scheduleTimer(
      q,
      i.id,
      'lead_escalation',
      new Date(i.receivedAt.getTime() + ctx.config.INCIDENT_LEAD_AFTER),
      reschedule,
    );
  }
  await scheduleUpdateReminder(q, ctx, i);
  await scheduleCommanderNudge(q, ctx, i, reschedule);
}

/** Resolution: timers stop, the post-mortem opens with its due date and reminders. */
export async function onResolved(q: Q, ctx: WorkflowCtx, i: Incident): Promise<void> {
  const now = ctx.now();
  await cancelTimers(q, i.id, ['ack_reminder', 'lead_escalation', 'update_reminder', 'commander_nudge'], now);
  await statusPageOnResolved(q, ctx, i);
  const pm = await openPostmortem(q, i, ctx.config.POSTMORTEM_DUE, now);
  await enqueuePost(q, i, { type: 'postmortem' }, now);
  const window = pm.dueAt.getTime() - pm.resolvedAt.getTime();
  await scheduleTimer(q, i.id, 'postmortem_reminder_1', new Date(pm.resolvedAt.getTime() + window / 2), true);
  await scheduleTimer(q, i.id, 'postmortem_reminder_2', new Date(pm.resolvedAt.getTime() + window * 0.9), true);
}
