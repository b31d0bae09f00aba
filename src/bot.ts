// Assembles a running bot from a config: store, targets, Slack client, Bolt app, HTTP server.
// main.ts, the sandbox, the benchmarks and the tests all start the bot through here.
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import { WebClient } from '@slack/web-api';
import { type BuiltApp, buildApp } from './app.js';
import { commandRegistry } from './commands/registry.js';
import type { Command } from './commands/types.js';
import { type Config, configSecrets } from './config.js';
import { createIncidentGate } from './handlers/actions/incident-common.js';
import { boltLogger } from './handlers/bolt-logger.js';
import { type IncidentsHandle, startIncidents } from './handlers/incident-delivery.js';
import { slackGroupMembers } from './handlers/remediation-kit.js';
import { type RemediationRecovery, startRemediationRecovery } from './handlers/remediation-recovery.js';
import { type SlackDeps, slackClientOptions } from './handlers/slack-client.js';
import { createHttpServer, listen } from './http/server.js';
import { slackRequestGate } from './http/slack-gate.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics } from './metrics.js';
import { Redactor } from './redact.js';
import { RemediationService } from './remediations/flow.js';
import { AuditLog } from './store/audit.js';
import { openStore } from './store/index.js';
import { MIGRATIONS } from './store/migrations.js';
import { closeTargets, createTargets, type TargetOverrides } from './targets/index.js';

export interface BotHandle {
  deps: SlackDeps;
  /** Every `/dmp` command this bot answers. */
  commands: readonly Command[];
  built: BuiltApp;
  server: Server;
  /** The port the HTTP server listens on, or undefined when it could not (console mode, port taken). */
  port: number | undefined;
  /** Why the HTTP server did not start (portOptional), in one line for the console to say. */
  listenProblem?: string;
  /** Resolves once the incident worker has run its rounds and finished what they started (tests, drains). */
  incidentsSettled(): Promise<void>;
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
  /** Commands beside the production ones: the sandbox's `/dmp sandbox …`, which production never has. */
  commands?: readonly Command[];
}

export async function startBot(config: Config, opts: StartOptions = {}): Promise<BotHandle> {
  const redactor = opts.redactor ?? new Redactor(configSecrets(config));
  const log = opts.log ?? createLogger(config.LOG_LEVEL, undefined, redactor);
  const store = await openStore(config, log, MIGRATIONS);
  const targets = await createTargets(config, log, opts.targets, redactor);
  const metrics = createMetrics();
  const audit = new AuditLog(store);
  const slack = new WebClient(config.SLACK_BOT_TOKEN ?? 'xoxb-console', {
    ...slackClientOptions(config.SLACK_API_URL, metrics, log),
    logger: boltLogger(log),
  });
  // This process among the replicas sharing the store: it owns the remediations it runs.
  const replicaId = `${process.pid}-${randomUUID()}`;
  const remediations = new RemediationService({
    replicaId,
    config,
    log,
    targets,
    store,
    now: targets.now,
    redactor,
    listGroupMembers: slackGroupMembers(slack),
  });
  const incidentGate = createIncidentGate({ config, store, metrics, now: targets.now, log }, slack);
  // The worker starts once the server listens; until then a wake has nothing to wake.
  let incidents: IncidentsHandle | undefined;
  const deps: SlackDeps = {
    config,
    log,
    targets,
    store,
    audit,
    slack,
    metrics,
    remediations,
    now: targets.now,
    redactor,
    incidentGate,
    wakeIncidents: () => incidents?.worker.wake(),
    slackUserByEmail: async (email) => (await slack.users.lookupByEmail({ email })).user?.id,
  };
  const commands = commandRegistry(opts.commands);
  const built = buildApp(deps, commands);
  const slackGate =
    config.slackMode === 'http'
      ? slackRequestGate({ signingSecret: config.SLACK_SIGNING_SECRET as string, store, log })
      : undefined;
  const server = createHttpServer({
    deps,
    slackListener: built.slackListener,
    routes: built.routes,
    redactor,
    slackGate,
  });
  let port: number | undefined;
  let listenProblem: string | undefined;
  try {
    port = await listen(server, config.PORT, opts.host);
  } catch (err) {
    if (!opts.portOptional) {
      await audit.close();
      await Promise.allSettled([store.close(), closeTargets(targets)]);
      throw err;
    }
    listenProblem = describeListenError(err, config.PORT);
  }
  if (config.slackMode === 'socket') await built.app.start();
  // Applies stored PagerDuty events, fires incident timers, sends the Slack and PagerDuty outboxes.
  incidents = startIncidents(deps);
  // Remediations left running by a replica that is gone: followed or reported, never left hanging.
  const recovery: RemediationRecovery = startRemediationRecovery(deps, slack, replicaId);
  let stopped = false;
  return {
    deps,
    commands,
    built,
    server,
    port,
    ...(listenProblem ? { listenProblem } : {}),
    incidentsSettled: () => incidents.worker.tick(),
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
      // Late replies and followed rollouts finish before the pools close, up to SHUTDOWN_DRAIN
      // (Kubernetes gives a pod 30 s after SIGTERM by default: the default leaves room to close).
      const until = Date.now() + config.SHUTDOWN_DRAIN;
      const drained = (await built.inflight.drain(config.SHUTDOWN_DRAIN)) && (await recovery.drain(until - Date.now()));
      if (!drained)
        log.warn({ inflight: built.inflight.count, recovering: recovery.active }, 'stopping with work still in flight');
      // What did not finish is handed over: the next replica's sweep follows or reports it at once.
      const handed = await recovery.stop();
      if (handed) log.warn({ remediations: handed }, 'handed running remediations over to the other replicas');
      await incidents.stop();
      await closeTargets(targets);
      // Audit rows still waiting for their batch are written before the store closes.
      await audit.close();
      await store.close();
    },
  };
}

/** A listen failure as one line: which port, and what to do about it. */
export function describeListenError(err: unknown, port: number): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return `port ${port} is in use by another program: set PORT to a free port (or 0 for any)`;
  if (code === 'EACCES') return `port ${port} needs privileges this user lacks: set PORT to a port above 1023`;
  return `the HTTP server could not listen on port ${port} (${code ?? (err instanceof Error ? err.message : String(err))})`;
}
