// Picks the runbook diagnosis that fits an incident from its title, then its service: the
// runbook's "Common Issues" each have words an alert or a customer report would use.
import { PROCEDURES } from '../runbooks/index.js';
import type { Procedure } from '../runbooks/types.js';

const RULES: Array<[string, RegExp]> = [
  ['webhooks', /web-?hooks?/i],
  ['auth-failures', /\bauth|\b401\b|log[- ]?in|sign[- ]?in|\bjwt\b|oauth|token/i],
  ['graph-timeout', /graph|\b504\b|gateway time/i],
  ['scans-stuck', /scans?\b.*(stuck|pending)|stuck|\bqueue|worker/i],
  ['db-replication', /replica(tion)?\b.*lag|replication/i],
  ['db-locks', /\blocks?\b|deadlock|blocked quer/i],
  ['db-connections', /connection(s| pool)? (exhausted|limit|refused)|too many connections/i],
  ['db-slow', /database|\bdb\b|postgres|\bcpu\b|slow|quer(y|ies)|\bsql\b/i],
];

/** Diagnoses offered in an incident: the procedures with checks, not the reference tables. */
export function diagnosisProcedures(): Procedure[] {
  return PROCEDURES.filter((p) => p.group !== 'Reference' && p.checks.length > 0);
}

/** The id of the fitting procedure that exists in the registry; `health` when nothing fits. */
export function matchProcedure(title: string, service: string | undefined): string {
  const available = new Set(diagnosisProcedures().map((p) => p.id));
  for (const text of [title, service ?? '']) {
    for (const [id, pattern] of RULES) if (available.has(id) && pattern.test(text)) return id;
  }
  if (available.has('health')) return 'health';
  return diagnosisProcedures()[0]?.id ?? 'health';
}

/** Database and security incidents bring their specialists in from the start. */
export function specialistRoles(title: string, service: string | undefined): Array<'dba' | 'security'> {
  const text = `${title} ${service ?? ''}`;
  const roles: Array<'dba' | 'security'> = [];
  if (/database|\bdb\b|postgres|\bsql\b|replica(tion)?\b|deadlock|\blocks?\b/i.test(text)) roles.push('dba');
  if (
    /security|breach|vulnerab|intrusion|leak(ed)?\b|exploit|malware|credential|\bcve\b|unauthori[sz]ed access/i.test(
      text,
    )
  )
    roles.push('security');
  return roles;
}
