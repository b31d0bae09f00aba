// The runbook's escalation contacts (ESCALATION_CONTACTS: role → Slack user or group id) as
// mentions a thread reply can carry.
import type { Mention } from './types.js';

export type ContactRole = 'engineering_lead' | 'dba' | 'security' | 'on_call';

export const ROLE_LABEL: Record<string, string> = {
  engineering_lead: 'Engineering lead',
  dba: 'Database admin',
  security: 'Security',
  on_call: 'On-call',
};

function mentionOf(value: string): Mention {
  const v = value.trim();
  // A user (U…, W…) or a user group (S…).
  if (/^[UWS][A-Z0-9]{2,}$/.test(v)) return { slackId: v, name: v };
  return { name: v };
}

export function contactFor(contacts: Record<string, string> | undefined, role: ContactRole): Mention | undefined {
  const value = contacts?.[role];
  return value ? mentionOf(value) : undefined;
}

export function contactsFor(
  contacts: Record<string, string> | undefined,
  roles: ContactRole[],
): Array<{ role: string; mention: Mention }> {
  const out: Array<{ role: string; mention: Mention }> = [];
  for (const role of roles) {
    const mention = contactFor(contacts, role);
    if (mention) out.push({ role, mention });
  }
  return out;
}
