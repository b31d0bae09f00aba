// The incident workflow on PagerDuty's side: each stored v3 webhook event becomes state changes,
// timeline entries, queued posts and timers, all in one transaction that holds the incident's
// row lock. Decisions follow the incident's state and the event's time, not arrival order.
import type { Severity } from '../config.js';
import { contactsFor } from './contacts.js';
import { matchProcedure, specialistRoles } from './match.js';
import { enqueuePost } from './outbox.js';
import { consumeEcho, declarationByKey, type PdCall } from './pd-outbox.js';
import { openPostmortem } from './postmortem.js';
import { severityMap, severityOf } from './severity.js';
import { snapshotIsNewer, statusTransition } from './state.js';
import { getIncident, insertIncident, type Q, saveIncident } from './store.js';
import { digestHasDiagnosis, joinStormDigest } from './storm.js';
import { addTimeline } from './timeline.js';
import { cancelTimers, scheduleTimer } from './timers.js';
import type { WorkflowCtx } from './ctx.js';
import { agentActor, incidentRefId, parseSnapshot, type Snapshot } from './pagerduty-payload.js';
import type { Actor, ChangeKind, Incident, PdRef, PdStatus, PostIntent } from './types.js';

export interface StoredEvent {
  eventId: string;
  eventType: string;
  occurredAt?: Date;
  receivedAt: Date;
  agent: unknown;
  data: unknown;
}

export type EventOutcome = 'ping' | 'ignored' | 'created' | 'applied' | 'unchanged' | 'defer';

const refs = (list: Array<{ id: string; summary?: string }> | undefined): PdRef[] => (list ?? []).map((a) => ({ id: a.id, summary: a.summary ?? a.id }));

function sameRefs(a: PdRef[], b: PdRef[]): boolean {
  return a.map((x) => x.id).sort().join(',') === b.map((x) => x.id).sort().join(',');
}

function names(list: PdRef[]): string {
  return list.length ? list.map((a) => a.summary).join(', ') : 'nobody';
}

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

  if (ev.eventType === 'incident.annotated') {
    const content = String((ev.data as { content?: unknown }).content ?? '');
    const noteId = String((ev.data as { id?: unknown }).id ?? ev.eventId);
    if (await consumeEcho(q, incident.id, ev.eventType, ctx.now(), content)) {
      await addTimeline(q, incident.id, { at, kind: 'pagerduty', actor, text: 'Confirmed in PagerDuty: note added', source: 'pagerduty', dedupeKey: `event:${ev.eventId}` });
      return outcome;
    }
    await addTimeline(q, incident.id, { at, kind: 'note', actor, text: `Note in PagerDuty: ${content}`, source: 'pagerduty', dedupeKey: `note:${incident.id}:${noteId}` });
    await enqueuePost(q, incident, { type: 'note', actor, content }, ctx.now());
    return 'applied';
  }

  if (!snapshot) {
    // Responders, status updates and other events that name the incident without carrying it.
    const detail = describeOther(ev.eventType, ev.data);
    const kind: ChangeKind = ev.eventType === 'incident.status_update_published' ? 'status_update' : 'responder';
    await addTimeline(q, incident.id, { at, kind: kind === 'status_update' ? 'status_update' : 'pagerduty', actor, text: detail, source: 'pagerduty', dedupeKey: `event:${ev.eventId}` });
    await enqueuePost(q, incident, { type: 'change', change: kind, actor, detail }, ctx.now());
    return 'applied';
  }

  const changed = await applySnapshot(q, ctx, incident, snapshot, ev.eventType, at, actor, ev.eventId);
  return outcome === 'created' ? outcome : changed ? 'applied' : 'unchanged';
}

