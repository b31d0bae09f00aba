// Wires listeners to Bolt and routes to the HTTP server, for the three modes: HTTP (Bolt's
// receiver on /slack/events), Socket Mode, and console (a receiver the console drives).
import type { RequestListener } from 'node:http';
import { App, HTTPReceiver, type Receiver, SocketModeReceiver } from '@slack/bolt';
import type { Command } from './commands/types.js';
import type { Deps } from './deps.js';
import { register as registerRemediationApprove } from './handlers/actions/remediation-approve.js';
import { register as registerRemediationCancel } from './handlers/actions/remediation-cancel.js';
import { register as registerRemediationConfirm } from './handlers/actions/remediation-confirm.js';
import { register as registerRemediationPick } from './handlers/actions/remediation-pick.js';
import { register as registerRemedy } from './handlers/actions/remedy.js';
import { singleWorkspaceAuthorize } from './handlers/authorize.js';
import { boltLogger } from './handlers/bolt-logger.js';
import { register as registerDmp } from './handlers/commands/dmp.js';
import { registerErrorHandler } from './handlers/errors.js';
import { pagerDutyWebhookRoutes, registerIncidentListeners } from './handlers/incident-listeners.js';
import { type Inflight, trackInflight } from './handlers/inflight.js';
import { ResponseUrlGuard } from './handlers/response-url.js';
import { type SlackDeps, slackClientOptions } from './handlers/slack-client.js';
import { register as registerRemediationReason } from './handlers/views/remediation-reason.js';
import { register as registerScanFail } from './handlers/views/scan-fail.js';
import { healthRoutes } from './http/health.js';
import { MAX_BODY_BYTES, type RouteTable } from './http/server.js';

export const SLACK_EVENTS_PATH = '/slack/events';

export function registerListeners(app: App, deps: Deps, commands: readonly Command[]): void {
  registerDmp(app, deps, commands);
  registerRemedy(app, deps);
  registerRemediationConfirm(app, deps);
  registerRemediationApprove(app, deps);
  registerRemediationCancel(app, deps);
  registerRemediationPick(app, deps);
  registerRemediationReason(app, deps);
  registerScanFail(app, deps);
  registerIncidentListeners(app, deps);
  registerErrorHandler(app, deps);
}

export interface BuiltApp {
  app: App;
  /** Set in HTTP mode: Bolt's request listener for /slack/events. */
  slackListener?: RequestListener;
  routes: RouteTable;
  /** Listeners still at work after their ack, for SIGTERM to wait on. */
  inflight: Inflight;
}

/** A receiver that does nothing by itself: the console feeds events with app.processEvent. */
class ConsoleReceiver implements Receiver {
  init(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

export function buildApp(deps: SlackDeps, commands: readonly Command[]): BuiltApp {
  const { config } = deps;
  const logger = boltLogger(deps.log);
  const base = slackClientOptions(config.SLACK_API_URL, deps.metrics, deps.log);
  // The console's own Slack hands out its own response_urls: the guard is for Slack's traffic.
  const guard = config.slackMode === 'console' ? undefined : new ResponseUrlGuard(config.SLACK_API_URL, deps.log);
  const clientOptions = {
    ...base,
    ...(guard ? { fetch: guard.wrapFetch(base.fetch ?? ((url, init) => fetch(url, init))) } : {}),
    logger,
  };
  const authorizeWith = (token: string) => singleWorkspaceAuthorize(deps.slack, token, deps.log);
  let app: App;
  let slackListener: RequestListener | undefined;
  // What /health says of Slack: the mode, or in Socket Mode whether the WebSocket is up right now.
  let slackHealth = (): string => config.slackMode;
  if (config.slackMode === 'http') {
    const receiver = new HTTPReceiver({
      signingSecret: config.SLACK_SIGNING_SECRET as string,
      endpoints: SLACK_EVENTS_PATH,
      bodyLimit: MAX_BODY_BYTES,
      logger,
    });
    app = new App({ authorize: authorizeWith(config.SLACK_BOT_TOKEN as string), receiver, clientOptions, logger });
    slackListener = receiver.requestListener;
  } else if (config.slackMode === 'socket') {
    const receiver = new SocketModeReceiver({
      appToken: config.SLACK_APP_TOKEN as string,
      installerOptions: { clientOptions },
      logger,
    });
    // The client reconnects by itself; until it has, the bot is degraded (no command reaches it).
    let socketState = 'connecting';
    for (const state of ['connecting', 'connected', 'reconnecting', 'disconnecting', 'disconnected'])
      receiver.client.on(state, () => {
        socketState = state;
      });
    // A cut socket says only 'close'; 'reconnecting' comes after the client's back-off.
    receiver.client.on('close', () => {
      socketState = 'disconnected';
    });
    slackHealth = () => (socketState === 'connected' ? 'socket' : `socket ${socketState}`);
    app = new App({ authorize: authorizeWith(config.SLACK_BOT_TOKEN as string), receiver, clientOptions, logger });
  } else {
    app = new App({
      token: config.SLACK_BOT_TOKEN ?? 'xoxb-console',
      receiver: new ConsoleReceiver(),
      clientOptions,
      logger,
      tokenVerificationEnabled: false,
    });
  }
  // First middleware of all, so it counts every listener's whole run.
  const inflight = trackInflight(app);
  guard?.install(app);
  registerListeners(app, deps, commands);
  const routes: RouteTable = {
    ...healthRoutes(deps, () => ({ slack: slackHealth() })),
    ...pagerDutyWebhookRoutes(deps),
  };
  return { app, slackListener, routes, inflight };
}
