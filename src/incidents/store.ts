// Reads and writes incident rows in the bot store. Every change to an incident happens in a
// transaction that first locks its row, so two replicas never interleave on one incident.
import type { Severity } from '../config.js';
import type { Sql } from '../store/sql.js';
import type { Actor, Incident, PdRef, PdStatus } from './types.js';

export type Q = Pick<Sql, 'query'>;

interface IncidentRow {
  id: string;
  number: number | null;
  title: string;
  description: string | null;
  service_id: string | null;
  service_name: string | null;
  priority: string | null;
  urgency: string | null;
  severity: Severity;
  pd_status: PdStatus;
  status_at: Date | string;
  snapshot_at: Date | string;
  html_url: string | null;
  assignees: PdRef[] | null;
  escalation_level: number;
  procedure_id: string | null;
  triggered_at: Date | string;
  received_at: Date | string;
  acknowledged_at: Date | string | null;
  acknowledged_by: Actor | null;
  mitigated_at: Date | string | null;
  mitigated_by: Actor | null;
  resolved_at: Date | string | null;
  resolved_by: Actor | null;
  declared_by: string | null;
  channel: string | null;
  root_ts: string | null;
  digest_id: string | number | null;
  commander?: Actor | null;
  comms?: Actor | null;
  updated_at: Date | string;
}

const date = (v: Date | string): Date => (v instanceof Date ? v : new Date(v));
const maybeDate = (v: Date | string | null): Date | undefined => (v === null ? undefined : date(v));
const opt = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

function fromRow(r: IncidentRow): Incident {
  return {
    id: r.id,
    number: opt(r.number),
    title: r.title,
    description: opt(r.description),
    serviceId: opt(r.service_id),
    serviceName: opt(r.service_name),
    priority: opt(r.priority),
    urgency: opt(r.urgency),
    severity: r.severity,
    pdStatus: r.pd_status,
    statusAt: date(r.status_at),
    snapshotAt: date(r.snapshot_at),
    htmlUrl: opt(r.html_url),
    assignees: r.assignees ?? [],
    escalationLevel: r.escalation_level,
    procedureId: opt(r.procedure_id),
    triggeredAt: date(r.triggered_at),
    receivedAt: date(r.received_at),
    acknowledgedAt: maybeDate(r.acknowledged_at),
    acknowledgedBy: opt(r.acknowledged_by),
    mitigatedAt: maybeDate(r.mitigated_at),
    mitigatedBy: opt(r.mitigated_by),
    resolvedAt: maybeDate(r.resolved_at),
    resolvedBy: opt(r.resolved_by),
    declaredBy: opt(r.declared_by),
    channel: opt(r.channel),
    rootTs: opt(r.root_ts),
    ...(r.digest_id === null || r.digest_id === undefined ? {} : { digestId: Number(r.digest_id) }),
    ...(r.commander ? { commander: r.commander } : {}),
    ...(r.comms ? { comms: r.comms } : {}),
    updatedAt: date(r.updated_at),
  };
}

