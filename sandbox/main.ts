// `npm run sandbox`: the console mode against a simulated DMP platform in trouble, started in
// this process, so a newcomer tries every command and a whole incident with no Slack, cluster
// or PagerDuty. `npm run sandbox -- --http` serves the same platform with the bot in HTTP
// mode, for a Slack test workspace. Everything lives under a temporary directory, removed on exit.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBot } from '../src/bot.js';
import { type Config, ConfigError, configSecrets, loadConfig, loadDotEnv } from '../src/config.js';
import { type ConsoleOptions, consoleUserEmail, runConsole } from '../src/console/run.js';
import { CONSOLE_USER } from '../src/console/workspace.js';
import { createLogger } from '../src/log.js';
import { Redactor } from '../src/redact.js';
import { sandboxClock } from './clock.js';
import { sandboxCommands } from './commands.js';
import { type SimulatedPlatform, startSimulatedPlatform } from './platform.js';

/** The sandbox's #incidents, shown by name in the console. */
export const SANDBOX_INCIDENTS_CHANNEL = 'C0INCIDENTS';

const USAGE = `Usage: npm run sandbox [-- --http]

  (no option)  the console: type /dmp commands, a number to press a button, exit to leave
  --http       the bot in HTTP mode for a Slack test app (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)

PORT (default 3000) is used when free, else any free port.`;

/** PORT when it is free, else a free port the system picks: the sandbox never fails on a taken port. */
export async function pickPort(preferred: number): Promise<number> {
  const tryPort = (port: number) =>
    new Promise<number | undefined>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(undefined));
      probe.listen(port, () => {
        const address = probe.address();
        const got = typeof address === 'object' && address ? address.port : undefined;
        probe.close(() => resolve(got));
      });
    });
  return (preferred > 0 ? await tryPort(preferred) : undefined) ?? (await tryPort(0)) ?? 0;
}

/**
 * The bot's environment: the user's own settings (GRAFANA_URL, RESPONSE_TARGETS…) kept, every
 * target pointed at the simulation, the store embedded under the temporary directory.
 */
export function sandboxEnv(
  base: NodeJS.ProcessEnv,
  platform: Record<string, string>,
  o: { dir: string; port: number; http: boolean },
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...base,
    ...platform,
    PORT: String(o.port),
    DATA_DIR: o.dir,
    BOT_DATABASE_URL: '',
    // One person tries the sandbox: high-risk actions run after that person's own confirmation.
    TWO_PERSON_RULE: base.TWO_PERSON_RULE ?? 'off',
    ESCALATION_CONTACTS:
      base.ESCALATION_CONTACTS ??
      JSON.stringify({ engineering_lead: '@eng-lead', dba: '@dba-team', security: '@security' }),
    PAGERDUTY_FROM_EMAIL: base.PAGERDUTY_FROM_EMAIL ?? 'oncall@dmp.example',
    // Slack over HTTP only: a Socket Mode token in .env must not turn the sandbox into Socket Mode.
    SLACK_APP_TOKEN: '',
  };
  if (o.http) return env;
  return {
    ...env,
    SLACK_BOT_TOKEN: '',
    SLACK_SIGNING_SECRET: '',
    SLACK_API_URL: '',
    INCIDENTS_CHANNEL: SANDBOX_INCIDENTS_CHANNEL,
    DMP_OPERATORS: CONSOLE_USER,
  };
}

export function consoleBanner(platform: SimulatedPlatform, port: number | undefined): string {
  return [
    'dmp-bot sandbox — the console against a simulated DMP platform in trouble.',
    '',
    'Simulated in this process (nothing real is touched; all of it is thrown away on exit):',
    ...platform.describe().map((l) => `  • ${l}`),
    `Redis here is an in-memory stand-in, not a Redis server. You are an operator (${CONSOLE_USER}); the two-person rule is off in the sandbox.`,
    '',
    'Three things to try:',
    '  1. /dmp scans stuck                 — finds the stuck scans, the backed-up queue and the two dead workers',
    '  2. type a button’s number           — e.g. the one before "Restart scan-workers", then "Confirm"; then /dmp scans stuck again',
    '  3. /dmp sandbox page scans-stuck    — PagerDuty pages; the incident thread appears in #incidents (also: database-cpu, auth-failures)',
    '',
    `/dmp help lists every command, /dmp sandbox tells what is simulated, exit leaves.${port !== undefined ? ` HTTP server on http://127.0.0.1:${port} (POST /pagerduty/webhook, GET /health).` : ''}`,
    '',
  ].join('\n');
}

