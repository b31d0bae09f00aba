// PagerDuty's payloads at the edge, parsed once with zod: the v3 webhook envelope, the incident
// snapshot its events (and, converted, the REST API's answers) carry, and the acting agent.
// The webhook's signature check is beside it, in signature.ts.
import { z } from 'zod';
import type { Actor } from './types.js';

const ref = z.object({ id: z.string(), summary: z.string().optional() });

/** The incident object v3 events carry (and, converted, the REST API's). */
const snapshotSchema = z.object({
  id: z.string().min(1).max(64),
  type: z.literal('incident'),
  number: z.number().int().optional(),
  status: z.enum(['triggered', 'acknowledged', 'resolved']),
  title: z.string().transform((t) => t.slice(0, 1000)),
  html_url: z.string().optional(),
  created_at: z.string().optional(),
  service: ref.optional(),
  assignees: z.array(ref).optional(),
  priority: ref.nullable().optional(),
  urgency: z.string().optional(),
  incident_key: z.string().nullable().optional(),
});

export type Snapshot = z.infer<typeof snapshotSchema>;

const agentSchema = z.object({ id: z.string(), summary: z.string().optional(), type: z.string().optional() });

export function agentActor(agent: unknown): Actor | undefined {
  const parsed = agentSchema.safeParse(agent);
  if (!parsed.success) return undefined;
  const a = parsed.data;
  if (a.type && !a.type.startsWith('user')) return { source: 'pagerduty', name: a.summary ?? 'PagerDuty' };
  return { source: 'pagerduty', pdId: a.id, name: a.summary ?? a.id };
}

export function parseSnapshot(data: unknown): Snapshot | undefined {
  const parsed = snapshotSchema.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

/** The REST API's incident, in the shape webhooks carry. */
export function snapshotFromRest(rest: unknown): Snapshot | undefined {
  if (!rest || typeof rest !== 'object') return undefined;
  const r = rest as Record<string, unknown>;
  const assignments = Array.isArray(r.assignments) ? (r.assignments as Array<{ assignee?: unknown }>) : [];
  const priority = r.priority as { id?: string; summary?: string; name?: string } | null | undefined;
  return parseSnapshot({
    id: r.id,
    type: 'incident',
    number: r.incident_number,
    status: r.status,
    title: r.title,
    html_url: r.html_url,
    created_at: r.created_at,
    service: r.service,
    assignees: assignments.map((a) => a.assignee).filter(Boolean),
    priority: priority ? { id: priority.id, summary: priority.summary ?? priority.name } : null,
    urgency: r.urgency,
    incident_key: r.incident_key ?? null,
  });
}

export function incidentRefId(data: unknown): string | undefined {
  const inc = (data as { incident?: { id?: unknown } } | null)?.incident;
  return typeof inc?.id === 'string' ? inc.id : undefined;
}

/** A v3 webhook body (after its signature was checked): one event; throws when it is not one. */
const envelopeSchema = z.object({
  event: z.object({
    id: z.string().min(1).max(128),
    event_type: z.string().min(1).max(128),
    resource_type: z.string().max(64).optional(),
    occurred_at: z.string().max(64).optional(),
    agent: z.unknown().optional(),
    data: z.unknown().optional(),
  }),
});

export type WebhookEnvelope = z.infer<typeof envelopeSchema>;

export function parseWebhookEnvelope(body: Buffer): WebhookEnvelope {
  return envelopeSchema.parse(JSON.parse(body.toString('utf8')));
}

/** The incident an event is about, from its data (the incident itself, or a note naming it). */
export function incidentIdOf(data: unknown): string | undefined {
  const d = data as { type?: unknown; id?: unknown; incident?: { id?: unknown } } | null | undefined;
  if (d?.type === 'incident' && typeof d.id === 'string') return d.id.slice(0, 64);
  return typeof d?.incident?.id === 'string' ? d.incident.id.slice(0, 64) : undefined;
}
