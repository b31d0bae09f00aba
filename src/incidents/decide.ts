// The incident workflow's decisions, without I/O: given the incident as stored, one PagerDuty
// event and the time, what the incident becomes, what goes on its timeline, what is posted and
// which timers change. workflow.ts reads the incident, calls decide() and writes the decision
// in the event's transaction.
import type { Severity } from '../config.js';
import type { Snapshot } from './pagerduty-payload.js';
import { severityOf } from './severity.js';
import { snapshotIsNewer, statusTransition } from './state.js';
import type { NewEntry } from './timeline.js';
import type { TimerKind } from './timers.js';
import type { Actor, ChangeKind, Incident, PdRef, PdStatus, PostIntent } from './types.js';

export interface IncidentEvent {
  eventId: string;
  /** PagerDuty's v3 event type, e.g. `incident.acknowledged`. */
  type: string;
  /** When it happened (PagerDuty's occurred_at, else when it was received). */
  at: Date;
  actor?: Actor;
  /** The incident as the event carries it; absent for notes, responders and status updates. */
  snapshot?: Snapshot;
  data: unknown;
  /** PagerDuty's echo of the bot's own call (matched in the PagerDuty outbox): recorded, not posted again. */
  echo: boolean;
}

export interface Decision {
  /** The incident's next state (a copy; the input is not changed). */
  incident: Incident;
  /** Something people see changed: save the incident and refresh its root post. */
  save: boolean;
  /** The event changed the incident or its thread (the worker's 'applied'). */
  changed: boolean;
  timeline: NewEntry[];
  posts: PostIntent[];
  /** Timers to cancel, and whether the severity's timers are set again (its severity changed). */
  timers: { cancel: TimerKind[]; rescheduleSeverity: boolean };
  /** It was resolved by this event: the post-mortem opens. */
  resolved: boolean;
}

export interface DecideRules {
  severityMap: Record<string, Severity>;
}

const refs = (list: Array<{ id: string; summary?: string }> | undefined): PdRef[] =>
  (list ?? []).map((a) => ({ id: a.id, summary: a.summary ?? a.id }));

function sameRefs(a: PdRef[], b: PdRef[]): boolean {
  return (
    a
      .map((x) => x.id)
      .sort()
      .join(',') ===
    b
      .map((x) => x.id)
      .sort()
      .join(',')
  );
}

function names(list: PdRef[]): string {
  return list.length ? list.map((a) => a.summary).join(', ') : 'nobody';
}

function describeOther(type: string, data: unknown): string {
  const d = (data ?? {}) as Record<string, unknown>;
  if (type === 'incident.status_update_published') {
    const { message } = statusUpdateOf({ data });
    return `Status update: ${message || '(no text)'}`;
  }
  const person = (d.user as { summary?: unknown } | undefined)?.summary;
  // A responder request's progress (PagerDuty's incident_responder: user, message, state).
  if (type === 'incident.responder.added' && typeof person === 'string')
    return `Responder request: ${person} paged${typeof d.message === 'string' && d.message ? ` — ${d.message}` : ''}`;
  if (type === 'incident.responder.replied' && typeof person === 'string') {
    const state = typeof d.state === 'string' ? d.state.toLowerCase() : '';
    if (state === 'joined' || state === 'accepted') return `Responder request: ${person} accepted and joined`;
    if (state === 'declined') return `Responder request: ${person} declined`;
    return `Responder request: ${person} replied${state ? ` (${state})` : ''}`;
  }
  const responder = person ?? (d.responder as { summary?: unknown } | undefined)?.summary;
  const what = type.replace(/^incident\./, '').replace(/[._]/g, ' ');
  return `${what.charAt(0).toUpperCase()}${what.slice(1)}${typeof responder === 'string' ? `: ${responder}` : ''}`;
}

