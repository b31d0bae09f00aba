// Who acts on an incident from Slack, and what Slack does once PagerDuty has taken the act:
// types only, shared by the act (actions.ts) and the call that carries it (pd-outbox.ts).
import type { Severity } from '../config.js';

export interface SlackUser {
  slackId: string;
  name?: string;
  /** From Slack's users.info, checked to be a PagerDuty user's before any PagerDuty act. */
  email?: string;
  /** Their PagerDuty user id, once found by that email (a responder request names its requester). */
  pdId?: string;
}

/**
 * What Slack does once PagerDuty has accepted a person's act (kept with the queued call, run by
 * applyAccepted in pd-calls.ts): Slack's state changes only after PagerDuty's.
 */
export type SlackAct =
  | { act: 'acknowledge' }
  | { act: 'resolve' }
  | { act: 'mitigate' }
  | { act: 'escalate'; level: number }
  | { act: 'severity'; severity: Severity }
  | { act: 'reassign'; to: SlackUser }
  | { act: 'pin'; text: string; messageKey: string };
