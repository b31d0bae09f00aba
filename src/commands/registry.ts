// Every `/dmp` command. Features add theirs with one line here.
import { auditCommand } from './audit.js';
import { helpCommand } from './help.js';
import { incidentCommands } from './incidents.js';
import { procedureCommands } from './procedures.js';
import { remediationCommands } from './remediations.js';
import type { Command } from './types.js';

export function allCommands(): Command[] {
  return COMMANDS;
}

/** Adds commands before the bot starts: the sandbox's `/dmp sandbox …`, which production never has. */
export function registerCommands(...more: Command[]): void {
  for (const c of more) if (!COMMANDS.some((x) => x.words.join(' ') === c.words.join(' '))) COMMANDS.push(c);
}

const COMMANDS: Command[] = [...procedureCommands, ...remediationCommands, ...incidentCommands, auditCommand, helpCommand(allCommands)];
