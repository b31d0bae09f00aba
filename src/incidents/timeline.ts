// The incident's record: every PagerDuty event, button press, diagnosis, remediation, status
// update and pinned message, with its time and actor. The post-mortem's timeline is read here.
import type { Q } from './store.js';
import type { Actor, TimelineDetail, TimelineEntry, TimelineKind } from './types.js';

export interface NewEntry {
  at: Date;
  kind: TimelineKind;
  actor?: Actor;
  text: string;
  source: TimelineEntry['source'];
  /** Set for entries that must be recorded once, e.g. `triggered:<incident>`. */
  dedupeKey?: string;
  detail?: TimelineDetail;
}

export async function addTimeline(q: Q, incidentId: string, e: NewEntry): Promise<void> {
  await q.query(
    `INSERT INTO incident_timeline (incident_id, at, kind, actor, text, source, dedupe_key, detail)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (dedupe_key) DO NOTHING`,
    [
      incidentId,
      e.at,
      e.kind,
      e.actor ? JSON.stringify(e.actor) : null,
      e.text.slice(0, 4000),
      e.source,
      e.dedupeKey ?? null,
      e.detail ? JSON.stringify(e.detail) : null,
    ],
  );
}

export async function timelineOf(q: Q, incidentId: string): Promise<TimelineEntry[]> {
  const rows = await q.query<{
    id: string;
    incident_id: string;
    at: Date | string;
    kind: TimelineKind;
    actor: Actor | null;
    text: string;
    source: TimelineEntry['source'];
    detail: TimelineDetail | null;
  }>(
    'SELECT id, incident_id, at, kind, actor, text, source, detail FROM incident_timeline WHERE incident_id = $1 ORDER BY at, id',
    [incidentId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    incidentId: r.incident_id,
    at: r.at instanceof Date ? r.at : new Date(r.at),
    kind: r.kind,
    actor: r.actor ?? undefined,
    text: r.text,
    source: r.source,
    ...(r.detail ? { detail: r.detail } : {}),
  }));
}
