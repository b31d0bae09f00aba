// Every `/dmp` command. Features add theirs with one line here; bot.ts builds the list once
// per bot, with whatever extra commands its start options bring (the sandbox's `/dmp sandbox …`).
import { auditCommand } from './audit.js';
import { helpCommand } from './help.js';
import { incidentCommands } from './incidents.js';
import { procedureCommands } from './procedures.js';
import { remediationCommands } from './remediations.js';
import type { Command } from './types.js';

/** The production commands, then `extra` (a word sequence already taken is not replaced), then help over all of them. */
export function commandRegistry(extra: readonly Command[] = []): Command[] {
  const list: Command[] = [...procedureCommands, ...remediationCommands, ...incidentCommands, auditCommand];
  for (const c of extra) if (!list.some((x) => x.words.join(' ') === c.words.join(' '))) list.push(c);
  list.push(helpCommand(() => list));
  return list;
}