function describeOther(type: string, data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  if (type === 'incident.status_update_published') {
    const message = d.message ?? (d.status_update as { message?: unknown } | undefined)?.message;
    return `Status update: ${typeof message === 'string' ? message : '(no text)'}`;
  }
  const responder = (d.user as { summary?: unknown } | undefined)?.summary ?? (d.responder as { summary?: unknown } | undefined)?.summary;
  const what = type.replace(/^incident\./, '').replace(/[._]/g, ' ');
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}${typeof responder === 'string' ? `: ${responder}` : ''}`;
}

export interface CreateOptions {
  receivedAt: Date;
  at: Date;
  /** Set when the incident was declared from Slack and PagerDuty's answer arrived first. */
  declaration?: { call: Extract<PdCall, { kind: 'create' }>; requestedBy?: Actor };
}

/** Records a new incident and queues its thread; when another event or replica got there first, returns that one, locked. */
export async function createIncident(q: Q, ctx: WorkflowCtx, s: Snapshot, o: CreateOptions): Promise<{ incident: Incident; created: boolean }> {
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
    ctx.log.warn({ incident: incident.id }, 'incident thread refused: INCIDENTS_CHANNEL is not set, so the incident is recorded but nothing is posted');
  }
  // A page in a storm joins the storm's digest; one declared by a person always gets its own root.
  const storm = declaration ? undefined : await joinStormDigest(q, ctx, incident);
  if (storm) {
    incident.digestId = storm.digest.id;
    // Its root is the digest message, posted once the digest has gathered its incidents.
    await enqueuePost(q, incident, { type: 'root' }, now, storm.digest.closesAt);
    if (storm.opened) await enqueuePost(q, incident, { type: 'storm_opened' }, now);
    if (incident.procedureId && !(await digestHasDiagnosis(q, storm.digest.id, incident.procedureId))) {
      await enqueuePost(q, incident, { type: 'diagnosis', procedureId: incident.procedureId }, now);
    }
  } else {
    const specialists = contactsFor(ctx.config.ESCALATION_CONTACTS, specialistRoles(incident.title, incident.serviceName));
    await enqueuePost(q, incident, { type: 'root' }, now);
    await enqueuePost(q, incident, { type: 'investigating', description: incident.description?.trim() || incident.title, contacts: specialists }, now);
    if (incident.procedureId) await enqueuePost(q, incident, { type: 'diagnosis', procedureId: incident.procedureId }, now);
  }
  await scheduleSeverityTimers(q, ctx, incident, false);
  return { incident, created: true };
}

/** The response-target reminder and, for P1/P2, the engineering lead's escalation, both counted from when the bot received the page. */
export async function scheduleSeverityTimers(q: Q, ctx: WorkflowCtx, i: Incident, reschedule: boolean): Promise<void> {
  if (i.pdStatus === 'triggered') {
    await scheduleTimer(q, i.id, 'ack_reminder', new Date(i.receivedAt.getTime() + ctx.config.responseTargets[i.severity]), reschedule);
  }
  if ((i.severity === 'P1' || i.severity === 'P2') && i.pdStatus !== 'resolved') {
    await scheduleTimer(q, i.id, 'lead_escalation', new Date(i.receivedAt.getTime() + ctx.config.INCIDENT_LEAD_AFTER), reschedule);
  }
}

/** Moves an incident on to a snapshot's state; true when anything people can see changed. */
async function applySnapshot(q: Q, ctx: WorkflowCtx, i: Incident, s: Snapshot, type: string, at: Date, actor: Actor | undefined, eventId: string): Promise<boolean> {
  const now = ctx.now();
  const posts: PostIntent[] = [];
  let visible = false;
  const echo = type === 'incident.acknowledged' || type === 'incident.resolved' || type === 'incident.triggered' ? false : await consumeEcho(q, i.id, type, now);

  const beforeSeverity = i.severity;
  const beforeAssignees = i.assignees;
  const beforePriority = i.priority;
  if (snapshotIsNewer(i.snapshotAt, at)) {
    const map = severityMap(ctx.config.INCIDENT_SEVERITY_MAP);
    i.title = s.title;
    i.number = s.number ?? i.number;
    i.htmlUrl = s.html_url ?? i.htmlUrl;
    if (s.service) {
      i.serviceId = s.service.id;
      i.serviceName = s.service.summary ?? i.serviceName;
    }
    i.priority = s.priority?.summary ?? (s.priority === null ? undefined : i.priority);
    i.urgency = s.urgency ?? i.urgency;
    // A declared severity stands until PagerDuty's priority says otherwise.
    if (i.priority || !i.declaredBy) i.severity = severityOf(i.priority, i.urgency, map);
    if (s.assignees) i.assignees = refs(s.assignees);
    i.snapshotAt = at;
    visible = i.severity !== beforeSeverity || !sameRefs(i.assignees, beforeAssignees) || i.priority !== beforePriority;
  }

  const next = statusTransition(i.pdStatus, i.statusAt, type, s.status as PdStatus, at);
  if (next) {
    const from = i.pdStatus;
    i.pdStatus = next;
    i.statusAt = at;
    visible = true;
    if (next !== 'triggered') await cancelTimers(q, i.id, ['ack_reminder'], now);
    if (next === 'acknowledged') {
      i.acknowledgedAt = i.acknowledgedAt ?? at;
      i.acknowledgedBy = actor;
      const afterMs = at.getTime() - i.triggeredAt.getTime();
      await addTimeline(q, i.id, { at, kind: 'acknowledged', actor, text: 'Acknowledged in PagerDuty', source: 'pagerduty', dedupeKey: `event:${eventId}` });
      posts.push({ type: 'change', change: 'acknowledged', actor, afterMs });
    } else if (next === 'resolved') {
      i.resolvedAt = at;
      i.resolvedBy = actor;
      const afterMs = at.getTime() - i.triggeredAt.getTime();
      await addTimeline(q, i.id, { at, kind: 'resolved', actor, text: 'Resolved in PagerDuty', source: 'pagerduty', dedupeKey: `event:${eventId}` });
      posts.push({ type: 'change', change: 'resolved', actor, afterMs });
    } else if (from === 'resolved') {
      i.resolvedAt = undefined;
      i.resolvedBy = undefined;
      i.mitigatedAt = undefined;
      i.mitigatedBy = undefined;
      await addTimeline(q, i.id, { at, kind: 'reopened', actor, text: 'Reopened in PagerDuty', source: 'pagerduty', dedupeKey: `event:${eventId}` });
      posts.push({ type: 'change', change: 'reopened', actor });
    } else if (type === 'incident.unacknowledged') {
      await addTimeline(q, i.id, { at, kind: 'unacknowledged', actor, text: 'Acknowledgement timed out in PagerDuty; triggered again', source: 'pagerduty', dedupeKey: `event:${eventId}` });
      posts.push({ type: 'change', change: 'unacknowledged', actor });
    }
  }

  const confirmed = echo || (!next && (type === 'incident.acknowledged' || type === 'incident.resolved') && s.status === i.pdStatus);
  if (confirmed) {
    // PagerDuty's answer to the bot's own call: recorded, not posted again.
    await addTimeline(q, i.id, { at, kind: 'pagerduty', actor, text: `Confirmed in PagerDuty: ${type.replace(/^incident\./, '').replace(/_/g, ' ')}`, source: 'pagerduty', dedupeKey: `event:${eventId}` });
  }

  if (!echo) {
    if (type === 'incident.escalated') {
      i.escalationLevel += 1;
      visible = true;
      const detail = `now with ${names(i.assignees)}`;
      await addTimeline(q, i.id, { at, kind: 'escalated', actor, text: `Escalated in PagerDuty, ${detail}`, source: 'pagerduty', dedupeKey: `event:${eventId}:escalated` });
      posts.push({ type: 'change', change: 'escalated', actor, detail });
    } else if (type === 'incident.reassigned' || type === 'incident.delegated') {
      visible = true;
      const detail = names(i.assignees);
      const change: ChangeKind = type === 'incident.delegated' ? 'delegated' : 'reassigned';
      await addTimeline(q, i.id, { at, kind: 'reassigned', actor, text: `${change === 'delegated' ? 'Delegated' : 'Reassigned'} in PagerDuty to ${detail}`, source: 'pagerduty', dedupeKey: `event:${eventId}:assigned` });
      posts.push({ type: 'change', change, actor, detail });
    } else if (type === 'incident.priority_updated' && (i.priority !== beforePriority || i.severity !== beforeSeverity)) {
      const detail = `${i.priority ? `priority ${i.priority}, ` : ''}severity ${beforeSeverity} → ${i.severity}`;
      await addTimeline(q, i.id, { at, kind: 'priority', actor, text: `Priority changed in PagerDuty: ${detail}`, source: 'pagerduty', dedupeKey: `event:${eventId}:priority` });
      posts.push({ type: 'change', change: 'priority', actor, detail });
    }
  }

  if (i.severity !== beforeSeverity && i.pdStatus !== 'resolved') await scheduleSeverityTimers(q, ctx, i, true);
  if (!visible && posts.length === 0) return false;
  i.updatedAt = now;
  await saveIncident(q, i);
  for (const p of posts) await enqueuePost(q, i, p, now);
  await enqueuePost(q, i, { type: 'update_root' }, now);
  if (next === 'resolved') await onResolved(q, ctx, i);
  return true;
}

/** Resolution: timers stop, the post-mortem opens with its due date and reminders. */
export async function onResolved(q: Q, ctx: WorkflowCtx, i: Incident): Promise<void> {
  const now = ctx.now();
  await cancelTimers(q, i.id, ['ack_reminder', 'lead_escalation'], now);
  const pm = await openPostmortem(q, i, ctx.config.POSTMORTEM_DUE, now);
  await enqueuePost(q, i, { type: 'postmortem' }, now);
  const window = pm.dueAt.getTime() - pm.resolvedAt.getTime();
  await scheduleTimer(q, i.id, 'postmortem_reminder_1', new Date(pm.resolvedAt.getTime() + window / 2), true);
  await scheduleTimer(q, i.id, 'postmortem_reminder_2', new Date(pm.resolvedAt.getTime() + window * 0.9), true);
}
