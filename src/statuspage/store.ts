// The status page side of an incident, kept in the bot store: the Statuspage incident it opened
// (once Statuspage answered), and the outbox of calls to make, written in the same transaction
// as the act that calls for them (opening, mitigated, resolved, a stakeholder update).
import type { Config, PlatformComponent } from '../config.js';
import type { WorkflowCtx } from '../incidents/ctx.js';
import type { Q } from '../incidents/store.js';
import { addTimeline } from '../incidents/timeline.js';
import type { Actor, Incident } from '../incidents/types.js';
import { statuspageConfigured } from './client.js';
import { publicTemplate, type SpComponentStatus, type SpIncidentStatus } from './templates.js';

export interface StatusPageRow {
  incidentId: string;
  spIncidentId?: string;
  shortlink?: string;
  name: string;
  status: SpIncidentStatus;
  /** Statuspage component id → its status as last sent. */
  components: Record<string, SpComponentStatus>;
  openedAt: Date;
}

export type SpCallKind = 'create' | 'update';
export type SpCallReason = 'open' | 'correction' | 'mitigated' | 'resolved' | 'update';

export interface SpCallArgs {
  reason: SpCallReason;
  name?: string;
  status?: SpIncidentStatus;
  body: string;
  /** Statuspage component id → status. */
  components?: Record<string, SpComponentStatus>;
}

interface Row {
  incident_id: string;
  sp_incident_id: string | null;
  shortlink: string | null;
  name: string;
  status: SpIncidentStatus;
  components: Record<string, SpComponentStatus>;
  opened_at: Date | string;
}

export async function statusPageOf(q: Q, incidentId: string): Promise<StatusPageRow | undefined> {
  const [r] = await q.query<Row>('SELECT * FROM incident_status_pages WHERE incident_id = $1', [incidentId]);
  if (!r) return undefined;
  return {
    incidentId: r.incident_id,
    spIncidentId: r.sp_incident_id ?? undefined,
    shortlink: r.shortlink ?? undefined,
    name: r.name,
    status: r.status,
    components: r.components,
    openedAt: new Date(r.opened_at),
  };
}

export async function enqueueSpCall(
  q: Q,
  incidentId: string,
  kind: SpCallKind,
  args: SpCallArgs,
  now: Date,
  requestedBy?: Actor,
): Promise<void> {
  await q.query(
    `INSERT INTO statuspage_outbox (incident_id, kind, args, requested_by, created_at, not_before) VALUES ($1, $2, $3, $4, $5, $5)`,
    [incidentId, kind, JSON.stringify(args), requestedBy ? JSON.stringify(requestedBy) : null, now],
  );
}

/** The modal's pre-fill: the open status page as it stands, else the procedure's template. */
export function statusPageDraft(
  config: Config,
  i: Incident,
  open: StatusPageRow | undefined,
): {
  name: string;
  status: SpIncidentStatus;
  body: string;
  impact: Partial<Record<PlatformComponent, SpComponentStatus>>;
} {
  const t = publicTemplate(i.procedureId);
  if (open) {
    const impact: Partial<Record<PlatformComponent, SpComponentStatus>> = {};
    for (const [platform, spId] of Object.entries(config.STATUSPAGE_COMPONENTS)) {
      const s = open.components[spId as string];
      if (s) impact[platform as PlatformComponent] = s;
    }
    return { name: open.name, status: open.status, body: '', impact };
  }
  return { name: t.name, status: 'investigating', body: t.investigating, impact: t.components };
}

