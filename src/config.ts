// The one place that reads process.env: a zod schema that fails fast with one line naming
// the variable. configSecrets() names the secrets in it, for the Redactor bot.ts builds.
import { z } from 'zod';
import { parseDuration } from './duration.js';
import type { RedactorSecrets } from './redact.js';

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional();

const url = (name: string) =>
  z
    .string()
    .trim()
    .transform((v) => (v === '' ? undefined : v))
    .optional()
    .refine((v) => v === undefined || URL.canParse(v), { message: `${name} must be a URL` });

const duration = (fallback: string) =>
  z
    .string()
    .trim()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not a duration like 30s, 15m, 1h or 2d` });
        return z.NEVER;
      }
      return ms;
    });

const list = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

const jsonObject = <T extends z.ZodType>(schema: T) =>
  z
    .string()
    .trim()
    .optional()
    .transform((v, ctx): z.infer<T> | undefined => {
      if (!v) return undefined;
      let parsed: unknown;
      try {
        parsed = JSON.parse(v);
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not valid JSON' });
        return z.NEVER;
      }
      const result = schema.safeParse(parsed);
      if (!result.success) {
        ctx.addIssue({ code: 'custom', message: result.error.issues.map((i) => i.message).join('; ') });
        return z.NEVER;
      }
      return result.data;
    });

const SEVERITIES = ['P1', 'P2', 'P3', 'P4'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const RUNBOOK_RESPONSE_TARGETS: Record<Severity, number> = {
  P1: 15 * 60_000,
  P2: 60 * 60_000,
  P3: 4 * 60 * 60_000,
  P4: 24 * 60 * 60_000,
};

/** The platform's components a status page component can stand for (STATUSPAGE_COMPONENTS' keys). */
export const PLATFORM_COMPONENTS = ['api', 'workers', 'database', 'cache', 'queue', 'storage'] as const;
export type PlatformComponent = (typeof PLATFORM_COMPONENTS)[number];

/** The runbook's stakeholder-update cadence: P1 every 30 minutes, P2 every hour. */
export const DEFAULT_UPDATE_CADENCE: Partial<Record<Severity, number>> = { P1: 30 * 60_000, P2: 60 * 60_000 };

const durationText = z.string().refine((v) => parseDuration(v) !== undefined, {
  message: 'values must be durations like 15m or 1h',
});

const schema = z.object({
  SLACK_BOT_TOKEN: optionalText,
  SLACK_SIGNING_SECRET: optionalText,
  SLACK_APP_TOKEN: optionalText,
  SLACK_API_URL: url('SLACK_API_URL').transform((v) => v ?? 'https://slack.com/api/'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  BOT_DATABASE_URL: url('BOT_DATABASE_URL'),
  DATA_DIR: z.string().default('./data'),
  DMP_DATABASE_URL: url('DMP_DATABASE_URL'),
  DMP_REDIS_URL: url('DMP_REDIS_URL'),
  DMP_REDIS_PREFIX: z.string().default(''),
  DMP_API_URL: url('DMP_API_URL'),
  DMP_ADMIN_TOKEN: optionalText,
  KUBECONFIG: optionalText,
  DMP_NAMESPACE: optionalText,
  PAGERDUTY_API_TOKEN: optionalText,
  PAGERDUTY_API_URL: url('PAGERDUTY_API_URL').transform((v) => (v ?? 'https://api.pagerduty.com').replace(/\/+$/, '')),
  PAGERDUTY_WEBHOOK_SECRETS: list,
  PAGERDUTY_FROM_EMAIL: optionalText,
  INCIDENTS_CHANNEL: optionalText,
  DMP_OPERATORS: list.refine((ids) => ids.every((id) => /^[USW][A-Z0-9]+$/.test(id)), {
    message: 'must be Slack user IDs (U…/W…) or user-group IDs (S…), comma-separated',
  }),
  ESCALATION_CONTACTS: jsonObject(z.record(z.string(), z.string())),
  GRAFANA_URL: url('GRAFANA_URL'),
  STATUS_PAGE_URL: url('STATUS_PAGE_URL'),
  RESPONSE_TARGETS: jsonObject(z.partialRecord(z.enum(SEVERITIES), durationText)),
  POSTMORTEM_DUE: duration('48h'),
  GITHUB_API_URL: url('GITHUB_API_URL').transform((v) => v ?? 'https://api.github.com/'),
  CHECK_DEADLINE: duration('2s'),
  // Remediations (issue 3): bounds, the two-person rule, expiry and the pace of follow-ups.
  SCALE_MIN: z.coerce.number().int().min(0).default(1),
  SCALE_MAX: z.coerce.number().int().min(1).max(1000).default(20),
  TWO_PERSON_RULE: z
    .string()
    .trim()
    .toLowerCase()
    .default('on')
    .refine((v) => ['on', 'off', 'true', 'false', '1', '0', 'yes', 'no'].includes(v), { message: 'must be on or off' })
    .transform((v) => ['on', 'true', '1', 'yes'].includes(v)),
  HIGH_RISK_ACTIONS: z
    .string()
    .default('cache-flush,rollback-deployment:api,terminate-queries:all,scale-deployment:zero')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  CONFIRM_TTL: duration('5m'),
  OPERATOR_CACHE_TTL: duration('1m'),
  DMP_DEPLOYMENTS: z
    .string()
    .default('api,scan-workers')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .refine((names) => names.every((n) => /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(n)), {
      message: 'must be deployment names, comma-separated',
    }),
  ROLLOUT_TIMEOUT: duration('5m'),
  ROLLOUT_POLL_INTERVAL: duration('2s'),
  MAINTENANCE_TIMEOUT: duration('30m'),
  MAINTENANCE_PROGRESS_INTERVAL: duration('1m'),
  // Incidents (issue 4): PagerDuty priority/urgency → P1–P4, the lead's escalation delay, the worker's pace.
  INCIDENT_SEVERITY_MAP: jsonObject(z.record(z.string(), z.enum(SEVERITIES))),
  INCIDENT_LEAD_AFTER: duration('1h'),
  // Roles (issue 12): how long a P1/P2 may go without a commander before the thread is reminded.
  COMMANDER_NUDGE: duration('10m'),
  INCIDENT_POLL_INTERVAL: duration('250ms'),
  PAGERDUTY_TIMEOUT: duration('10s'),
  // Take-over (issue 8, h-claims): a claim ends with its replica's database session; this lease,
  // renewed by a heartbeat, only frees the rows of a replica that hangs without dying.
  INCIDENT_CLAIM_LEASE: duration('15s'),
  // Storms and rate limits (issue 5): each channel's pace, the storm digest, PagerDuty's REST budget.
  SLACK_CHANNEL_RATE: z.coerce.number().positive().max(100).default(1),
  // A burst of 2 at 1 a second: never more than 3 posts to a channel in any one second.
  SLACK_CHANNEL_BURST: z.coerce.number().int().min(1).max(50).default(2),
  STORM_THRESHOLD: z.coerce.number().int().min(1).default(20),
  STORM_PERIOD: duration('1m'),
  STORM_DIGEST_WAIT: duration('5s'),
  // At most 23: each incident takes two of a message's 50 blocks (blocks/incident-digest.ts).
  STORM_DIGEST_BATCH: z.coerce.number().int().min(1).max(23).default(20),
  PAGERDUTY_RATE_LIMIT: z.coerce.number().int().min(1).default(960),
  PAGERDUTY_RETRY_FOR: duration('10m'),
  // Status page, stakeholder updates, verification (issue 11): Atlassian Statuspage and the update cadence.
  STATUSPAGE_API_URL: url('STATUSPAGE_API_URL').transform(
    (v) => `${(v ?? 'https://api.statuspage.io/v1/').replace(/\/+$/, '')}/`,
  ),
  STATUSPAGE_API_KEY: optionalText,
  // Follow-ups (issue 13): post-mortem action items become issues in this GitHub repository.
  GITHUB_TOKEN: optionalText,
  FOLLOWUP_REPO: optionalText.refine((v) => v === undefined || /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(v), {
    message: 'must be owner/name',
  }),
  STATUSPAGE_PAGE_ID: optionalText,
  STATUSPAGE_COMPONENTS: jsonObject(z.partialRecord(z.enum(PLATFORM_COMPONENTS), z.string().trim().min(1))).transform(
    (v) => v ?? {},
  ),
  STATUSPAGE_RETRY_FOR: duration('10m'),
  UPDATE_CADENCE: jsonObject(z.partialRecord(z.enum(SEVERITIES), durationText)),
  // Trust (issue 9, h-people): who may press incident controls, the workspace served, how
  // long a Slack user's PagerDuty account is remembered, and each person's command pace.
  INCIDENT_RESPONDERS: list.refine((ids) => ids.every((id) => /^[USW][A-Z0-9]+$/.test(id)), {
    message: 'must be Slack user IDs (U…/W…) or user-group IDs (S…), comma-separated',
  }),
  SLACK_TEAM_ID: optionalText.refine((v) => v === undefined || /^[TE][A-Z0-9]+$/.test(v), {
    message: 'must be a Slack workspace ID (T…)',
  }),
  PAGERDUTY_USER_CACHE_TTL: duration('1m'),
  COMMAND_RATE_LIMIT: z.coerce.number().int().min(1).max(10000).default(60),
  COMMAND_RATE_PERIOD: duration('1m'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Faults (issue 8): how often a replica renews the heartbeat of the remediations it runs and
  // sweeps for those of replicas gone (three missed beats); how long SIGTERM waits for in-flight work.
  REMEDIATION_HEARTBEAT: duration('5s'),
  SHUTDOWN_DRAIN: duration('25s'),
});

type Raw = z.infer<typeof schema>;

export type SlackMode = 'http' | 'socket' | 'console';

export interface Config extends Omit<Raw, 'RESPONSE_TARGETS' | 'UPDATE_CADENCE'> {
  slackMode: SlackMode;
  responseTargets: Record<Severity, number>;
  /** How often stakeholders get an update, by severity (UPDATE_CADENCE over the defaults); absent: no reminders. */
  updateCadence: Partial<Record<Severity, number>>;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError whose message is one line naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const result = schema.safeParse(env);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is invalid'}`);
  }
  const raw = result.data;

  let slackMode: SlackMode = 'console';
  if (raw.SLACK_BOT_TOKEN && raw.SLACK_APP_TOKEN) slackMode = 'socket';
  else if (raw.SLACK_BOT_TOKEN && raw.SLACK_SIGNING_SECRET) slackMode = 'http';
  else if (raw.SLACK_BOT_TOKEN) {
    throw new ConfigError(
      'Invalid configuration: SLACK_SIGNING_SECRET is required with SLACK_BOT_TOKEN (or set SLACK_APP_TOKEN for Socket Mode)',
    );
  }

  const responseTargets = { ...RUNBOOK_RESPONSE_TARGETS };
  for (const [sev, text] of Object.entries(raw.RESPONSE_TARGETS ?? {})) {
    if (text) responseTargets[sev as Severity] = parseDuration(text) as number;
  }
  const updateCadence = { ...DEFAULT_UPDATE_CADENCE };
  for (const [sev, text] of Object.entries(raw.UPDATE_CADENCE ?? {})) {
    if (text) updateCadence[sev as Severity] = parseDuration(text) as number;
  }
  const { RESPONSE_TARGETS: _omit, UPDATE_CADENCE: _cadence, ...rest } = raw;
  return { ...rest, slackMode, responseTargets, updateCadence };
}

/** The secrets in a config: what a Redactor built from it scrubs from all output. */
export function configSecrets(c: Config): RedactorSecrets {
  return {
    secrets: [
      c.SLACK_BOT_TOKEN,
      c.SLACK_SIGNING_SECRET,
      c.SLACK_APP_TOKEN,
      c.DMP_ADMIN_TOKEN,
      c.PAGERDUTY_API_TOKEN,
      ...c.PAGERDUTY_WEBHOOK_SECRETS,
      c.STATUSPAGE_API_KEY,
      c.GITHUB_TOKEN,
    ],
    urls: configuredUrls(c),
  };
}

/**
 * Every URL in the config, whatever its variable (BOT_DATABASE_URL, DMP_API_URL, SLACK_API_URL,
 * PAGERDUTY_API_URL, GITHUB_API_URL, …, and any added later): their users and passwords are
 * credentials too, so none can be missed by a list kept by hand.
 */
export function configuredUrls(c: Config): string[] {
  const values = Object.values(c).flatMap((v) => (Array.isArray(v) ? v : [v]));
  return values.filter((v): v is string => typeof v === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(v));
}

/** Loads `.env` from the working directory when there is one; real env wins. */
export function loadDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch {
    // No .env: the environment alone configures the bot.
  }
}
