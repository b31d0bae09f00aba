// `/dmp help` and `/dmp help <command>`, generated from the registry.

import { fitBlocks } from '../blocks/limits.js';
import { context, esc, header, type Message, section } from '../blocks/message.js';
import { findProcedure, PROCEDURES } from '../runbooks/index.js';
import { resolve } from './parse.js';
import type { Command, CommandGroup } from './types.js';

const GROUP_ORDER: CommandGroup[] = ['Health', 'Diagnosis', 'Remediation', 'Incidents', 'Reference', 'Bot'];

export function usageOf(c: Command): string {
  return `/dmp ${c.words.join(' ')}${c.usage ? ` ${c.usage}` : ''}`;
}

export function helpMessage(commands: readonly Command[], intro?: string): Message {
  const blocks: Message['blocks'] = [header('dmp-bot: the support runbook in Slack')];
  if (intro) blocks.push(section(intro));
  for (const group of GROUP_ORDER) {
    const inGroup = commands.filter((c) => c.group === group);
    if (!inGroup.length) continue;
    blocks.push(section(`*${group}*\n${inGroup.map((c) => `\`${esc(usageOf(c))}\` — ${esc(c.summary)}`).join('\n')}`));
  }
  blocks.push(context(`\`${esc('/dmp help <command>')}\` tells more about one command.`));
  const text = `${intro ? `${intro}\n` : ''}Commands: ${commands.map((c) => esc(usageOf(c))).join(', ')}`;
  return { text, blocks: fitBlocks(blocks) };
}

/**
 * The answer to words that are no command: the nearest command first, where it cannot scroll
 * away, then every command's words on one line; the full help is `/dmp help`'s.
 */
export function unknownCommandMessage(commands: readonly Command[], intro: string): Message {
  const list = `Commands: ${commands.map((c) => `/dmp ${c.words.join(' ')}`).join(', ')}. \`/dmp help\` explains each.`;
  return { text: `${intro}\n${list}`, blocks: fitBlocks([section(intro), context(esc(list))]) };
}

export function commandHelp(commands: readonly Command[], words: string[]): Message {
  const r = resolve(commands, words.join(' '));
  if (!r.command)
    return unknownCommandMessage(
      commands,
      `No command \`${esc(words.join(' '))}\`.${r.suggestion ? ` Did you mean \`${esc(usageOf(r.suggestion))}\`?` : ''}`,
    );
  const c = r.command;
  const lines = [`*\`${esc(usageOf(c))}\`*`, esc(c.summary), `Runbook: ${esc(c.section)}`];
  const p = PROCEDURES.find((x) => x.words.join(' ') === c.words.join(' '));
  const proc = p ? findProcedure(p.id) : undefined;
  if (proc) {
    lines.push(`Checks: ${proc.checks.map((k) => esc(k.title)).join(', ')}`);
    if (proc.remedies.length)
      lines.push(`Remedies: ${proc.remedies.map((m) => `${esc(m.title)} (${m.risk} risk)`).join(', ')}`);
  }
  return { text: `${esc(usageOf(c))}: ${esc(c.summary)}`, blocks: [section(lines.join('\n'))] };
}

/**
 * `/dmp help`: its answers depend on nothing but the command list, which is fixed once the
 * registry is built, so each is rendered once and handed out again (marked `fixed`, so the
 * Slack glue may keep its rendered ack too). An answer naming no command echoes the asker's
 * words and is rendered each time.
 */
export function helpCommand(all: () => readonly Command[]): Command {
  let full: Message | undefined;
  const one = new Map<string, Message>();
  return {
    words: ['help'],
    usage: '[command]',
    summary: 'this list, or more about one command',
    section: 'Bot',
    group: 'Bot',
    run: async (_deps, req) => {
      if (!req.args.length) {
        full ??= Object.freeze({ ...helpMessage(all()), fixed: true });
        return full;
      }
      const r = resolve(all(), req.args.join(' '));
      if (!r.command) return commandHelp(all(), req.args);
      const key = r.command.words.join(' ');
      let m = one.get(key);
      if (!m) {
        m = Object.freeze({ ...commandHelp(all(), r.command.words), fixed: true });
        one.set(key, m);
      }
      return m;
    },
  };
}
