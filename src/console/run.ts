// Console mode: the bot without Slack, the way Hubot's shell adapter lets a newcomer try a
// bot. A prompt takes `/dmp …` lines, replies are rendered as text, buttons are numbered
// choices picked by typing the number, and modals are walked as prompts, field by field.
// When standard input is not a terminal it reads lines until EOF, prints each reply, exits 0.
import { userInfo } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { type BotHandle, startBot } from '../bot.js';
import type { Command } from '../commands/types.js';
import { type Config, configSecrets } from '../config.js';
import { createLogger, type Logger } from '../log.js';
import { Redactor } from '../redact.js';
import type { TargetOverrides } from '../targets/index.js';
import { completeCommand } from './complete.js';
import { LineReader } from './line-reader.js';
import { walkModal } from './modal.js';
import { type ConsoleWorkspace, startConsoleWorkspace } from './workspace.js';

export interface ConsoleOptions {
  input: Readable;
  output: Writable;
  /** Printed before the first prompt (the sandbox's banner). */
  banner?: string;
  log?: Logger;
  /** Channel ids to names, so threads elsewhere (#incidents) are labelled. */
  channels?: Record<string, { name: string }>;
  /** Commands beside the production ones (the sandbox's). */
  commands?: readonly Command[];
  /** The sandbox's clock and targets. */
  targets?: TargetOverrides;
  /** Where the command history is kept; default DATA_DIR/console_history. */
  historyFile?: string;
  /** Called once the bot is up, before the first line is read (the sandbox hooks in here). */
  onReady?(bot: BotHandle, workspace: ConsoleWorkspace): Promise<void> | void;
}

export async function runConsole(config: Config, opts: ConsoleOptions): Promise<number> {
  const interactive = Boolean((opts.input as Readable & { isTTY?: boolean }).isTTY);
  let reader: LineReader | undefined;
  // Output that arrives while the prompt waits goes above it, and the prompt is drawn again.
  const print = (text: string) => {
    const line = text.endsWith('\n') ? text : `${text}\n`;
    if (reader) reader.print(line);
    else opts.output.write(line);
  };
  const userName = safeUserName();
  // Console mode keeps the terminal for replies: only warnings and worse go to stderr.
  const redactor = new Redactor(configSecrets(config));
  const log = opts.log ?? createLogger(config.LOG_LEVEL === 'info' ? 'warn' : config.LOG_LEVEL, undefined, redactor);
  // PGlite takes a second or so to start (a new DATA_DIR is unpacked from the template first): say so.
  if (!config.BOT_DATABASE_URL)
    process.stderr.write(`starting the embedded store in ${join(config.DATA_DIR, 'store')}…\n`);
  const workspace = await startConsoleWorkspace({
    userName,
    email: consoleUserEmail(),
    print,
    channels: opts.channels,
  });
  let bot: BotHandle;
  try {
    bot = await startBot(
      { ...config, SLACK_API_URL: workspace.apiUrl },
      {
        log,
        redactor,
        portOptional: true,
        // The console is one person's: its HTTP server (health, metrics, webhooks) stays on this machine.
        host: '127.0.0.1',
        ...(opts.commands ? { commands: opts.commands } : {}),
        ...(opts.targets ? { targets: opts.targets } : {}),
      },
    );
  } catch (err) {
    await workspace.close();
    throw err;
  }
  workspace.attach(bot.built.app);
  await opts.onReady?.(bot, workspace);

  print(opts.banner ?? defaultBanner(config, bot.port));
  if (bot.listenProblem) print(`No HTTP server: ${bot.listenProblem}. The console works without it.`);
  const commands = bot.commands;
  reader = new LineReader(opts.input, opts.output, {
    interactive,
    historyFile: opts.historyFile ?? join(config.DATA_DIR, 'console_history'),
    completer: (line) => completeCommand(commands, line),
  });
  try {
    for (;;) {
      await handleModals(workspace, reader, print);
      const raw = await reader.next('dmp> ');
      if (raw === undefined) break;
      const line = raw.trim();
      if (!line) continue;
      if (/^(exit|quit|\\q)$/i.test(line)) break;
      if (/^\d+$/.test(line)) {
        const choice = workspace.choice(Number(line));
        if (choice?.confirm) {
          const answer = await reader.next(`${choice.confirm} (y/N) `, { noHistory: true });
          if (!/^y(es)?$/i.test(answer?.trim() ?? '')) {
            print('Not pressed.');
            continue;
          }
        }
        const problem = await workspace.press(Number(line));
        if (problem) print(problem);
      } else if (line.startsWith('/')) {
        const [cmd, ...rest] = line.split(/\s+/);
        if (cmd !== '/dmp') {
          print(
            `Only /dmp commands here${/^\/d/.test(cmd ?? '') ? `: did you mean \`/dmp ${rest.join(' ')}\`?` : '.'} Try /dmp help.`,
          );
          continue;
        }
        await workspace.command(rest.join(' '));
      } else if (/^dmp(\s|$)/i.test(line)) {
        // The slash forgotten: say what was meant rather than run it as words.
        print(`Commands start with a slash: did you mean \`/${line}\`?`);
        continue;
      } else {
        // Lenient: `scans stuck` means `/dmp scans stuck`.
        await workspace.command(line);
      }
      await workspace.settle(300, 15_000);
    }
    await handleModals(workspace, reader, print);
    await workspace.settle(300, 15_000);
  } finally {
    reader.close();
    await bot.stop();
    await workspace.close();
  }
  if (interactive) opts.output.write('Bye.\n');
  return 0;
}

async function handleModals(
  workspace: ConsoleWorkspace,
  reader: LineReader,
  print: (t: string) => void,
): Promise<void> {
  for (let modal = workspace.takeModal(); modal; modal = workspace.takeModal()) {
    await walkModal(workspace, modal, reader, print);
    await workspace.settle(300, 15_000);
  }
}

/** The console user's email in its Slack (the sandbox makes it a PagerDuty user too). */
export function consoleUserEmail(): string {
  return `${safeUserName()}@localhost`;
}

function safeUserName(): string {
  try {
    return userInfo().username || 'you';
  } catch {
    return 'you';
  }
}

function defaultBanner(config: Config, port: number | undefined): string {
  const lines = [
    'dmp-bot console — the support runbook without Slack.',
    'Type /dmp help for the commands, a number to press a button, exit to leave.',
  ];
  if (port !== undefined) lines.push(`HTTP server on port ${port} (GET /health, POST /pagerduty/webhook).`);
  if (!config.DMP_DATABASE_URL && !config.DMP_REDIS_URL && !config.DMP_API_URL && !config.KUBECONFIG) {
    lines.push('Nothing is configured yet: see the README, or try `npm run sandbox` for a simulated platform.');
  }
  return `${lines.join('\n')}\n`;
}
