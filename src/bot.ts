// Assembles a running bot from a config: store, targets, Slack client, Bolt app, HTTP server.
// main.ts, the sandbox, the benchmarks and the tests all start the bot through here.
import type { Server } from 'node:http';
import { WebClient } from '@slack/web-api';
import { buildApp, type BuiltApp, slackClientOptions } from './app.js';
import { boltLogger } from './handlers/bolt-logger.js';
import { startIncidents } from './handlers/incident-delivery.js';
import { type Config, configSecrets } from './config.js';
import type { Deps } from './deps.js';
import { createHttpServer, listen } from './http/server.js';
import { createLogger, type Logger } from './log.js';
import { legacyRedactor, Redactor } from './redact.js';
import { createMetrics } from './metrics.js';
import { openStore } from './store/index.js';
import { closeTargets, createTargets, type TargetOverrides } from './targets/index.js';

/** Kubernetes gives a pod 30 s after SIGTERM by default; leave room to close the pools. */
const DRAIN_TIMEOUT_MS = 25_000;

export interface BotHandle {
  deps: Deps;
  built: BuiltApp;
  server: Server;
  /** The port the HTTP server listens on, or undefined when it could not (console mode, port taken). */
  port: number | undefined;
  stop(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** The secrets to scrub from all output; built from the config when not given. */
  redactor?: Redactor;
  targets?: TargetOverrides;
  /** Listen on this host (tests use 127.0.0.1). */
  host?: string;
  /** In console mode a taken port is not fatal: the console works without the HTTP server. */
  portOptional?: boolean;
}

export async function startBot(config: Config, opts: StartOptions = {}): Promise<BotHandle> {
  const redactor = opts.redactor ?? new Redactor(configSecrets(config));
  // Callers not yet handed the redactor (handlers, TargetError) use redact(): teach it these secrets.
  redactor.share(legacyRedactor);
  const log = opts.log ?? createLogger(config.LOG_LEVEL, undefined, redactor);
  const store = await openStore(config, log);
  const targets = createTargets(config, log, opts.targets, redactor);
  const metrics = createMetrics();
  const slack = new WebClient(config.SLACK_BOT_TOKEN ?? 'xoxb-console', { ...slackClientOptions(config.SLACK_API_URL, metrics), logger: boltLogger(log) });
  const deps: Deps = { config, log, targets, store, slack, metrics, now: targets.now };
  const built = buildApp(deps);
  const server = createHttpServer({ deps, slackListener: built.slackListener, routes: built.routes, redactor });
  let port: number | undefined;
  try {
    port = await listen(server, config.PORT, opts.host);
  } catch (err) {
    if (!opts.portOptional) {
      await Promise.allSettled([store.close(), closeTargets(targets)]);
      throw err;
    }
    log.warn({ err, port: config.PORT }, 'HTTP server not started; the console works without it');
  }
  if (config.slackMode === 'socket') await built.app.start();
  // Applies stored PagerDuty events, fires incident timers, sends the Slack and PagerDuty outboxes.
  const incidents = startIncidents(deps);
  let stopped = false;
  return {
    deps,
    built,
    server,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      // Drain: stop taking requests, let in-flight ones finish, then close the pools.
      await new Promise<void>((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      if (config.slackMode === 'socket') await built.app.stop().catch(() => {});
      // Late replies and followed rollouts finish before the pools close (within the pod's grace).
      if (!(await built.inflight.drain(DRAIN_TIMEOUT_MS))) log.warn({ inflight: built.inflight.count }, 'stopping with work still in flight');
      await incidents.stop();
      await closeTargets(targets);
      await store.close();
    },
  };
}
