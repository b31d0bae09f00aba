// What the public reads: a status page name, the messages of each phase and the components
// affected, per runbook procedure. The public name is never the internal alert title (that
// names hosts and thresholds); the procedure's template stands in, e.g. "Delays processing scans".
import type { PlatformComponent } from '../config.js';

export const SP_INCIDENT_STATUSES = ['investigating', 'identified', 'monitoring', 'resolved'] as const;
export type SpIncidentStatus = (typeof SP_INCIDENT_STATUSES)[number];

/** Statuspage's component statuses, worst last. */
export const SP_COMPONENT_STATUSES = ['operational', 'degraded_performance', 'partial_outage', 'major_outage'] as const;
export type SpComponentStatus = (typeof SP_COMPONENT_STATUSES)[number];

export const SP_COMPONENT_LABEL: Record<SpComponentStatus, string> = {
  operational: 'Not affected',
  degraded_performance: 'Degraded performance',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
};

export const COMPONENT_LABEL: Record<PlatformComponent, string> = {
  api: 'API',
  workers: 'Scan workers',
  database: 'Database',
  cache: 'Cache',
  queue: 'Scan queue',
  storage: 'Storage',
};

export type UpdatePhase = 'investigating' | 'mitigated' | 'resolved';

export interface PublicTemplate {
  name: string;
  /** The components it affects, with their impact. */
  components: Partial<Record<PlatformComponent, SpComponentStatus>>;
  investigating: string;
  monitoring: string;
  resolved: string;
}

const TEMPLATES: Record<string, PublicTemplate> = {
  'scans-stuck': {
    name: 'Delays processing scans',
    components: { workers: 'degraded_performance', queue: 'degraded_performance' },
    investigating: 'New scans are waiting longer than usual to be processed. We are investigating.',
    monitoring: 'A fix has been applied and scans are being processed again. We are monitoring the backlog.',
    resolved: 'Scans are processed normally again. Scans that were delayed have completed or can be re-run.',
  },
  'db-slow': {
    name: 'Slow responses across the platform',
    components: { database: 'degraded_performance', api: 'degraded_performance' },
    investigating: 'Pages and API requests are slower than usual. We are investigating.',
    monitoring: 'A fix has been applied and response times are recovering. We are monitoring.',
    resolved: 'Response times are back to normal.',
  },
  'db-locks': {
    name: 'Slow responses across the platform',
    components: { database: 'degraded_performance' },
    investigating: 'Some requests are slow or timing out. We are investigating.',
    monitoring: 'A fix has been applied and requests complete again. We are monitoring.',
    resolved: 'Requests complete normally again.',
  },
  'db-connections': {
    name: 'Errors loading data',
    components: { database: 'partial_outage', api: 'degraded_performance' },
    investigating: 'Some requests fail with errors. We are investigating.',
    monitoring: 'A fix has been applied and errors have stopped. We are monitoring.',
    resolved: 'Requests succeed normally again.',
  },
  'auth-failures': {
    name: 'Problems signing in',
    components: { api: 'partial_outage' },
    investigating: 'Some users cannot sign in or see authentication errors. We are investigating.',
    monitoring: 'A fix has been applied and sign-in works again. We are monitoring.',
    resolved: 'Signing in works normally again. If you are still signed out, please sign in again.',
  },
  'graph-timeout': {
    name: 'Dependency graphs slow to load',
    components: { api: 'degraded_performance', cache: 'degraded_performance' },
    investigating: 'Dependency graphs take long to load or time out. We are investigating.',
    monitoring: 'A fix has been applied and graphs load again. We are monitoring.',
    resolved: 'Dependency graphs load normally again.',
  },
  webhooks: {
    name: 'Delays receiving repository updates',
    components: { api: 'degraded_performance' },
    investigating: 'Repository push events are not being picked up promptly. We are investigating.',
    monitoring: 'A fix has been applied and repository updates are received again. We are monitoring.',
    resolved: 'Repository updates are received normally again. Missed pushes can be re-scanned.',
  },
};

const GENERAL: PublicTemplate = {
  name: 'Service disruption',
  components: { api: 'degraded_performance' },
  investigating: 'Some parts of the platform are not working as expected. We are investigating.',
  monitoring: 'A fix has been applied. We are monitoring the results.',
  resolved: 'This incident has been resolved.',
};

export function publicTemplate(procedureId: string | undefined): PublicTemplate {
  return (procedureId && TEMPLATES[procedureId]) || GENERAL;
}

/** The pre-filled message of a stakeholder update, by procedure and phase. */
export function updateTemplate(procedureId: string | undefined, phase: UpdatePhase): string {
  const t = publicTemplate(procedureId);
  if (phase === 'resolved') return t.resolved;
  if (phase === 'mitigated') return t.monitoring;
  return t.investigating;
}
