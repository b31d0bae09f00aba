// What every command, action and route is given: built once in bot.ts (the composition root)
// and handed in. The Slack client is not here: only the Slack glue gets it (handlers/slack-client.ts).
import type { Config } from './config.js';
import type { PagerDutyPeople } from './incidents/pagerduty-people.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Redactor } from './redact.js';
import type { RemediationService } from './remediations/flow.js';
import type { Operators } from './remediations/operators.js';
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
  /** Scrubs every outbound text of the config's secrets (bot.ts builds it from the config). */
  redactor: Redactor;
  /** Who may press an incident control: one per bot, built in bot.ts (its caches live as long as the bot). */
  incidentGate: IncidentGate;
  /** Runs the incident worker's next round now (work was just stored); bot.ts hands it in. */
  wakeIncidents?(): void;
  /** The Slack user with this email (users.lookupByEmail), for mentions; bot.ts hands it in. */
  slackUserByEmail?(email: string): Promise<string | undefined>;
}

/** What the incident controls check a presser against, with the caches that make it cheap. */
export interface IncidentGate {
  /** PagerDuty users by email (PAGERDUTY_USER_CACHE_TTL). */
  people: PagerDutyPeople;
  /** The incident responders (INCIDENT_RESPONDERS), when set. */
  responders?: Operators;
  /** The workspace the bot serves: SLACK_TEAM_ID, else auth.test's answer (asked again after a failure). */
  servedTeam(): Promise<string | undefined>;
}
