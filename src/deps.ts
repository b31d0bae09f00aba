// What every command, action and workflow is given: built once in main.ts, faked in tests
// by pointing the same clients at wire-level fakes.
import type { WebClient } from '@slack/web-api';
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { RemediationService } from './remediations/flow.js';
import type { Sql } from './store/sql.js';
import type { Targets } from './targets/index.js';

export interface Deps {
  config: Config;
  log: Logger;
  targets: Targets;
  store: Sql;
  /** The bot's Web API client (SLACK_API_URL); in console mode it talks to the console's own workspace. */
  slack: WebClient;
  metrics: Metrics;
  /** The one remediation safety layer, built in bot.ts (its operator cache lives as long as the bot). */
  remediations: RemediationService;
  now(): Date;
  /** Runs the incident worker's next round now (work was just stored); bot.ts hands it in. */
  wakeIncidents?(): void;
}