/** The text of a note event, and the id that makes its timeline entry once. */
export function noteOf(ev: Pick<IncidentEvent, 'data' | 'eventId'>): { content: string; noteId: string } {
  return {
    content: String((ev.data as { content?: unknown }).content ?? ''),
    noteId: String((ev.data as { id?: unknown }).id ?? ev.eventId),
  };
}

/**
 * The message of an `incident.status_update_published` event (`data` is an
 * `incident_status_update`; `trimmed` when PagerDuty shortened the message).
 */
export function statusUpdateOf(ev: Pick<IncidentEvent, 'data'>): { message: string; trimmed: boolean } {
  const d = (ev.data ?? {}) as Record<string, unknown>;
  const message = d.message ?? (d.status_update as { message?: unknown } | undefined)?.message;
  return { message: typeof message === 'string' ? message : '', trimmed: d.trimmed === true };
}

/** Whether the apply step asks the PagerDuty outbox if this event echoes the bot's own call. */
export function mayEcho(type: string): boolean {
  return type !== 'incident.acknowledged' && type !== 'incident.resolved' && type !== 'incident.triggered';
}

export function decide(incident: Incident, ev: IncidentEvent, now: Date, rules: DecideRules): Decision {
  const i: Incident = { ...incident };
  const d: Decision = {
    incident: i,
    save: false,
    changed: false,
    timeline: [],
    posts: [],
    timers: { cancel: [], rescheduleSeverity: false },
    resolved: false,
  };
  const { at, actor, eventId, type } = ev;

  if (type === 'incident.annotated') {
    const { content, noteId } = noteOf(ev);
    if (ev.echo) {
      d.timeline.push({
        at,
        kind: 'pagerduty',
        actor,
        text: 'Confirmed in PagerDuty: note added',
        source: 'pagerduty',
        dedupeKey: `event:${eventId}`,
      });
      return d;
    }
    d.timeline.push({
      at,
      kind: 'note',
      actor,
      text: `Note in PagerDuty: ${content}`,
      source: 'pagerduty',
      dedupeKey: `note:${i.id}:${noteId}`,
    });
    d.posts.push({ type: 'note', actor, content });
    d.changed = true;
    return d;
  }

  const s = ev.snapshot;
  if (!s) {
    // Responders, status updates and other events that name the incident without carrying it.
    const detail = describeOther(type, ev.data);
    const kind: ChangeKind = type === 'incident.status_update_published' ? 'status_update' : 'responder';
    if (ev.echo && (kind === 'status_update' || type === 'incident.responder.added')) {
      // The bot's own Post update or Page, announced back: already in the thread and the timeline.
      d.timeline.push({
        at,
        kind: 'pagerduty',
        actor,
        text:
          kind === 'status_update'
            ? 'Confirmed in PagerDuty: status update published'
            : `Confirmed in PagerDuty: ${detail}`,
        source: 'pagerduty',
        dedupeKey: `event:${eventId}`,
      });
      return d;
    }
    d.timeline.push({
      at,
      kind: kind === 'status_update' ? 'status_update' : 'pagerduty',
      actor,
      text: detail,
      source: 'pagerduty',
      dedupeKey: `event:${eventId}`,
    });
    d.posts.push({ type: 'change', change: kind, actor, detail });
    d.changed = true;
    return d;
  }

  const echo = ev.echo && mayEcho(type);
  let visible = false;
  const beforeSeverity = i.severity;
  const beforeAssignees = i.assignees;
  const beforePriority = i.priority;
  if (snapshotIsNewer(i.snapshotAt, at)) {
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
    if (i.priority || !i.declaredBy) i.severity = severityOf(i.priority, i.urgency, rules.severityMap);
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
    if (next !== 'triggered') d.timers.cancel.push('ack_reminder');
    if (next === 'acknowledged') {
      i.acknowledgedAt = i.acknowledgedAt ?? at;
      i.acknowledgedBy = actor;
      const afterMs = at.getTime() - i.triggeredAt.getTime();
      d.timeline.push({
        at,
        kind: 'acknowledged',
        actor,
        text: 'Acknowledged in PagerDuty',
        source: 'pagerduty',
        dedupeKey: `event:${eventId}`,
      });
      d.posts.push({ type: 'change', change: 'acknowledged', actor, afterMs });
    } else if (next === 'resolved') {
      i.resolvedAt = at;
      i.resolvedBy = actor;
      const afterMs = at.getTime() - i.triggeredAt.getTime();
      d.timeline.push({
        at,
        kind: 'resolved',
        actor,
        text: 'Resolved in PagerDuty',
        source: 'pagerduty',
        dedupeKey: `event:${eventId}`,
      });
      d.posts.push({ type: 'change', change: 'resolved', actor, afterMs });
    } else if (from === 'resolved') {
      i.resolvedAt = undefined;
      i.resolvedBy = undefined;
      i.mitigatedAt = undefined;
      i.mitigatedBy = undefined;
      d.timeline.push({
        at,
        kind: 'reopened',
        actor,
        text: 'Reopened in PagerDuty',
        source: 'pagerduty',
        dedupeKey: `event:${eventId}`,
      });
      d.posts.push({ type: 'change', change: 'reopened', actor });
    } else if (type === 'incident.unacknowledged') {
      d.timeline.push({
        at,
        kind: 'unacknowledged',
        actor,
        text: 'Acknowledgement timed out in PagerDuty; triggered again',
        source: 'pagerduty',
        dedupeKey: `event:${eventId}`,
      });
      d.posts.push({ type: 'change', change: 'unacknowledged', actor });
    }
  }

  const confirmed =
    echo || (!next && (type === 'incident.acknowledged' || type === 'incident.resolved') && s.status === i.pdStatus);
  if (confirmed) {
    // PagerDuty's answer to the bot's own call: recorded, not posted again.
    d.timeline.push({
      at,
      kind: 'pagerduty',
      actor,
      text: `Confirmed in PagerDuty: ${type.replace(/^incident\./, '').replace(/_/g, ' ')}`,
      source: 'pagerduty',
      dedupeKey: `event:${eventId}`,
    });
  }

  if (!echo) {
    if (type === 'incident.escalated') {
      i.escalationLevel += 1;
      visible = true;
      const detail = `now with ${names(i.assignees)}`;
      d.timeline.push({
        at,
        kind: 'escalated',
        actor,
        text: `Escalated in PagerDuty, ${detail}`,
        source: 'pagerduty',
        dedupeKey: `event:${eventId}:escalated`,
      });
      d.posts.push({ type: 'change', change: 'escalated', actor, detail });
    } else if (type === 'incident.reassigned' || type === 'incident.delegated') {
      visible = true;
      const detail = names(i.assignees);
      const change: ChangeKind = type === 'incident.delegated' ? 'delegated' : 'reassigned';
      d.timeline.push({
        at,
        kind: 'reassigned',
        actor,
        text: `${change === 'delegated' ? 'Delegated' : 'Reassigned'} in PagerDuty to ${detail}`,
        source: 'pagerduty',
        dedupeKey: `event:${eventId}:assigned`,
      });
      d.posts.push({ type: 'change', change, actor, detail });
    } else if (
      type === 'incident.priority_updated' &&
      (i.priority !== beforePriority || i.severity !== beforeSeverity)
    ) {
      const detail = `${i.priority ? `priority ${i.priority}, ` : ''}severity ${beforeSeverity} → ${i.severity}`;
      d.timeline.push({
        at,
        kind: 'priority',
        actor,
        text: `Priority changed in PagerDuty: ${detail}`,
        source: 'pagerduty',
        dedupeKey: `event:${eventId}:priority`,
      });
      d.posts.push({ type: 'change', change: 'priority', actor, detail });
    }
  }

  d.timers.rescheduleSeverity = i.severity !== beforeSeverity && i.pdStatus !== 'resolved';
  if (!visible && d.posts.length === 0) return d;
  i.updatedAt = now;
  d.save = true;
  d.changed = true;
  d.resolved = next === 'resolved';
  return d;
}