export async function getIncident(q: Q, id: string, lock = false): Promise<Incident | undefined> {
  const rows = await q.query<IncidentRow>(`SELECT * FROM incidents WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

/**
 * The incident whose thread (or root message) this is. A storm digest's thread belongs to all
 * the incidents it lists: there `hint` (the message's text) must name one by its PagerDuty id or
 * `#number`, else the answer is none rather than a guess.
 */
export async function incidentByThread(
  q: Q,
  channel: string,
  ts: string,
  hint?: string,
): Promise<Incident | undefined> {
  const rows = await q.query<IncidentRow>(
    'SELECT * FROM incidents WHERE channel = $1 AND root_ts = $2 ORDER BY received_at, id',
    [channel, ts],
  );
  if (rows.length <= 1) return rows[0] ? fromRow(rows[0]) : undefined;
  if (!hint) return undefined;
  const named = rows.filter(
    (r) => hint.includes(r.id) || (r.number !== null && new RegExp(`#${r.number}\\b`).test(hint)),
  );
  return named.length === 1 && named[0] ? fromRow(named[0]) : undefined;
}

/** The incidents a storm digest lists, in the order they arrived. */
export async function incidentsInDigest(q: Q, digestId: number): Promise<Incident[]> {
  const rows = await q.query<IncidentRow>('SELECT * FROM incidents WHERE digest_id = $1 ORDER BY received_at, id', [
    digestId,
  ]);
  return rows.map(fromRow);
}

/** By PagerDuty id, or by incident number (`37`, `#37`). */
export async function findIncident(q: Q, ref: string): Promise<Incident | undefined> {
  const text = ref.trim().replace(/^#/, '');
  const byId = await getIncident(q, text);
  if (byId) return byId;
  if (/^\d{1,9}$/.test(text)) {
    const rows = await q.query<IncidentRow>(
      'SELECT * FROM incidents WHERE number = $1 ORDER BY triggered_at DESC LIMIT 1',
      [Number(text)],
    );
    if (rows[0]) return fromRow(rows[0]);
  }
  const rows = await q.query<IncidentRow>('SELECT * FROM incidents WHERE upper(id) = upper($1)', [text]);
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function openIncidents(q: Q): Promise<Incident[]> {
  const rows = await q.query<IncidentRow>(
    `SELECT * FROM incidents WHERE pd_status <> 'resolved' ORDER BY severity, triggered_at`,
  );
  return rows.map(fromRow);
}

export async function latestIncident(q: Q): Promise<Incident | undefined> {
  const rows = await q.query<IncidentRow>(
    `SELECT * FROM incidents ORDER BY (pd_status <> 'resolved') DESC, received_at DESC LIMIT 1`,
  );
  return rows[0] ? fromRow(rows[0]) : undefined;
}

export async function countOpen(q: Q): Promise<number> {
  const rows = await q.query<{ n: number }>(`SELECT count(*)::int AS n FROM incidents WHERE pd_status <> 'resolved'`);
  return rows[0]?.n ?? 0;
}

const json = (v: unknown) => (v ? JSON.stringify(v) : null);

/**
 * The one list of the columns an Incident is written to: each with its value, and whether it is
 * set once when the row is created (`created`) or written back by every save too.
 */
const COLUMNS: ReadonlyArray<{ column: string; value: (i: Incident) => unknown; created?: true }> = [
  { column: 'id', value: (i) => i.id, created: true },
  { column: 'number', value: (i) => i.number ?? null },
  { column: 'title', value: (i) => i.title },
  { column: 'description', value: (i) => i.description ?? null },
  { column: 'service_id', value: (i) => i.serviceId ?? null },
  { column: 'service_name', value: (i) => i.serviceName ?? null },
  { column: 'priority', value: (i) => i.priority ?? null },
  { column: 'urgency', value: (i) => i.urgency ?? null },
  { column: 'severity', value: (i) => i.severity },
  { column: 'pd_status', value: (i) => i.pdStatus },
  { column: 'status_at', value: (i) => i.statusAt },
  { column: 'snapshot_at', value: (i) => i.snapshotAt },
  { column: 'html_url', value: (i) => i.htmlUrl ?? null },
  { column: 'assignees', value: (i) => JSON.stringify(i.assignees) },
  { column: 'escalation_level', value: (i) => i.escalationLevel },
  { column: 'procedure_id', value: (i) => i.procedureId ?? null, created: true },
  { column: 'triggered_at', value: (i) => i.triggeredAt, created: true },
  { column: 'received_at', value: (i) => i.receivedAt, created: true },
  { column: 'acknowledged_at', value: (i) => i.acknowledgedAt ?? null },
  { column: 'acknowledged_by', value: (i) => json(i.acknowledgedBy) },
  { column: 'mitigated_at', value: (i) => i.mitigatedAt ?? null },
  { column: 'mitigated_by', value: (i) => json(i.mitigatedBy) },
  { column: 'resolved_at', value: (i) => i.resolvedAt ?? null },
  { column: 'resolved_by', value: (i) => json(i.resolvedBy) },
  { column: 'declared_by', value: (i) => i.declaredBy ?? null, created: true },
  { column: 'channel', value: (i) => i.channel ?? null, created: true },
  { column: 'updated_at', value: (i) => i.updatedAt },
];
const SAVED = COLUMNS.filter((c) => !c.created);
const INSERT_SQL = `INSERT INTO incidents (${COLUMNS.map((c) => c.column).join(', ')})
     VALUES (${COLUMNS.map((_, n) => `$${n + 1}`).join(',')})
     ON CONFLICT (id) DO NOTHING RETURNING id`;
const SAVE_SQL = `UPDATE incidents SET ${SAVED.map((c, n) => `${c.column} = $${n + 2}`).join(', ')} WHERE id = $1`;

/** Inserts a new incident; false when another event or replica created it first. */
export async function insertIncident(q: Q, i: Incident): Promise<boolean> {
  const rows = await q.query(
    INSERT_SQL,
    COLUMNS.map((c) => c.value(i)),
  );
  return rows.length === 1;
}

/** Writes back every field the workflow changes. */
export async function saveIncident(q: Q, i: Incident): Promise<void> {
  await q.query(SAVE_SQL, [i.id, ...SAVED.map((c) => c.value(i))]);
}

export async function setRootTs(q: Q, id: string, ts: string): Promise<void> {
  await q.query('UPDATE incidents SET root_ts = $2 WHERE id = $1 AND root_ts IS NULL', [id, ts]);
}

/** Sets who holds a role now (the history is in the timeline). */
export async function setRole(q: Q, id: string, role: 'commander' | 'comms', who: Actor, now: Date): Promise<void> {
  await q.query(
    `UPDATE incidents SET ${role === 'commander' ? 'commander' : 'comms'} = $2, updated_at = $3 WHERE id = $1`,
    [id, JSON.stringify(who), now],
  );
}
