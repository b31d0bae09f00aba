// A wire-level fake of PagerDuty's REST API v2 (incidents, notes, services, priorities, users,
// on-calls) that @pagerduty/pdjs and plain fetch talk to unchanged through a base URL. It keeps
// incidents as state and, like real PagerDuty, echoes every change back as a signed v3 webhook
// when `webhookTarget` is set, so a whole incident loop runs without the internet.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeHttpServer, Fault, FaultOptions } from './http-server.js';
import { headerRecord, json, parseJson, splitUrl, startHttpServer } from './http-server.js';
import type {
  IncidentEventType,
  IncidentStatus,
  Reference,
  ReferenceKind,
  Urgency,
  WebhookEnvelope,
  WebhookIncident,
} from './pagerduty-signing.js';
import { deliverWebhook, incidentEvent, newObjectId, reference } from './pagerduty-signing.js';

export interface PdUser {
  id: string;
  name: string;
  email: string;
  time_zone?: string;
}

export interface PdService {
  id: string;
  name: string;
}

/** One level of an escalation policy: who is on call there now (by user id), from which schedule, until when. */
export interface PdEscalationLevel {
  userIds: string[];
  scheduleId?: string;
  /** ISO time the current on-call ends; unset: a week from now. */
  until?: string;
}

export interface PdEscalationPolicy {
  id: string;
  name: string;
  /** Levels in order: index 0 is escalation level 1. */
  levels: PdEscalationLevel[];
}

export interface PdResponderRequest {
  incidentId: string;
  /** The From: header's email. */
  from: string;
  requesterId: string;
  message: string;
  targets: Array<{ type: 'user' | 'escalation_policy'; id: string }>;
}

export interface PdSchedule {
  id: string;
  name: string;
}

export interface PdPriority {
  id: string;
  name: string;
}

export interface PdNote {
  id: string;
  user: Reference;
  content: string;
  created_at: string;
}

export interface PdIncident {
  id: string;
  incident_number: number;
  title: string;
  status: IncidentStatus;
  urgency: Urgency;
  service: PdService;
  priority: PdPriority | null;
  assignees: PdUser[];
  acknowledgers: PdUser[];
  escalation_level: number;
  incident_key: string;
  details?: string;
  created_at: string;
  updated_at: string;
  last_status_change_at: string;
  last_status_change_by: Reference;
  notes: PdNote[];
}

export interface PdRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: unknown;
  at: number;
}

export interface WebhookTarget {
  url: string;
  secrets: string[];
  subscriptionId?: string;
}

export interface WebhookDelivery {
  event: WebhookEnvelope;
  status?: number;
  error?: string;
}

export interface PagerDutyFakeOptions {
  /** When set, only this token is accepted; unset: any token. */
  token?: string;
  services?: PdService[];
  /** The first user is the token's owner (`GET /users/me`) and the on-call. */
  users?: PdUser[];
  /** Unset: one policy, "DMP on-call", with the first two users at levels 1 and 2. */
  escalationPolicies?: PdEscalationPolicy[];
  schedules?: PdSchedule[];
  /** Service id → its escalation policy id (unset: the first policy). */
  servicePolicies?: Record<string, string>;
  subdomain?: string;
  port?: number;
}

/**
 * What a responder can change on an incident, through REST or `act()`. `triggered` is for
 * `act()` only (REST refuses it): it reopens a resolved incident or lets an acknowledgement
 * time out, as PagerDuty itself does.
 */
export interface IncidentChange {
  status?: 'acknowledged' | 'resolved' | 'triggered';
  priorityId?: string;
  assigneeIds?: string[];
  escalationLevel?: number;
  resolution?: string;
  title?: string;
  urgency?: Urgency;
}

export interface PdStatusUpdate {
  id: string;
  message: string;
  subject?: string;
  sender: { id: string; summary?: string };
  created_at: string;
}

