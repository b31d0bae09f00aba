// Runbook: Escalation Contacts: who to call and when, with the Slack user or group each role
// maps to in ESCALATION_CONTACTS, as mentions. On-call is whoever PagerDuty pages.
import { group, type Inline, user } from '../domain/text.js';
import type { Check, Finding, Procedure } from './types.js';

export const ESCALATION_ROLES = [
  { role: 'On-call Engineer', key: undefined, runbookContact: 'PagerDuty', when: 'All incidents' },
  { role: 'Engineering Lead', key: 'engineering_lead', runbookContact: '@eng-lead', when: 'P1, P2 unresolved >1hr' },
  { role: 'Database Admin', key: 'dba', runbookContact: '@dba-team', when: 'Database issues' },
  { role: 'Security', key: 'security', runbookContact: '@security', when: 'Security incidents' },
] as const;

/** A user (U…, W…) or a user group (S…) to mention; undefined for anything else. */
function contactOf(id: string): Inline | undefined {
  const v = id.trim();
  if (/^[UW][A-Z0-9]{2,}$/.test(v)) return user(v);
  if (/^S[A-Z0-9]{2,}$/.test(v)) return group(v);
  return undefined;
}

const table: Check = {
  id: 'contacts',
  title: 'Escalation contacts',
  async run({ targets }): Promise<Finding[]> {
    const contacts = targets.config.ESCALATION_CONTACTS ?? {};
    return ESCALATION_ROLES.map((r): Finding => {
      if (!r.key) return { check: r.role, status: 'ok', summary: [`PagerDuty (whoever is on call) — ${r.when}`] };
      const id = contacts[r.key];
      const who = id ? contactOf(id) : undefined;
      if (who) return { check: r.role, status: 'ok', summary: [who, ` — ${r.when}`] };
      const why = id
        ? `"${id.slice(0, 30)}" in ESCALATION_CONTACTS.${r.key} is not a Slack user (U…) or group (S…) ID`
        : `not configured — set ESCALATION_CONTACTS.${r.key}`;
      return { check: r.role, status: 'unknown', summary: [`${r.runbookContact} (${why}) — ${r.when}`] };
    });
  },
};

export const contacts: Procedure = {
  id: 'contacts',
  words: ['contacts'],
  title: 'Escalation contacts',
  section: 'Escalation Contacts',
  group: 'Reference',
  summary: 'who to escalate to and when: on-call (PagerDuty), engineering lead, DBA, security',
  checks: [table],
  remedies: [],
};
