// Builds and delivers PagerDuty v3 webhooks the way PagerDuty does: the `{event: {...}}`
// envelope, the `X-PagerDuty-Signature` header (one `v1=` HMAC per active secret, so secret
// rotation can be tested) and the delivery headers. Shapes follow fixtures/pagerduty.

import { createHmac, randomBytes, randomUUID } from 'node:crypto';

/** `v1=<hex hmac>` for each secret, comma-separated, as in `X-PagerDuty-Signature`. */
export function signPagerDuty(rawBody: string, secrets: string[]): string {
  return secrets.map((secret) => `v1=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`).join(',');
}

export type IncidentEventType =
  | 'incident.triggered'
  | 'incident.acknowledged'
  | 'incident.unacknowledged'
  | 'incident.resolved'
  | 'incident.reassigned'
  | 'incident.escalated'
  | 'incident.priority_updated'
  | 'incident.annotated'
  | 'incident.reopened'
  | 'incident.delegated'
  | 'incident.responder.added'
  | 'incident.status_update_published';

export type IncidentStatus = 'triggered' | 'acknowledged' | 'resolved';
export type Urgency = 'high' | 'low';

export interface Reference {
  id: string;
  summary?: string;
}

/** An incident as the webhook builders need it; everything PagerDuty adds is filled in. */
export interface WebhookIncident {
  id: string;
  number?: number;
  title: string;
  status: IncidentStatus;
  urgency: Urgency;
  priority?: { id?: string; summary: string } | null;
  service: { id: string; summary: string };
  html_url?: string;
  assignees?: Reference[];
  incident_key?: string;
  created_at?: string;
  escalation_policy?: Reference;
}

export interface WebhookEnvelope {
  event: {
    id: string;
    event_type: string;
    resource_type: string;
    occurred_at: string;
    agent: Record<string, unknown> | null;
    client: Record<string, unknown> | null;
    data: Record<string, unknown>;
  };
}

export interface IncidentEventOptions {
  eventId?: string;
  occurredAt?: string | Date;
  /** Who did it; defaults to a PagerDuty user. `null` for events made by PagerDuty itself. */
  agent?: Reference | null;
  /** For `incident.annotated`: the note. */
  note?: { id?: string; content: string };
  /** For `incident.status_update_published`: the status update. */
  statusUpdate?: { id?: string; message: string };
  /** Replaces the generated `data` entirely. */
  data?: Record<string, unknown>;
  /** The account subdomain used in html_url links. */
  subdomain?: string;
}

const API = 'https://api.pagerduty.com';
const ALPHANUM = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

function randomChars(n: number): string {
  const bytes = randomBytes(n);
  let out = '';
  for (const byte of bytes) out += ALPHANUM[byte % ALPHANUM.length];
  return out;
}

/** An event id shaped like PagerDuty's (26 upper-case characters, ULID-like). */
export function newEventId(): string {
  return `01${randomChars(24)}`;
}

/** An object id shaped like PagerDuty's (`P` + 6 characters; incidents use `Q` + 13). */
export function newObjectId(prefix = 'P', length = 6): string {
  return `${prefix}${randomChars(length)}`;
}

/** The `{html_url, id, self, summary, type}` reference PagerDuty embeds everywhere. */
export type ReferenceKind = 'user' | 'service' | 'escalation_policy' | 'incident' | 'team' | 'priority' | 'schedule';

export function reference(kind: ReferenceKind, ref: Reference, subdomain = 'dmp'): Record<string, unknown> {
  const plural = kind === 'escalation_policy' ? 'escalation_policies' : kind === 'priority' ? 'priorities' : `${kind}s`;
  const htmlUrl =
    kind === 'priority'
      ? `https://${subdomain}.pagerduty.com/account/incident_priorities`
      : `https://${subdomain}.pagerduty.com/${plural}/${ref.id}`;
  return {
    html_url: htmlUrl,
    id: ref.id,
    self: `${API}/${plural}/${ref.id}`,
    summary: ref.summary ?? ref.id,
    type: `${kind}_reference`,
  };
}

/** The incident object carried in v3 incident events (note: `number`, not `incident_number`). */
export function webhookIncidentData(incident: WebhookIncident, subdomain = 'dmp'): Record<string, unknown> {
  return {
    id: incident.id,
    type: 'incident',
    self: `${API}/incidents/${incident.id}`,
    html_url: incident.html_url ?? `https://${subdomain}.pagerduty.com/incidents/${incident.id}`,
    number: incident.number ?? 1,
    status: incident.status,
    incident_key: incident.incident_key ?? randomBytes(16).toString('hex'),
    created_at: incident.created_at ?? new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    title: incident.title,
    service: reference('service', incident.service, subdomain),
    assignees: (incident.assignees ?? []).map((a) => reference('user', a, subdomain)),
    escalation_policy: reference(
      'escalation_policy',
      incident.escalation_policy ?? { id: 'PDMPEP1', summary: 'DMP on-call' },
      subdomain,
    ),
    teams: [],
    priority: incident.priority
      ? reference(
          'priority',
          { id: incident.priority.id ?? `PPRI${incident.priority.summary}`, summary: incident.priority.summary },
          subdomain,
        )
      : null,
    urgency: incident.urgency,
    conference_bridge: null,
    resolve_reason: null,
    incident_type: { name: 'incident_default' },
  };
}