export interface PagerDutyFake {
  /** Base URL, like `https://api.pagerduty.com` (no trailing slash). */
  readonly url: string;
  readonly http: FakeHttpServer;
  readonly requests: PdRequest[];
  readonly incidents: Map<string, PdIncident>;
  readonly services: PdService[];
  readonly priorities: PdPriority[];
  readonly users: PdUser[];
  readonly escalationPolicies: PdEscalationPolicy[];
  readonly schedules: PdSchedule[];
  /** Every responder request accepted, oldest first. */
  readonly responderRequests: PdResponderRequest[];
  /** Service id → escalation policy id; a test may change it (unset: the first policy). */
  readonly servicePolicies: Record<string, string>;
  readonly deliveries: WebhookDelivery[];
  /** Status updates posted to each incident (`POST /incidents/{id}/status_updates`), oldest first. */
  readonly statusUpdates: Map<string, PdStatusUpdate[]>;
  /** When set, every state change is delivered here as a signed v3 webhook. */
  webhookTarget: WebhookTarget | undefined;
  seedIncident(incident: SeedIncident): PdIncident;
  /** Seeds an incident and tells the webhook target, as a page from monitoring would. */
  triggerIncident(incident: SeedIncident): Promise<PdIncident>;
  /** Someone acts on PagerDuty's side (the mobile app, an escalation timeout): same effects as REST. */
  act(incidentId: string, change: IncidentChange, byEmail?: string): Promise<PdIncident>;
  /** Someone posts a status update in PagerDuty itself (the web UI): kept and announced as by REST. */
  publishStatusUpdate(incidentId: string, message: string, byEmail?: string): Promise<PdStatusUpdate>;
  onRequest(listener: (request: PdRequest) => void): () => void;
  onChange(listener: (event: WebhookEnvelope) => void): () => void;
  /** Resolves once every webhook queued so far has been delivered (or has failed). */
  settled(): Promise<void>;
  setFault(kind: Fault, opts?: FaultOptions): void;
  /**
   * The next `times` requests get HTTP 429 with PagerDuty's `ratelimit-reset: resetSec` (and
   * ratelimit-limit/-remaining); they are listed in `rateLimited`, not in `requests`.
   */
  rateLimit(resetSec: number, times?: number): void;
  readonly rateLimited: PdRequest[];
  down(): Promise<void>;
  up(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

export interface SeedIncident {
  id?: string;
  title: string;
  status?: IncidentStatus;
  urgency?: Urgency;
  /** Service id; must be one of the fake's services (the first by default). */
  serviceId?: string;
  /** Priority name, 'P1'…'P5'. */
  priority?: string | null;
  assigneeIds?: string[];
  incident_key?: string;
  details?: string;
  created_at?: string;
}

class PdError extends Error {
  constructor(
    readonly status: number,
    readonly body: { error: { message: string; code: number; errors?: string[] } },
  ) {
    super(body.error.message);
  }
}

const invalidInput = (...errors: string[]): PdError =>
  new PdError(400, { error: { message: 'Invalid Input Provided', code: 2001, errors } });
const notFound = (): PdError => new PdError(404, { error: { message: 'Not Found', code: 2100 } });
const missingFrom = (): PdError =>
  new PdError(400, {
    error: {
      message: 'You must specify a user\'s email address in the "From" header to perform this action',
      code: 2016,
    },
  });

const DEFAULT_SERVICES: PdService[] = [
  { id: 'PDMPAPI', name: 'DMP API' },
  { id: 'PDMPWRK', name: 'DMP Scan Workers' },
];
const DEFAULT_USERS: PdUser[] = [
  { id: 'PDMPUSR1', name: 'Dana On-Call', email: 'dana@example.com', time_zone: 'Europe/London' },
  { id: 'PDMPUSR2', name: 'Eli Backup', email: 'eli@example.com', time_zone: 'America/New_York' },
];
const PRIORITIES: PdPriority[] = ['P1', 'P2', 'P3', 'P4', 'P5'].map((name, i) => ({ id: `PPRI00${i + 1}`, name }));
const ESCALATION_POLICY = { id: 'PDMPEP1', summary: 'DMP on-call' } satisfies Reference;

const iso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startPagerDutyFake(opts: PagerDutyFakeOptions = {}): Promise<PagerDutyFake> {
  const subdomain = opts.subdomain ?? 'dmp';
  const services = [...(opts.services ?? DEFAULT_SERVICES)];
  const users = [...(opts.users ?? DEFAULT_USERS)];
  const escalationPolicies: PdEscalationPolicy[] = opts.escalationPolicies ?? [
    {
      id: ESCALATION_POLICY.id,
      name: ESCALATION_POLICY.summary,
      levels: users.slice(0, 2).map((u) => ({ userIds: [u.id], scheduleId: 'PDMPSCH' })),
    },
  ];
  const schedules: PdSchedule[] = opts.schedules ?? [{ id: 'PDMPSCH', name: 'DMP primary' }];
  const responderRequests: PdResponderRequest[] = [];
  // Each user a responder request paged, as the incident lists them (`incidents_responders`).
  const responders = new Map<
    string,
    Array<{ user: PdUser; requester: PdUser; message: string; requested_at: string; state: 'pending' }>
  >();
  const servicePolicies: Record<string, string> = { ...(opts.servicePolicies ?? {}) };
  const policyOf = (serviceId: string): Reference => {
    const id = servicePolicies[serviceId];
    const p = escalationPolicies.find((e) => e.id === id) ?? escalationPolicies[0];
    return p ? { id: p.id, summary: p.name } : ESCALATION_POLICY;
  };
  const incidents = new Map<string, PdIncident>();
  const requests: PdRequest[] = [];
  const deliveries: WebhookDelivery[] = [];
  const statusUpdates = new Map<string, PdStatusUpdate[]>();
  const requestListeners = new Set<(r: PdRequest) => void>();
  const changeListeners = new Set<(e: WebhookEnvelope) => void>();
  let nextNumber = 1;
  let noteSeq = 0;
  // Deliveries go out one after another, in the order the changes happened, after the REST answer.
  let deliveryChain: Promise<void> = Promise.resolve();

  const owner = (): PdUser => {
    const first = users[0];
    if (!first) throw new Error('pagerduty fake has no users');
    return first;
  };
  const userRef = (u: PdUser): Reference => ({ id: u.id, summary: u.name });
  const ref = (kind: ReferenceKind, r: Reference): Record<string, unknown> => reference(kind, r, subdomain);

  // --- shapes on the wire

  const priorityJson = (p: PdPriority): Record<string, unknown> => ({
    id: p.id,
    type: 'priority',
    summary: p.name,
    name: p.name,
    description: `${p.name} incident`,
    self: `https://api.pagerduty.com/priorities/${p.id}`,
    html_url: null,
  });

  const userJson = (u: PdUser): Record<string, unknown> => ({
    ...ref('user', userRef(u)),
    type: 'user',
    name: u.name,
    email: u.email,
    time_zone: u.time_zone ?? 'Etc/UTC',
    role: 'user',
    teams: [],
  });

  const serviceJson = (s: PdService): Record<string, unknown> => ({
    ...ref('service', { id: s.id, summary: s.name }),
    type: 'service',
    name: s.name,
    status: 'active',
    escalation_policy: ref('escalation_policy', policyOf(s.id)),
  });

  const policyJson = (p: PdEscalationPolicy): Record<string, unknown> => ({
    ...ref('escalation_policy', { id: p.id, summary: p.name }),
    type: 'escalation_policy',
    name: p.name,
    num_loops: 0,
    escalation_rules: p.levels.map((l, n) => ({
      id: `${p.id}R${n + 1}`,
      escalation_delay_in_minutes: 30,
      targets: l.scheduleId
        ? [
            ref('schedule', {
              id: l.scheduleId,
              summary: schedules.find((x) => x.id === l.scheduleId)?.name ?? l.scheduleId,
            }),
          ]
        : l.userIds.map((id) => ref('user', { id, summary: users.find((u) => u.id === id)?.name ?? id })),
    })),
    services: services
      .filter((sv) => policyOf(sv.id).id === p.id)
      .map((sv) => ref('service', { id: sv.id, summary: sv.name })),
    teams: [],
  });

  const restIncident = (inc: PdIncident): Record<string, unknown> => ({
    id: inc.id,
    type: 'incident',
    summary: `[#${inc.incident_number}] ${inc.title}`,
    self: `https://api.pagerduty.com/incidents/${inc.id}`,
    html_url: `https://${subdomain}.pagerduty.com/incidents/${inc.id}`,
    incident_number: inc.incident_number,
    title: inc.title,
    description: inc.title,
    created_at: inc.created_at,
    updated_at: inc.updated_at,
    status: inc.status,
    incident_key: inc.incident_key,
    service: ref('service', { id: inc.service.id, summary: inc.service.name }),
    assignments: inc.assignees.map((u) => ({ at: inc.updated_at, assignee: ref('user', userRef(u)) })),
    acknowledgements: inc.acknowledgers.map((u) => ({
      at: inc.last_status_change_at,
      acknowledger: ref('user', userRef(u)),
    })),
    last_status_change_at: inc.last_status_change_at,
    last_status_change_by: ref('user', inc.last_status_change_by),
    escalation_policy: ref('escalation_policy', policyOf(inc.service.id)),
    incidents_responders: (responders.get(inc.id) ?? []).map((r) => ({
      state: r.state,
      user: ref('user', userRef(r.user)),
      incident: ref('incident', { id: inc.id, summary: inc.title }),
      updated_at: r.requested_at,
      message: r.message,
      requester: ref('user', userRef(r.requester)),
      requested_at: r.requested_at,
    })),
    teams: [],
    urgency: inc.urgency,
    priority: inc.priority ? priorityJson(inc.priority) : null,
    resolve_reason: null,
    alert_counts: { all: 1, triggered: inc.status === 'resolved' ? 0 : 1, resolved: inc.status === 'resolved' ? 1 : 0 },
    is_mergeable: true,
    incident_type: { name: 'incident_default' },
    pending_actions: [],
    ...(inc.details === undefined ? {} : { body: { type: 'incident_body', details: inc.details } }),
  });

  const webhookIncident = (inc: PdIncident): WebhookIncident => ({
    id: inc.id,
    number: inc.incident_number,
    title: inc.title,
    status: inc.status,
    urgency: inc.urgency,
    priority: inc.priority ? { id: inc.priority.id, summary: inc.priority.name } : null,
    service: { id: inc.service.id, summary: inc.service.name },
    html_url: `https://${subdomain}.pagerduty.com/incidents/${inc.id}`,
    assignees: inc.assignees.map(userRef),
    incident_key: inc.incident_key,
    created_at: inc.created_at,
    escalation_policy: policyOf(inc.service.id),
  });

  const noteJson = (note: PdNote): Record<string, unknown> => ({
    id: note.id,
    user: ref('user', note.user),
    channel: { summary: 'The PagerDuty website or APIs' },
    content: note.content,
    created_at: note.created_at,
  });

  // --- state changes, each announced as the webhook PagerDuty would send

  const announce = (
    type: IncidentEventType,
    inc: PdIncident,
    agent: PdUser,
    note?: PdNote,
    statusUpdate?: PdStatusUpdate,
    data?: Record<string, unknown>,
  ): void => {
    const event = incidentEvent(type, webhookIncident(inc), {
      agent: userRef(agent),
      subdomain,
      ...(data ? { data } : {}),
      ...(note ? { note: { id: note.id, content: note.content } } : {}),
      ...(statusUpdate ? { statusUpdate: { id: statusUpdate.id, message: statusUpdate.message } } : {}),
    });
    for (const listener of changeListeners) listener(event);
    const target = fake.webhookTarget;
    if (!target) return;
    const delivery: WebhookDelivery = { event };
    deliveries.push(delivery);
    deliveryChain = deliveryChain.then(async () => {
      try {
        const res = await deliverWebhook(target.url, event, target.secrets, {
          ...(target.subscriptionId ? { subscriptionId: target.subscriptionId } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        delivery.status = res.status;
        await res.arrayBuffer();
      } catch (err) {
        delivery.error = err instanceof Error ? err.message : String(err);
      }
    });
  };

  const userByEmail = (email: string): PdUser => {
    const known = users.find((u) => u.email.toLowerCase() === email.toLowerCase());
    if (known) return known;
    // As PagerDuty does: a From that is no user of the account is refused, nothing changes.
    throw invalidInput('Requester User Not Found');
  };

  const findPriority = (id: string): PdPriority => {
    const priority = PRIORITIES.find((p) => p.id === id);
    if (!priority) throw invalidInput('Priority not found');
    return priority;
  };

  const findUser = (id: string): PdUser => {
    const user = users.find((u) => u.id === id);
    if (!user) throw invalidInput(`User ${id} not found`);
    return user;
  };

  const addNote = (inc: PdIncident, content: string, by: PdUser): PdNote => {
    noteSeq += 1;
    const note: PdNote = {
      id: `PNOTE${String(noteSeq).padStart(3, '0')}`,
      user: userRef(by),
      content,
      created_at: iso(),
    };
    inc.notes.push(note);
    return note;
  };

  const applyChange = (inc: PdIncident, change: IncidentChange, by: PdUser): void => {
    if (change.status && change.status !== 'triggered' && inc.status === 'resolved')
      throw invalidInput('Incident Already Resolved');
    // Validate everything before changing anything, so a bad request leaves no trace.
    const priority = change.priorityId === undefined ? undefined : findPriority(change.priorityId);
    const assignees = change.assigneeIds?.map(findUser);
    if (change.escalationLevel !== undefined) {
      // PagerDuty escalates only to a level the incident's escalation policy has.
      const policy = escalationPolicies.find((p) => p.id === policyOf(inc.service.id).id);
      const levels = policy?.levels.length ?? 1;
      if (!Number.isInteger(change.escalationLevel) || change.escalationLevel < 1 || change.escalationLevel > levels)
        throw invalidInput(`Escalation level must be between 1 and ${levels}, the levels of the escalation policy`);
    }
    const events: Array<[IncidentEventType, PdNote?]> = [];
    const now = iso();

    if (change.title !== undefined) inc.title = change.title;
    if (change.urgency !== undefined) inc.urgency = change.urgency;
    if (priority && priority.id !== inc.priority?.id) {
      inc.priority = priority;
      events.push(['incident.priority_updated']);
    }
    if (assignees) {
      inc.assignees = assignees;
      // A reassigned incident must be acknowledged again by its new owner.
      if (inc.status === 'acknowledged') inc.status = 'triggered';
      inc.acknowledgers = [];
      events.push(['incident.reassigned']);
    }
    if (change.escalationLevel !== undefined && change.escalationLevel !== inc.escalation_level) {
      inc.escalation_level = change.escalationLevel;
      // The incident goes to whoever is on call at that level.
      const level = escalationPolicies.find((p) => p.id === policyOf(inc.service.id).id)?.levels[
        change.escalationLevel - 1
      ];
      const onLevel = (level?.userIds ?? []).map((id) => users.find((u) => u.id === id)).filter((u) => u !== undefined);
      if (!assignees && onLevel.length) inc.assignees = onLevel;
      if (inc.status === 'acknowledged') inc.status = 'triggered';
      inc.acknowledgers = [];
      events.push(['incident.escalated']);
    }
    if (change.status === 'acknowledged' && inc.status === 'triggered') {
      inc.status = 'acknowledged';
      inc.acknowledgers = [by];
      inc.last_status_change_at = now;
      inc.last_status_change_by = userRef(by);
      events.push(['incident.acknowledged']);
    }
    if (change.status === 'triggered' && inc.status !== 'triggered') {
      events.push([inc.status === 'resolved' ? 'incident.reopened' : 'incident.unacknowledged']);
      inc.status = 'triggered';
      inc.acknowledgers = [];
      if (inc.assignees.length === 0) inc.assignees = [owner()];
      inc.last_status_change_at = now;
      inc.last_status_change_by = userRef(by);
    }
    if (change.status === 'resolved') {
      inc.status = 'resolved';
      inc.assignees = [];
      inc.last_status_change_at = now;
      inc.last_status_change_by = userRef(by);
      events.push(['incident.resolved']);
      if (change.resolution)
        events.push(['incident.annotated', addNote(inc, `Resolution Note: ${change.resolution}`, by)]);
    }
    inc.updated_at = now;
    for (const [type, note] of events) announce(type, inc, by, note);
  };

  /** A status update is kept on the incident and announced, whoever posted it (API or web UI). */
  const publishStatusUpdate = (inc: PdIncident, message: string, by: PdUser, subject?: string): PdStatusUpdate => {
    const update: PdStatusUpdate = {
      id: newObjectId('PSU'),
      message,
      ...(subject !== undefined ? { subject } : {}),
      sender: userRef(by),
      created_at: new Date().toISOString(),
    };
    statusUpdates.set(inc.id, [...(statusUpdates.get(inc.id) ?? []), update]);
    announce('incident.status_update_published', inc, by, undefined, update);
    return update;
  };

  const createIncident = (seed: SeedIncident, by: PdUser): PdIncident => {
    const service = services.find((s) => s.id === (seed.serviceId ?? services[0]?.id));
    if (!service) throw invalidInput('Service not found');
    const priority = seed.priority
      ? PRIORITIES.find((p) => p.name === seed.priority || p.id === seed.priority)
      : undefined;
    if (seed.priority && !priority) throw invalidInput('Priority not found');
    const key = seed.incident_key ?? newObjectId('K').toLowerCase() + Date.now().toString(16);
    const open = [...incidents.values()].find(
      (i) => i.incident_key === key && i.service.id === service.id && i.status !== 'resolved',
    );
    if (open) throw invalidInput('Open incident with matching dedup key already exists on this service');
    const created = seed.created_at ?? iso();
    const inc: PdIncident = {
      id: seed.id ?? newObjectId('Q', 13),
      incident_number: nextNumber++,
      title: seed.title,
      status: seed.status ?? 'triggered',
      urgency: seed.urgency ?? 'high',
      service,
      priority: priority ?? null,
      assignees: (seed.assigneeIds ?? [owner().id]).map(findUser),
      acknowledgers: seed.status === 'acknowledged' ? [by] : [],
      escalation_level: 1,
      incident_key: key,
      ...(seed.details === undefined ? {} : { details: seed.details }),
      created_at: created,
      updated_at: created,
      last_status_change_at: created,
      last_status_change_by: { id: service.id, summary: service.name },
      notes: [],
    };
    incidents.set(inc.id, inc);
    return inc;
  };

  // --- REST routes

  const requireFrom = (req: PdRequest): PdUser => {
    const from = req.headers.from;
    if (!from) throw missingFrom();
    if (!/^[^@\s]+@[^@\s]+$/.test(from))
      throw new PdError(400, { error: { message: 'Malformed "From" header', code: 1028 } });
    return userByEmail(from);
  };

  const getIncident = (id: string): PdIncident => {
    const inc = incidents.get(id);
    if (!inc) throw notFound();
    return inc;
  };

  const objectField = (body: unknown, key: string): Record<string, unknown> => {
    const value = body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw invalidInput(`${key} must be an object`);
    return value as Record<string, unknown>;
  };

  const changeFromBody = (body: Record<string, unknown>): IncidentChange => {
    if (body.type !== 'incident_reference' && body.type !== 'incident')
      throw invalidInput('Incident type must be incident_reference');
    const change: IncidentChange = {};
    if (body.status !== undefined) {
      if (body.status !== 'acknowledged' && body.status !== 'resolved')
        throw invalidInput('Status must be acknowledged or resolved');
      change.status = body.status;
    }
    const priority = body.priority as { id?: unknown } | null | undefined;
    if (priority && typeof priority.id === 'string') change.priorityId = priority.id;
    if (Array.isArray(body.assignments)) {
      change.assigneeIds = body.assignments.map((a: { assignee?: { id?: unknown } }) => {
        if (typeof a?.assignee?.id !== 'string') throw invalidInput('Assignment must have an assignee with an id');
        return a.assignee.id;
      });
    }
    if (typeof body.escalation_level === 'number') change.escalationLevel = body.escalation_level;
    if (typeof body.resolution === 'string') change.resolution = body.resolution;
    if (typeof body.title === 'string') change.title = body.title;
    if (body.urgency === 'high' || body.urgency === 'low') change.urgency = body.urgency;
    return change;
  };

  const page = (key: string, items: unknown[], query: URLSearchParams): Record<string, unknown> => {
    const limit = Number(query.get('limit') ?? 25);
    const offset = Number(query.get('offset') ?? 0);
    return {
      [key]: items.slice(offset, offset + limit),
      limit,
      offset,
      more: offset + limit < items.length,
      total: null,
    };
  };

  type Route = (req: PdRequest, params: string[]) => [number, unknown];
  const routes: Array<[string, RegExp, Route]> = [
    [
      'GET',
      /^\/incidents$/,
      (req) => {
        const statuses = req.query.getAll('statuses[]');
        // PagerDuty filters the list by de-duplication key when asked (incident_key).
        const key = req.query.get('incident_key');
        const list = [...incidents.values()].filter(
          (i) => (statuses.length === 0 || statuses.includes(i.status)) && (key === null || i.incident_key === key),
        );
        return [200, page('incidents', list.map(restIncident), req.query)];
      },
    ],
    ['GET', /^\/incidents\/(\w+)$/, (_req, [id]) => [200, { incident: restIncident(getIncident(id ?? '')) }]],
    [
      'PUT',
      /^\/incidents\/(\w+)$/,
      (req, [id]) => {
        const by = requireFrom(req);
        const inc = getIncident(id ?? '');
        applyChange(inc, changeFromBody(objectField(req.body, 'incident')), by);
        return [200, { incident: restIncident(inc) }];
      },
    ],
    [
      'PUT',
      /^\/incidents$/,
      (req) => {
        const by = requireFrom(req);
        const list = (req.body as { incidents?: unknown } | undefined)?.incidents;
        if (!Array.isArray(list)) throw invalidInput('incidents must be an array');
        const planned = list.map((item: Record<string, unknown>) => ({
          inc: getIncident(String(item?.id)),
          change: changeFromBody(item),
        }));
        for (const { inc, change } of planned) applyChange(inc, change, by);
        return [200, { incidents: planned.map(({ inc }) => restIncident(inc)) }];
      },
    ],
    [
      'POST',
      /^\/incidents$/,
      (req) => {
        const by = requireFrom(req);
        const body = objectField(req.body, 'incident');
        if (body.type !== 'incident') throw invalidInput('Incident type must be incident');
        if (typeof body.title !== 'string' || body.title.trim() === '') throw invalidInput('Title cannot be empty');
        const service = body.service as { id?: unknown } | undefined;
        if (typeof service?.id !== 'string') throw invalidInput('Service must be a service_reference');
        const priority = body.priority as { id?: unknown } | undefined;
        const details = (body.body as { details?: unknown } | undefined)?.details;
        const inc = createIncident(
          {
            title: body.title,
            serviceId: service.id,
            ...(body.urgency === 'low' || body.urgency === 'high' ? { urgency: body.urgency } : {}),
            ...(typeof priority?.id === 'string' ? { priority: priority.id } : {}),
            ...(typeof body.incident_key === 'string' ? { incident_key: body.incident_key } : {}),
            ...(typeof details === 'string' ? { details } : {}),
          },
          by,
        );
        announce('incident.triggered', inc, by);
        return [201, { incident: restIncident(inc) }];
      },
    ],
    ['GET', /^\/incidents\/(\w+)\/notes$/, (_req, [id]) => [200, { notes: getIncident(id ?? '').notes.map(noteJson) }]],
    [
      'POST',
      /^\/incidents\/(\w+)\/notes$/,
      (req, [id]) => {
        const by = requireFrom(req);
        const inc = getIncident(id ?? '');
        const content = objectField(req.body, 'note').content;
        if (typeof content !== 'string' || content === '') throw invalidInput('Note content cannot be empty');
        const note = addNote(inc, content, by);
        announce('incident.annotated', inc, by, note);
        return [201, { note: noteJson(note) }];
      },
    ],
    [
      'POST',
      /^\/incidents\/(\w+)\/status_updates$/,
      (req, [id]) => {
        // PagerDuty's status update: a message (and, for email, a subject) from a user, From: required.
        const by = requireFrom(req);
        const inc = getIncident(id ?? '');
        const body = (req.body ?? {}) as { message?: unknown; subject?: unknown };
        if (typeof body.message !== 'string' || body.message.trim() === '')
          throw invalidInput('Message cannot be empty');
        const update = publishStatusUpdate(
          inc,
          body.message,
          by,
          typeof body.subject === 'string' ? body.subject : undefined,
        );
        return [200, { status_update: update }];
      },
    ],
    [
      'POST',
      /^\/incidents\/(\w+)\/responder_requests$/,
      (req, [id]) => {
        // A responder request: From and requester_id a user of the account, a message, and
        // targets that are its users or escalation policies; each is paged (state pending).
        const by = requireFrom(req);
        const inc = getIncident(id ?? '');
        const body = (req.body ?? {}) as {
          requester_id?: unknown;
          message?: unknown;
          responder_request_targets?: Array<{ responder_request_target?: { id?: unknown; type?: unknown } }>;
        };
        if (inc.status === 'resolved') throw invalidInput('Incident Already Resolved');
        const requester = users.find((u) => u.id === body.requester_id);
        if (!requester) throw invalidInput('Requester must be a user of this account');
        if (typeof body.message !== 'string' || body.message.trim() === '')
          throw invalidInput('Message cannot be empty');
        const targets = body.responder_request_targets;
        if (!Array.isArray(targets) || targets.length === 0)
          throw invalidInput('Responder request targets cannot be empty');
        const out = targets.map((t) => {
          const target = t?.responder_request_target;
          const tid = String(target?.id ?? '');
          if (target?.type === 'user_reference') {
            const u = users.find((x) => x.id === tid);
            if (!u) throw invalidInput(`User ${tid} not found`);
            return { type: 'user' as const, id: u.id, summary: u.name, users: [u] };
          }
          if (target?.type === 'escalation_policy_reference') {
            const p = escalationPolicies.find((x) => x.id === tid);
            if (!p) throw invalidInput(`Escalation policy ${tid} not found`);
            const first = (p.levels[0]?.userIds ?? [])
              .map((uid) => users.find((u) => u.id === uid))
              .filter((u): u is PdUser => !!u);
            return { type: 'escalation_policy' as const, id: p.id, summary: p.name, users: first };
          }
          throw invalidInput('Target type must be user_reference or escalation_policy_reference');
        });
        const requested_at = iso();
        responderRequests.push({
          incidentId: inc.id,
          from: by.email,
          requesterId: requester.id,
          message: body.message,
          targets: out.map((t) => ({ type: t.type, id: t.id })),
        });
        const message = body.message;
        // PagerDuty tells the webhook of each responder added (an incident_responder, pending).
        for (const t of out)
          for (const u of t.users)
            announce('incident.responder.added', inc, by, undefined, undefined, {
              type: 'incident_responder',
              incident: ref('incident', { id: inc.id, summary: inc.title }),
              user: ref('user', userRef(u)),
              escalation_policy:
                t.type === 'escalation_policy' ? ref('escalation_policy', { id: t.id, summary: t.summary }) : null,
              message,
              state: 'pending',
            });
        responders.set(inc.id, [
          ...(responders.get(inc.id) ?? []),
          ...out.flatMap((t) =>
            t.users.map((u) => ({ user: u, requester, message, requested_at, state: 'pending' as const })),
          ),
        ]);
        return [
          200,
          {
            responder_request: {
              incident: ref('incident', { id: inc.id, summary: inc.title }),
              requester: ref('user', userRef(requester)),
              requested_at,
              message: body.message,
              responder_request_targets: out.map((t) => ({
                responder_request_target: {
                  ...ref(t.type === 'user' ? 'user' : 'escalation_policy', { id: t.id, summary: t.summary }),
                  incidents_responders: t.users.map((u) => ({
                    state: 'pending',
                    user: ref('user', userRef(u)),
                    incident: ref('incident', { id: inc.id, summary: inc.title }),
                    updated_at: requested_at,
                    message: body.message,
                    requester: ref('user', userRef(requester)),
                    requested_at,
                  })),
                },
              })),
            },
          },
        ];
      },
    ],
    [
      'POST',
      /^\/incidents\/(\w+)\/snooze$/,
      (req, [id]) => {
        requireFrom(req);
        const inc = getIncident(id ?? '');
        const duration = (req.body as { duration?: unknown } | undefined)?.duration;
        if (typeof duration !== 'number' || duration <= 0)
          throw invalidInput('Duration must be a positive number of seconds');
        if (inc.status !== 'acknowledged') throw invalidInput('Incident must be acknowledged to be snoozed');
        return [201, { incident: restIncident(inc) }];
      },
    ],
    ['GET', /^\/services$/, (req) => [200, page('services', services.map(serviceJson), req.query)]],
    [
      'GET',
      /^\/services\/(\w+)$/,
      (_req, [id]) => {
        const service = services.find((s) => s.id === id);
        if (!service) throw notFound();
        return [200, { service: serviceJson(service) }];
      },
    ],
    ['GET', /^\/priorities$/, (req) => [200, page('priorities', PRIORITIES.map(priorityJson), req.query)]],
    ['GET', /^\/users\/me$/, () => [200, { user: userJson(owner()) }]],
    [
      'GET',
      /^\/users$/,
      (req) => {
        const q = (req.query.get('query') ?? '').toLowerCase();
        const list = users.filter((u) => u.email.toLowerCase().includes(q) || u.name.toLowerCase().includes(q));
        return [200, page('users', list.map(userJson), req.query)];
      },
    ],
    [
      'GET',
      /^\/users\/(\w+)$/,
      (_req, [id]) => {
        const user = users.find((u) => u.id === id);
        if (!user) throw notFound();
        return [200, { user: userJson(user) }];
      },
    ],
    [
      'GET',
      /^\/escalation_policies$/,
      (req) => {
        const q = (req.query.get('query') ?? '').toLowerCase();
        const list = escalationPolicies.filter((p) => p.name.toLowerCase().includes(q));
        return [200, page('escalation_policies', list.map(policyJson), req.query)];
      },
    ],
    [
      'GET',
      /^\/escalation_policies\/(\w+)$/,
      (_req, [id]) => {
        const p = escalationPolicies.find((e) => e.id === id);
        if (!p) throw notFound();
        return [200, { escalation_policy: policyJson(p) }];
      },
    ],
    [
      'GET',
      /^\/schedules$/,
      (req) => {
        const q = (req.query.get('query') ?? '').toLowerCase();
        const list = schedules.filter((x) => x.name.toLowerCase().includes(q));
        return [
          200,
          page(
            'schedules',
            list.map((x) => ({
              ...ref('schedule', { id: x.id, summary: x.name }),
              type: 'schedule',
              name: x.name,
              time_zone: 'Etc/UTC',
            })),
            req.query,
          ),
        ];
      },
    ],
    [
      'GET',
      /^\/oncalls$/,
      (req) => {
        // Like PagerDuty, users are references unless the caller asks for include[]=users; the
        // list is filtered by escalation_policy_ids[], schedule_ids[] and user_ids[].
        const full = req.query.getAll('include[]').includes('users');
        const byPolicy = req.query.getAll('escalation_policy_ids[]');
        const bySchedule = req.query.getAll('schedule_ids[]');
        const byUser = req.query.getAll('user_ids[]');
        const start = new Date(Date.now() - 3_600_000).toISOString();
        const week = new Date(Date.now() + 7 * 86_400_000).toISOString();
        const oncalls = escalationPolicies
          .filter((p) => byPolicy.length === 0 || byPolicy.includes(p.id))
          .flatMap((p) =>
            p.levels.flatMap((l, n) =>
              l.userIds
                .map((id) => users.find((u) => u.id === id))
                .filter((u): u is PdUser => u !== undefined)
                .filter((u) => byUser.length === 0 || byUser.includes(u.id))
                .filter(
                  () => bySchedule.length === 0 || (l.scheduleId !== undefined && bySchedule.includes(l.scheduleId)),
                )
                .map((u) => {
                  const schedule = l.scheduleId ? schedules.find((x) => x.id === l.scheduleId) : undefined;
                  return {
                    escalation_policy: ref('escalation_policy', { id: p.id, summary: p.name }),
                    escalation_level: n + 1,
                    schedule: schedule ? ref('schedule', { id: schedule.id, summary: schedule.name }) : null,
                    user: full ? userJson(u) : ref('user', userRef(u)),
                    // A user on a level directly (no schedule) is on call for good: PagerDuty says null.
                    start: schedule ? start : null,
                    end: schedule ? (l.until ?? week) : null,
                  };
                }),
            ),
          );
        return [200, page('oncalls', oncalls, req.query)];
      },
    ],
  ];

  const authorized = (headers: Record<string, string>): boolean => {
    const token = /^(?:Token token=|Bearer\s+)(.+)$/.exec(headers.authorization ?? '')?.[1];
    return token !== undefined && (opts.token === undefined || token === opts.token);
  };

  const rateLimited: PdRequest[] = [];
  let limit = { resetSec: 0, remaining: 0 };

  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer): void => {
    const { path, query } = splitUrl(req);
    const record: PdRequest = {
      method: req.method ?? 'GET',
      path,
      query,
      headers: headerRecord(req),
      body: parseJson(raw),
      at: Date.now(),
    };
    if (limit.remaining > 0) {
      limit.remaining -= 1;
      rateLimited.push(record);
      json(
        res,
        429,
        { error: { message: 'Rate Limit Exceeded', code: 2020 } },
        { 'ratelimit-limit': '960', 'ratelimit-remaining': '0', 'ratelimit-reset': String(limit.resetSec) },
      );
      return;
    }
    requests.push(record);
    for (const listener of requestListeners) listener(record);
    if (!authorized(record.headers)) {
      json(res, 401, { error: { message: 'Unauthorized', code: 2006 } });
      return;
    }
    if (raw.length > 0 && record.body === undefined) {
      json(res, 400, {
        error: { message: 'Invalid Input Provided', code: 2001, errors: ['Request body is not valid JSON'] },
      });
      return;
    }
    for (const [method, pattern, route] of routes) {
      const match = pattern.exec(path);
      if (!match || method !== record.method) continue;
      try {
        const [status, body] = route(record, match.slice(1));
        json(res, status, body);
      } catch (err) {
        if (!(err instanceof PdError)) throw err;
        json(res, err.status, err.body);
      }
      return;
    }
    json(res, 404, notFound().body);
  };

  const http = await startHttpServer(handle, opts.port === undefined ? {} : { port: opts.port });

  const fake: PagerDutyFake = {
    url: http.url,
    http,
    requests,
    incidents,
    services,
    priorities: PRIORITIES,
    users,
    escalationPolicies,
    schedules,
    servicePolicies,
    responderRequests,
    deliveries,
    statusUpdates,
    webhookTarget: undefined,
    seedIncident: (seed) => createIncident(seed, owner()),
    async triggerIncident(seed) {
      const inc = createIncident(seed, owner());
      announce('incident.triggered', inc, owner());
      await fake.settled();
      return inc;
    },
    async act(incidentId, change, byEmail) {
      const inc = getIncident(incidentId);
      applyChange(inc, change, byEmail ? userByEmail(byEmail) : owner());
      await fake.settled();
      return inc;
    },
    async publishStatusUpdate(incidentId, message, byEmail) {
      const update = publishStatusUpdate(getIncident(incidentId), message, byEmail ? userByEmail(byEmail) : owner());
      await fake.settled();
      return update;
    },
    onRequest(listener) {
      requestListeners.add(listener);
      return () => requestListeners.delete(listener);
    },
    onChange(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },
    settled: () => deliveryChain,
    setFault: (kind, faultOpts) => http.setFault(kind, faultOpts),
    rateLimit(resetSec, times = 1) {
      limit = { resetSec, remaining: times };
    },
    rateLimited,
    down: () => http.down(),
    up: () => http.up(),
    reset() {
      incidents.clear();
      responders.clear();
      requests.length = 0;
      rateLimited.length = 0;
      limit = { resetSec: 0, remaining: 0 };
      deliveries.length = 0;
      nextNumber = 1;
      http.setFault('none');
    },
    async close() {
      await deliveryChain;
      await http.close();
    },
  };
  return fake;
}
