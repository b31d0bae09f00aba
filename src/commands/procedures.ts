// Every runbook procedure becomes a command: run its checks, render the report.
import { reportMessage } from '../blocks/report.js';
import { PROCEDURES } from '../runbooks/index.js';
import { runProcedure } from '../runbooks/run.js';
import type { Procedure } from '../runbooks/types.js';
import type { Command } from './types.js';

export function procedureCommand(p: Procedure): Command {
  return {
    words: p.words,
    usage: p.usage,
    summary: p.summary,
    section: p.section,
    group: p.group,
    ...(p.private ? { private: true } : {}),
    async run(deps, req) {
      const report = await runProcedure(p, deps.targets, req.args, deps.config.CHECK_DEADLINE);
      return reportMessage(report, { grafanaUrl: deps.config.GRAFANA_URL });
    },
  };
}

export const procedureCommands: Command[] = PROCEDURES.map(procedureCommand);
