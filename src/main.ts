// Start-up: parse the config, start the bot in the chosen mode, stop cleanly on SIGTERM.
import { describeListenError, startBot } from './bot.js';
import { type Config, ConfigError, configSecrets, loadConfig, loadDotEnv } from './config.js';
import { runConsole } from './console/run.js';
import { createLogger } from './log.js';
import { Redactor } from './redact.js';
import { DataDirInUse } from './store/data-dir-lock.js';

async function main(): Promise<void> {
  loadDotEnv();
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  if (config.slackMode === 'console') {
    const code = await runConsole(config, { input: process.stdin, output: process.stdout });
    process.exit(code);
  }
  const redactor = new Redactor(configSecrets(config));
  const log = createLogger(config.LOG_LEVEL, undefined, redactor);
  const bot = await startBot(config, { log, redactor });
  log.info({ mode: config.slackMode, port: bot.port }, 'dmp-bot ready');
  const shutdown = (signal: string) => {
    log.info({ signal }, 'draining');
    bot.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`dmp-bot could not start: ${new Redactor().redact(startupProblem(err))}\n`);
  process.exit(1);
});

/** One line, no stack trace: the start-up failures a person can fix themselves, said plainly. */
function startupProblem(err: unknown): string {
  if (err instanceof DataDirInUse) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if ((code === 'EADDRINUSE' || code === 'EACCES') && 'port' in (err as object))
    return describeListenError(err, Number((err as { port: unknown }).port));
  return err instanceof Error ? err.message : String(err);
}