function httpBanner(config: Config, platform: SimulatedPlatform, port: number): string {
  const lines = [
    `dmp-bot sandbox over HTTP — the bot on port ${port}, against a simulated DMP platform in trouble:`,
    ...platform.describe().map((l) => `  • ${l}`),
    'Redis here is an in-memory stand-in, not a Redis server; the two-person rule is off unless TWO_PERSON_RULE says otherwise.',
    '',
    'Point your Slack test app at it (manifest.yml has the scopes and settings):',
    `  1. expose this port over HTTPS, e.g. \`cloudflared tunnel --url http://localhost:${port}\` or \`ngrok http ${port}\``,
    '  2. set the Request URL of the /dmp slash command, of Interactivity & Shortcuts and of Event Subscriptions to',
    '       https://<your-tunnel-host>/slack/events',
    `     (this process serves it at http://localhost:${port}/slack/events; GET /health answers too)`,
    '  3. in Slack: /dmp scans stuck, press Restart scan-workers, then /dmp sandbox page scans-stuck',
  ];
  if (config.DMP_OPERATORS.length === 0)
    lines.push(
      '',
      'DMP_OPERATORS is not set: remediations are refused. Set it to your Slack user ID (U…) to run them.',
    );
  if (!config.INCIDENTS_CHANNEL)
    lines.push('', 'INCIDENTS_CHANNEL is not set: pages are refused. Set it to a channel ID (C…) the bot is in.');
  lines.push('', 'Ctrl-C stops it.', '');
  return lines.join('\n');
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const unknown = args.filter((a) => a !== '--http');
  if (unknown.length) {
    process.stderr.write(`Unknown option ${unknown.join(' ')}\n${USAGE}\n`);
    return 2;
  }
  const http = args.includes('--http');
  loadDotEnv();
  // The config is read later: the bot's Redactor, built from it then, teaches this one its secrets.
  const logRedactor = new Redactor();
  const log = createLogger(process.env.LOG_LEVEL ?? (http ? 'info' : 'warn'), undefined, logRedactor);
  const dir = mkdtempSync(join(tmpdir(), 'dmp-sandbox-'));
  // Whatever happens, the temporary directory goes: the bot's store and the kubeconfig live there.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));

  let platform: SimulatedPlatform | undefined;
  const stopPlatform = async () => {
    const p = platform;
    platform = undefined;
    await p?.close();
  };
  try {
    const clock = sandboxClock();
    platform = await startSimulatedPlatform({
      dir,
      now: clock.now,
      onError: (err) => log.debug({ err }, 'sandbox simulation hiccup'),
    });
    const preferred = Number.parseInt(process.env.PORT ?? '3000', 10);
    const port = await pickPort(Number.isInteger(preferred) && preferred >= 0 && preferred < 65_536 ? preferred : 3000);
    let config: Config;
    try {
      config = loadConfig(sandboxEnv(process.env, platform.env, { dir, port, http }));
    } catch (err) {
      if (err instanceof ConfigError) {
        process.stderr.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
    const commands = sandboxCommands(platform, {
      incidentsChannel: config.INCIDENTS_CHANNEL,
      ...(config.INCIDENTS_CHANNEL === SANDBOX_INCIDENTS_CHANNEL ? { incidentsChannelName: 'incidents' } : {}),
    });
    const sim = platform;

    if (!http) {
      const options: ConsoleOptions = {
        input: process.stdin,
        output: process.stdout,
        channels: { [SANDBOX_INCIDENTS_CHANNEL]: { name: 'incidents' } },
        commands,
        targets: { now: clock.now },
        async onReady(bot) {
          // The console user presses incident buttons as themselves: a user of the sandbox's PagerDuty account.
          sim.pagerduty.users.push({ id: 'PSANDBOX1', name: 'You (console)', email: consoleUserEmail() });
          if (bot.port !== undefined) sim.connectBot(`http://127.0.0.1:${bot.port}`);
          await sim.ready;
          clock.anchorAtReady();
          // The banner names the port the bot really got, known only now.
          options.banner = consoleBanner(sim, bot.port);
        },
      };
      return await runConsole(config, options);
    }

    if (config.slackMode !== 'http') {
      process.stderr.write(
        '--http needs SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET from your Slack test app (in the environment or .env).\n',
      );
      return 2;
    }
    const redactor = new Redactor(configSecrets(config));
    redactor.share(logRedactor);
    const bot = await startBot(config, { log, redactor, commands, targets: { now: clock.now } });
    if (bot.port === undefined) throw new Error('the HTTP server did not start');
    sim.connectBot(`http://127.0.0.1:${bot.port}`);
    await sim.ready;
    clock.anchorAtReady();
    process.stdout.write(httpBanner(config, sim, bot.port));
    await new Promise<void>((resolve) => {
      onSignal = resolve;
    });
    await bot.stop();
    return 0;
  } finally {
    await stopPlatform();
  }
}

// Ctrl-C: over HTTP, drain and stop; at the console prompt, leave at once (the exit hook
// removes the temporary directory; the simulation dies with the process).
let onSignal: (() => void) | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => (onSignal ? onSignal() : process.exit(130)));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `The sandbox could not start: ${new Redactor().redact(err instanceof Error ? err.message : String(err))}\n`,
    );
    process.exit(1);
  },
);