/** The incident a note or status update belongs to, as PagerDuty names it inside their `data`. */
function incidentReference(incident: WebhookIncident, subdomain: string): Record<string, unknown> {
  return {
    ...reference('incident', { id: incident.id, summary: incident.title }, subdomain),
    html_url: incident.html_url ?? `https://${subdomain}.pagerduty.com/incidents/${incident.id}`,
  };
}

function noteData(
  incident: WebhookIncident,
  note: { id?: string; content: string },
  subdomain: string,
): Record<string, unknown> {
  return {
    incident: incidentReference(incident, subdomain),
    id: note.id ?? newObjectId(),
    content: note.content,
    trimmed: false,
    type: 'incident_note',
  };
}

/**
 * `data` of `incident.status_update_published`: an `incident_status_update` (PagerDuty's v3
 * webhook docs, "Event Data Types"): the incident's reference, the update's id and message.
 */
function statusUpdateData(
  incident: WebhookIncident,
  update: { id?: string; message: string },
  subdomain: string,
): Record<string, unknown> {
  return {
    incident: incidentReference(incident, subdomain),
    id: update.id ?? newObjectId(),
    message: update.message,
    trimmed: false,
    type: 'incident_status_update',
  };
}

const DEFAULT_AGENT: Reference = { id: 'PDMPUSR1', summary: 'Dana On-Call' };

/** A v3 webhook envelope for an incident event. */
export function incidentEvent(
  eventType: IncidentEventType | string,
  incident: WebhookIncident,
  opts: IncidentEventOptions = {},
): WebhookEnvelope {
  const subdomain = opts.subdomain ?? 'dmp';
  const occurred = opts.occurredAt ?? new Date();
  const data =
    opts.data ??
    (eventType === 'incident.annotated'
      ? noteData(incident, opts.note ?? { content: '' }, subdomain)
      : eventType === 'incident.status_update_published'
        ? statusUpdateData(incident, opts.statusUpdate ?? { message: '' }, subdomain)
        : webhookIncidentData(incident, subdomain));
  const agent = opts.agent === undefined ? DEFAULT_AGENT : opts.agent;
  return {
    event: {
      id: opts.eventId ?? newEventId(),
      event_type: eventType,
      resource_type: 'incident',
      occurred_at: typeof occurred === 'string' ? occurred : occurred.toISOString(),
      agent: agent === null ? null : reference('user', agent, subdomain),
      client: null,
      data,
    },
  };
}

/** The `pagey.ping` event PagerDuty sends when a subscription is tested. */
export function pingEvent(opts: { eventId?: string; agentId?: string } = {}): WebhookEnvelope {
  return {
    event: {
      id: opts.eventId ?? newEventId(),
      event_type: 'pagey.ping',
      resource_type: 'pagey',
      occurred_at: new Date().toISOString(),
      agent: { id: opts.agentId ?? DEFAULT_AGENT.id, type: 'user_reference' },
      client: null,
      data: { message: 'Hello from your friend Pagey!', type: 'ping' },
    },
  };
}

export interface DeliverOptions {
  /** X-Webhook-Id; a fresh one per delivery unless given (redeliveries reuse the event id, not this). */
  webhookId?: string;
  /** X-Webhook-Subscription: the subscription's id. */
  subscriptionId?: string;
  /** Sends exactly these bytes instead of JSON.stringify(event), e.g. a corpus file. */
  rawBody?: string;
  fetch?: typeof fetch;
  signal?: AbortSignal;
}

/** POSTs a signed webhook to `url` as PagerDuty would, and returns the receiver's Response. */
export function deliverWebhook(
  url: string,
  event: WebhookEnvelope | Record<string, unknown>,
  secrets: string[],
  opts: DeliverOptions = {},
): Promise<Response> {
  const body = opts.rawBody ?? JSON.stringify(event);
  const doFetch = opts.fetch ?? fetch;
  return doFetch(url, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/json',
      'User-Agent': 'PagerDuty-Webhook/V3.0',
      'X-PagerDuty-Signature': signPagerDuty(body, secrets),
      'X-Webhook-Id': opts.webhookId ?? randomUUID(),
      'X-Webhook-Subscription': opts.subscriptionId ?? 'PDMPSUB',
    },
    body,
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
}
