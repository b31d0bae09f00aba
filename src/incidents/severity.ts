// Severity from PagerDuty: the incident's priority when it has one, else its urgency, mapped to
// the runbook's P1–P4. INCIDENT_SEVERITY_MAP overrides or extends the mapping (keys are
// priority names or urgencies, case-insensitive), e.g. {"SEV-1":"P1","high":"P1"}.
import type { Severity } from '../config.js';

const DEFAULT_SEVERITY_MAP: Record<string, Severity> = {
  p1: 'P1',
  p2: 'P2',
  p3: 'P3',
  p4: 'P4',
  p5: 'P4',
  high: 'P2',
  low: 'P4',
};

export const SEVERITIES: Severity[] = ['P1', 'P2', 'P3', 'P4'];

export function severityMap(overrides: Record<string, Severity> | undefined): Record<string, Severity> {
  const map = { ...DEFAULT_SEVERITY_MAP };
  for (const [k, v] of Object.entries(overrides ?? {})) map[k.trim().toLowerCase()] = v;
  return map;
}

export function severityOf(
  priority: string | undefined | null,
  urgency: string | undefined | null,
  map: Record<string, Severity>,
): Severity {
  if (priority) {
    const byName = map[priority.trim().toLowerCase()];
    if (byName) return byName;
    // Accounts name priorities "SEV1", "Sev-2", "P3 - minor": the first digit is the level.
    const digit = /([1-5])/.exec(priority)?.[1];
    if (digit) return SEVERITIES[Math.min(Number(digit), 4) - 1] as Severity;
  }
  if (urgency) {
    const byUrgency = map[urgency.trim().toLowerCase()];
    if (byUrgency) return byUrgency;
  }
  return 'P3';
}

export function isSeverity(text: string): text is Severity {
  return (SEVERITIES as string[]).includes(text);
}
