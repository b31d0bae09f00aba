// The vocabulary of remediations: an action with typed parameters, a preview that states
// exactly what will change, and an execution that reports an outcome. No Slack types here:
// the safety layer (flow.ts) decides who may run what, blocks/ renders, handlers send.
import type { z } from 'zod';
import type { Config } from '../config.js';
import type { RichText, Text } from '../domain/text.js';
import type { Logger } from '../log.js';
import type { Risk } from '../runbooks/types.js';
import type { Targets } from '../targets/index.js';

export type Params = Record<string, unknown>;

export interface ActionContext {
  targets: Targets;
  config: Config;
  log: Logger;
  now(): Date;
  /** Posts a line in the action's thread: progress of long work (rollouts, maintenance). */
  progress(note: ProgressNote): Promise<void>;
}

/** How far long work has come; blocks/ shows each with its emoji. */
export type ProgressStatus =
  | 'started'
  | 'running'
  | 'done'
  | 'failed'
  | 'not_started'
  | 'restarted'
  | 'rolled_back'
  | 'resumed';

/** One line of progress: a status and a sentence of values (blocks/ renders and escapes it). */
export interface ProgressNote {
  status: ProgressStatus;
  text: RichText;
}

export interface Preview {
  /** The one line that says what will change: "replicas 3 → 8" (values: blocks/ renders them). */
  summary: Text;
  /** Further lines: the pids and their queries, the revisions, the keys. */
  details?: Text[];
  /** Set when there is nothing to do; shown instead of the Confirm button. */
  nothingToDo?: Text;
  /** Items the operator may pick from (checkboxes): value and label. */
  choices?: Array<{ value: string; label: string }>;
  /** Values fixed by the preview that the execution must use (the revision shown, the pids listed). */
  pinned?: Params;
}

export interface Outcome {
  ok: boolean;
  /** One line: "scan-workers scaled 3 → 8": values, or a plain string (and those of rows stored before). */
  summary: Text;
  /** Further lines: values (RichText), or plain strings (and those of rows stored before). */
  details?: Text[];
}

export interface Remediation<P extends Params> {
  id: string;
  title: string;
  /** The runbook section it carries out. */
  section: string;
  risk: Risk;
  /** Validates parameters from a button, a command or a modal; pinned values included. */
  schema: z.ZodType<P>;
  /** What HIGH_RISK_ACTIONS may name: the id and finer keys such as `rollback-deployment:api`. */
  riskKeys(p: P): string[];
  /** A short name for headers: "Scale scan-workers". */
  label(p: P): string;
  preview(ctx: ActionContext, p: P): Promise<Preview>;
  execute(ctx: ActionContext, p: P): Promise<Outcome>;
  /** Applies the operator's pick (checkbox values) to the parameters. */
  select?(p: P, values: string[]): P;
}

/** A remediation with its parameter type erased, for the registry. */
export interface AnyRemediation {
  id: string;
  title: string;
  section: string;
  risk: Risk;
  parse(raw: unknown): Params;
  riskKeys(p: Params): string[];
  label(p: Params): string;
  preview(ctx: ActionContext, p: Params): Promise<Preview>;
  execute(ctx: ActionContext, p: Params): Promise<Outcome>;
  select?(p: Params, values: string[]): Params;
}

export function defineRemediation<P extends Params>(r: Remediation<P>): AnyRemediation {
  const parse = (raw: unknown): P => r.schema.parse(raw);
  const select = r.select;
  return {
    id: r.id,
    title: r.title,
    section: r.section,
    risk: r.risk,
    parse,
    riskKeys: (p) => r.riskKeys(parse(p)),
    label: (p) => r.label(parse(p)),
    preview: (ctx, p) => r.preview(ctx, parse(p)),
    execute: (ctx, p) => r.execute(ctx, parse(p)),
    ...(select ? { select: (p: Params, values: string[]) => select(parse(p), values) } : {}),
  };
}