/** Submitting the modal: opens the incident's status page, or (once open) posts a correction. */
export async function submitStatusPage(
  q: Q,
  ctx: WorkflowCtx,
  i: Incident,
  input: {
    name: string;
    status: SpIncidentStatus;
    body: string;
    impact: Partial<Record<PlatformComponent, SpComponentStatus>>;
  },
  actor: Actor,
): Promise<'opened' | 'corrected'> {
  const now = ctx.now();
  const components: Record<string, SpComponentStatus> = {};
  for (const [platform, status] of Object.entries(input.impact)) {
    const spId = ctx.config.STATUSPAGE_COMPONENTS[platform as PlatformComponent];
    if (spId && status) components[spId] = status;
  }
  const open = await statusPageOf(q, i.id);
  if (!open) {
    await q.query(
      `INSERT INTO incident_status_pages (incident_id, name, status, components, opened_at, opened_by) VALUES ($1, $2, $3, $4, $5, $6)`,
      [i.id, input.name, input.status, JSON.stringify(components), now, JSON.stringify(actor)],
    );
    await enqueueSpCall(
      q,
      i.id,
      'create',
      { reason: 'open', name: input.name, status: input.status, body: input.body, components },
      now,
      actor,
    );
    await addTimeline(q, i.id, {
      at: now,
      kind: 'status_page',
      actor,
      text: `Status page: opening "${input.name}" (${input.status})`,
      source: 'slack',
    });
    return 'opened';
  }
  // Components left out of a correction go back to operational, so the page matches the form.
  const merged: Record<string, SpComponentStatus> = {};
  for (const id of Object.keys(open.components)) merged[id] = 'operational';
  Object.assign(merged, components);
  await enqueueSpCall(
    q,
    i.id,
    'update',
    { reason: 'correction', name: input.name, status: input.status, body: input.body, components: merged },
    now,
    actor,
  );
  await addTimeline(q, i.id, {
    at: now,
    kind: 'status_page',
    actor,
    text: `Status page: correction (${input.status})${input.body ? `: ${input.body}` : ''}`,
    source: 'slack',
  });
  return 'corrected';
}

/** Mitigated: the public page goes to `monitoring`. */
export async function statusPageOnMitigated(q: Q, ctx: WorkflowCtx, i: Incident, actor?: Actor): Promise<void> {
  if (!statuspageConfigured(ctx.config)) return;
  const open = await statusPageOf(q, i.id);
  if (!open || open.status === 'resolved') return;
  const body = publicTemplate(i.procedureId).monitoring;
  await enqueueSpCall(q, i.id, 'update', { reason: 'mitigated', status: 'monitoring', body }, ctx.now(), actor);
}

/** Resolved (in Slack or PagerDuty): the page goes to `resolved`, every component back to operational. */
export async function statusPageOnResolved(q: Q, ctx: WorkflowCtx, i: Incident): Promise<void> {
  if (!statuspageConfigured(ctx.config)) return;
  const open = await statusPageOf(q, i.id);
  if (!open || open.status === 'resolved') return;
  const components: Record<string, SpComponentStatus> = {};
  for (const id of Object.keys(open.components)) components[id] = 'operational';
  const body = publicTemplate(i.procedureId).resolved;
  await enqueueSpCall(
    q,
    i.id,
    'update',
    { reason: 'resolved', status: 'resolved', body, components },
    ctx.now(),
    i.resolvedBy,
  );
}

/** A stakeholder update reaches the open status page as an update in its current status. */
export async function statusPageOnUpdate(
  q: Q,
  ctx: WorkflowCtx,
  i: Incident,
  message: string,
  actor: Actor,
): Promise<boolean> {
  if (!statuspageConfigured(ctx.config)) return false;
  const open = await statusPageOf(q, i.id);
  if (!open || open.status === 'resolved') return false;
  await enqueueSpCall(q, i.id, 'update', { reason: 'update', status: open.status, body: message }, ctx.now(), actor);
  return true;
}

/** The status page incidents the bot opened, newest first (for `/dmp sandbox statuspage` and the console). */
export async function listStatusPages(q: Q, limit = 20): Promise<StatusPageRow[]> {
  const rows = await q.query<Row>('SELECT * FROM incident_status_pages ORDER BY opened_at DESC LIMIT $1', [limit]);
  return rows.map((r) => ({
    incidentId: r.incident_id,
    spIncidentId: r.sp_incident_id ?? undefined,
    shortlink: r.shortlink ?? undefined,
    name: r.name,
    status: r.status,
    components: r.components,
    openedAt: new Date(r.opened_at),
  }));
}
