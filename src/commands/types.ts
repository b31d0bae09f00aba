// A `/dmp` command: words, help text and a function from a request to a reply.
import type { Message } from '../blocks/message.js';
import type { Deps } from '../deps.js';

export type CommandGroup = 'Health' | 'Diagnosis' | 'Reference' | 'Remediation' | 'Incidents' | 'Bot';

export interface CommandRequest {
  userId: string;
  /** The asker's Slack name, when the slash command carries it. */
  userName?: string;
  channelId: string;
  /** The whole text after `/dmp`. */
  text: string;
  /** Words after the command's own words. */
  args: string[];
}

export interface Command {
  words: string[];
  usage?: string;
  summary: string;
  /** The runbook section it implements (or "Bot"). */
  section: string;
  group: CommandGroup;
  /** Its answer may hold what a channel should not read (log lines, the audit log): told to the asker alone. */
  private?: boolean;
  run(deps: Deps, req: CommandRequest): Promise<Message>;
}
