// What every command, action and route is given: built once in bot.ts (the composition root)
// and handed in. The Slack client is not here: only the Slack glue gets it (handlers/slack-client.ts).
import type { Config } from './config.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { RemediationService } from './remediations/flow.js';
import type { AuditLog } from './store/audit.js';
import type { Sql } from './store/sql.js';
import type { Targets } from './targets/index.js';

export interface Deps {
  config: Config;
  log: Logger;
  targets: Targets;
  store: Sql;
  /** The command path's audit rows, batched into one INSERT every few milliseconds (store/audit.ts). */
  audit: AuditLog;
  metrics: Metrics;
  /** The one remediation safety layer, built in bot.ts (its operator cache lives as long as the bot). */
  remediations: RemediationService;
  now(): Date;
  /** Runs the incident worker's next round now (work was just stored); bot.ts hands it in. */
  wakeIncidents?(): void;
  /** The Slack user with this email (users.lookupByEmail), for mentions; bot.ts hands it in. */
  slackUserByEmail?(email: string): Promise<string | undefined>;
}
