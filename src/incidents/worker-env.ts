// What the incident worker's parts share: the process's dependencies, the worker's logger and
// workflow context, the Slack and PagerDuty it talks to, and how much it claims for how long.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Redactor } from '../redact.js';
import type { Sql } from '../store/sql.js';
import type { Targets } from '../targets/index.js';
import type { PagerDutyClient } from '../targets/pagerduty.js';
import type { ClaimSession } from './claim-session.js';
import type { WorkflowCtx } from './ctx.js';
import type { IncidentSlack } from './delivery.js';

export interface WorkerDeps {
  config: Config;
  log: Logger;
  store: Sql;
  targets: Targets;
  metrics?: Metrics;
  now(): Date;
  /** Scrubs what a lane stores or says of a failure (the bot's, from bot.ts). */
  redactor: Redactor;
}

/** One running worker, as its parts see it. */
export interface WorkerEnv {
  deps: WorkerDeps;
  log: Logger;
  ctx: WorkflowCtx;
  slack: IncidentSlack;
  pd: PagerDutyClient;
  /** Rows claimed per round for each kind of work. */
  batch: number;
  /** The backstop lease of a claim (renewed by the claim session's heartbeat while it is worked on). */
  leaseMs: number;
  /** Whose claims these are: they end with this process's database session. */
  claims: ClaimSession;
}

/** How the work running beside the loop (PagerDuty calls, Slack lanes) asks after the loop. */
export interface LaneHooks {
  stopped(): boolean;
  /** Runs a round (more may be due now that a batch is done). */
  runRound(): void;
}
