// The incident workflow's vocabulary: an incident as the bot records it, who did what, and the
// posts the workflow asks for. No Slack types: blocks/ renders these, handlers send them.
import type { Severity } from '../config.js';
import type { RichText } from '../domain/text.js';

export type { Severity };

/** PagerDuty's own three states. */
export type PdStatus = 'triggered' | 'acknowledged' | 'resolved';

/** What people see: PagerDuty's state, plus "mitigated", which only the bot knows. */
export type Phase = 'triggered' | 'acknowledged' | 'mitigated' | 'resolved';

/** Who did something: a Slack user, a PagerDuty user, or the bot itself. */
export interface Actor {
  source: 'slack' | 'pagerduty' | 'bot';
  /** Slack user id (`U…`) when the act came from Slack or the PagerDuty user is known in Slack. */
  slackId?: string;
  /** PagerDuty user id. */
  pdId?: string;
  name?: string;
}

export interface PdRef {
  id: string;
  summary: string;
}

export interface Incident {
  id: string;
  number?: number;
  title: string;
  description?: string;
  serviceId?: string;
  serviceName?: string;
  priority?: string;
  urgency?: string;
  severity: Severity;
  pdStatus: PdStatus;
  statusAt: Date;
  snapshotAt: Date;
  htmlUrl?: string;
  assignees: PdRef[];
  escalationLevel: number;
  procedureId?: string;
  /** PagerDuty's created_at: durations (time to acknowledge, to resolve) count from here. */
  triggeredAt: Date;
  /** When the bot first heard of it: response-target timers count from here. */
  receivedAt: Date;
  acknowledgedAt?: Date;
  acknowledgedBy?: Actor;
  mitigatedAt?: Date;
  mitigatedBy?: Actor;
  resolvedAt?: Date;
  resolvedBy?: Actor;
  declaredBy?: string;
  channel?: string;
  /** Its one top-level post: its own root message, or (coalesced in a storm) its digest's. */
  rootTs?: string;
  /** Set when a storm coalesced it into a digest (storm.ts): the digest is its top-level post. */
  digestId?: number;
  /** Who leads the incident (Take command, `/dmp incident lead`); nobody until claimed. */
  commander?: Actor;
  /** Who talks to stakeholders (`/dmp incident comms`). */
  comms?: Actor;
  updatedAt: Date;
}

export function phaseOf(i: Pick<Incident, 'pdStatus' | 'mitigatedAt'>): Phase {
  if (i.pdStatus === 'resolved') return 'resolved';
  if (i.mitigatedAt) return 'mitigated';
  return i.pdStatus;
}

export const PHASE_LABEL: Record<Phase, string> = {
  triggered: 'Triggered',
  acknowledged: 'Acknowledged',
  mitigated: 'Mitigated',
  resolved: 'Resolved',
};

export type TimelineKind =
  | 'triggered'
  | 'declared'
  | 'acknowledged'
  | 'unacknowledged'
  | 'escalated'
  | 'reassigned'
  | 'priority'
  | 'note'
  | 'pinned'
  | 'status_update'
  | 'mitigated'
  | 'resolved'
  | 'reopened'
  | 'diagnosis'
  | 'remediation'
  | 'button'
  | 'reminder'
  | 'escalation_contact'
  | 'postmortem'
  | 'pagerduty'
  | 'coalesced'
  | 'verification'
  | 'status_page'
  | 'role'
  | 'event';

export interface TimelineEntry {
  id: number;
  incidentId: string;
  at: Date;
  kind: TimelineKind;
  actor?: Actor;
  text: string;
  source: 'pagerduty' | 'slack' | 'bot';
  /** The facts the text was written from, when the entry kept them (documents are built from these). */
  detail?: TimelineDetail;
}

/** A role taken or handed over: which, to whom, from whom, by whom. */
export type TimelineDetail = { kind: 'role'; role: Role; to: Actor; from?: Actor; by: Actor };

/** A contact to bring into a thread: a role from ESCALATION_CONTACTS, or the PagerDuty on-call. */
export interface Mention {
  /** Slack user (`U…`/`W…`) or user group (`S…`) id. */
  slackId?: string;
  name: string;
}

