// Every `/dmp` command. Features add theirs with one line here.
import { auditCommand } from './audit.js';
import { helpCommand } from './help.js';
import { procedureCommands } from './procedures.js';
import type { Command } from './types.js';

export function allCommands(): Command[] {
  return COMMANDS;
}

const COMMANDS: Command[] = [...procedureCommands, auditCommand, helpCommand(allCommands)];
