// Everything that talks to the platform, built once from the config and injected.
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { Redactor } from '../redact.js';
import { createKube, type Kube } from './kube.js';
import {
  createPlatformApi,
  createReachability,
  type FetchFn,
  type PlatformApi,
  type Reachability,
} from './platform-api.js';
import { createPlatformDb, type PlatformDb } from './platform-db.js';
import { createPlatformRedis, type PlatformRedis } from './platform-redis.js';

export interface Targets {
  config: Config;
  db: PlatformDb;
  redis: PlatformRedis;
  kube: Kube;
  api: PlatformApi;
  reach: Reachability;
  now(): Date;
}

export interface TargetOverrides {
  fetch?: FetchFn;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
}

/** Async: a target's client library is loaded here only when that target is configured. */
export async function createTargets(
  config: Config,
  log: Logger,
  overrides: TargetOverrides = {},
  // Without one handed in, pod logs lose only the secret-shaped patterns: bot.ts passes its own.
  redactor: Redactor = new Redactor(),
): Promise<Targets> {
  const fetchFn = overrides.fetch ?? fetch;
  return {
    config,
    db: createPlatformDb(config.DMP_DATABASE_URL, log.child({ target: 'postgres' })),
    redis: await createPlatformRedis(config.DMP_REDIS_URL, config.DMP_REDIS_PREFIX, log.child({ target: 'redis' })),
    kube: await createKube({
      kubeconfig: config.KUBECONFIG,
      namespace: config.DMP_NAMESPACE,
      env: overrides.env,
      redactor,
    }),
    // HTTP checks get the whole check deadline; the runner's own deadline still bounds them.
    api: createPlatformApi(config.DMP_API_URL, config.DMP_ADMIN_TOKEN, fetchFn, config.CHECK_DEADLINE),
    reach: createReachability(fetchFn, config.CHECK_DEADLINE),
    now: overrides.now ?? (() => new Date()),
  };
}

export async function closeTargets(targets: Targets): Promise<void> {
  await Promise.allSettled([targets.db.close(), targets.redis.close()]);
}
