// The runbook registry's vocabulary: procedures made of checks that return findings, and
// remedies they suggest. No Slack types here: blocks/ renders these, handlers send them.
import type { RichText } from '../domain/text.js';
import type { Targets } from '../targets/index.js';

export type Status = 'ok' | 'warn' | 'critical' | 'unknown';

export interface Finding {
  /** The check's title, e.g. "Queue depth". */
  check: string;
  status: Status;
  /** One line a tired engineer reads at a glance: plain text, or text with mentions and links that blocks/ renders. */
  summary: string | RichText;
  /** Further lines (IDs, queries, log lines), cut to Slack's limits when rendered. */
  details?: string[];
  /** Full text too long for a message (a query plan, logs): uploaded as a file. */
  attachment?: { title: string; text: string };
  /** Structured facts that advise() reads to pick the next step. */
  facts?: Record<string, number | string | boolean | string[]>;
}

export type Risk = 'low' | 'medium' | 'high';

export interface RemedySpec {
  /** Stable id shared with the remediations registry, e.g. `restart-deployment`. */
  id: string;
  title: string;
  risk: Risk;
  /** Where the runbook prescribes it. */
  section: string;
}

/** A suggested next step: a remedy with its parameters, rendered as a button. */
export interface NextStep {
  remedy: string;
  label: string;
  reason: string;
  params: Record<string, string | number>;
}

export interface CheckContext {
  targets: Targets;
  args: string[];
  signal: AbortSignal;
  now: Date;
}

export interface Check {
  id: string;
  title: string;
  run(ctx: CheckContext): Promise<Finding | Finding[]>;
}

export type ProcedureGroup = 'Health' | 'Diagnosis' | 'Reference';

export interface Procedure {
  id: string;
  /** Command words after `/dmp`, e.g. ['scans', 'stuck']. */
  words: string[];
  /** Arguments after the words, for help: `[scan-id]`. */
  usage?: string;
  title: string;
  /** The runbook section it implements, e.g. "Common Issues › Scans Stuck in Pending". */
  section: string;
  group: ProcedureGroup;
  summary: string;
  /** Grafana dashboard path from the runbook's table, e.g. `/grafana/d/queue`. */
  dashboard?: string;
  /** Its report may hold what a channel should not read (log lines): answered to the asker alone. */
  private?: boolean;
  /** Throws UserError with a sentence when the arguments are wrong. */
  /** Refuses bad arguments before any check runs; `apps` are the platform's own (DMP_DEPLOYMENTS). */
  validateArgs?(args: string[], apps: readonly string[]): void;
  checks: Check[];
  remedies: RemedySpec[];
  /** Picks the fitting next steps from the findings. */
  advise?(findings: Finding[], args: string[]): NextStep[];
  /** The runbook's resolutions no API can carry out (regenerate a secret, add read replicas): shown when something is wrong. */
  guidance?: string[];
}

export interface Report {
  procedure: Pick<Procedure, 'id' | 'title' | 'section' | 'dashboard' | 'words' | 'guidance'> & {
    group?: ProcedureGroup;
  };
  verdict: Status;
  findings: Finding[];
  nextSteps: NextStep[];
  durationMs: number;
}

const RANK: Record<Status, number> = { ok: 0, unknown: 1, warn: 2, critical: 3 };

export function worst(statuses: Status[]): Status {
  return statuses.reduce<Status>((acc, s) => (RANK[s] > RANK[acc] ? s : acc), 'ok');
}

/** Finds the facts a check recorded, for advise(). */
export function factsOf(findings: Finding[], check: string): Finding['facts'] {
  return findings.find((f) => f.check === check)?.facts;
}