/**
 * What the workflow asks Slack to show, stored in the outbox and rendered when sent, so a post
 * always shows the incident as it stands at that moment.
 */
export type PostIntent =
  | { type: 'root' }
  | { type: 'update_root' }
  /** `contacts`: only in rows queued before `bringing_in` existed (they still render). */
  | { type: 'investigating'; description: string; contacts?: Array<{ role: string; mention: Mention }> }
  /**
   * The specialists called in, a reply of its own (one thing per reply). `forDigest`: a storm's
   * thread, whose specialists are worked out from the digest's members when it is sent.
   */
  | { type: 'bringing_in'; contacts?: Array<{ role: string; mention: Mention }>; forDigest?: boolean }
  | { type: 'diagnosis'; procedureId: string; actor?: Actor }
  /** `detail` as RichText; a string is PagerDuty's own words, or (queued before RichText) mrkdwn with `<@U…>` mentions. */
  | { type: 'change'; change: ChangeKind; actor?: Actor; afterMs?: number; detail?: string | RichText }
  | { type: 'note'; actor?: Actor; content: string }
  | { type: 'ack_reminder'; targetMs: number; onCall: Mention[] }
  | { type: 'lead_escalation'; afterMs: number; contacts: Array<{ role: string; mention: Mention }> }
  | { type: 'postmortem' }
  | { type: 'postmortem_updated'; actor: Actor }
  | { type: 'postmortem_reminder'; dueAt: string; overdue: boolean }
  /** Post-mortem action items filed as GitHub issues (issue 13). */
  | {
      type: 'followups_filed';
      /** owner and addedBy: Slack user ids; dueOn `YYYY-MM-DD` (follow-ups added from the thread). */
      issues: Array<{ title: string; url: string; number: number; owner?: string; dueOn?: string; addedBy?: string }>;
    }
  /** A string is plain text, or (queued before RichText) mrkdwn with `<@U…>` mentions. */
  | { type: 'warning'; text: string | RichText }
  /** Opens a storm digest's thread: how many incidents it lists, and the specialists they call for. */
  | { type: 'storm_opened'; members?: number; contacts?: Array<{ role: string; mention: Mention }> }
  | StatusIntent
  | RoleIntent;

export type Role = 'commander' | 'comms';

/** The posts of incident roles: a role taken or handed over, a DM to a person, the commander nudge. */
export type RoleIntent =
  | { type: 'role'; role: Role; to: Actor; by: Actor; previous?: Actor }
  | { type: 'role_dm'; to: string; text: RichText }
  | { type: 'commander_nudge'; afterMs: number; onCall: Mention[] };

/** How a check's status moved between two diagnoses of an incident. */
export interface CheckChange {
  check: string;
  before: string;
  after: string;
}

/**
 * The posts of the status page, stakeholder updates and verification (issue 11). `verification`
 * is queued and runs the diagnosis when its turn comes; `verified` is what it then posts.
 */
export type StatusIntent =
  | { type: 'verification'; trigger: 'remediation' | 'mitigated'; label?: string; actor?: Actor }
  | {
      type: 'verified';
      trigger: 'remediation' | 'mitigated';
      label?: string;
      procedureTitle: string;
      changes: CheckChange[];
      /** Checks still not ok after it, with their summary. */
      wrong: Array<{ check: string; status: string; summary: string }>;
      critical: boolean;
    }
  | { type: 'status_page'; event: 'opened' | 'updated'; status: string; name: string; shortlink?: string; body: string }
  | { type: 'stakeholder_update'; actor?: Actor; message: string; reached: string[] }
  | { type: 'update_reminder'; cadenceMs: number; sinceMs: number; who?: Mention };

export type ChangeKind =
  | 'acknowledged'
  | 'unacknowledged'
  | 'resolved'
  | 'reopened'
  | 'mitigated'
  | 'escalated'
  | 'reassigned'
  | 'delegated'
  | 'priority'
  | 'responder'
  | 'status_update';
