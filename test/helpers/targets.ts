// Targets built the way the bot builds them (createTargets over loadConfig), logging into an
// array so tests can look for leaks, and a shortcut to run one procedure by its id.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { findProcedure } from '../../src/runbooks/index.js';
import { runProcedure } from '../../src/runbooks/run.js';
import type { Report } from '../../src/runbooks/types.js';
import { closeTargets, createTargets, type Targets } from '../../src/targets/index.js';

export interface TestTargets {
  targets: Targets;
  logs: string[];
  run(id: string, args?: string[]): Promise<Report>;
  close(): Promise<void>;
}

/** Deadline for checks in tests: generous, the machine is shared. */
export const TEST_DEADLINE = '8s';

export async function makeTargets(env: Record<string, string | undefined>): Promise<TestTargets> {
  const logs: string[] = [];
  const log = createLogger('debug', { write: (line: string) => void logs.push(line) });
  const config = loadConfig({ CHECK_DEADLINE: TEST_DEADLINE, ...env } as NodeJS.ProcessEnv);
  // No in-cluster service account leaks in from the machine running the tests.
  const targets = await createTargets(config, log, { env: {} });
  return {
    targets,
    logs,
    async run(id, args = []) {
      const p = findProcedure(id);
      if (!p) throw new Error(`no procedure ${id}`);
      return runProcedure(p, targets, args, config.CHECK_DEADLINE);
    },
    close: () => closeTargets(targets),
  };
}

export function finding(report: Report, check: string) {
  const f = report.findings.find((x) => x.check === check);
  if (!f) throw new Error(`no finding "${check}" in ${report.findings.map((x) => x.check).join(', ')}`);
  return f;
}

/** Everything a report says, for "does it mention X" assertions. */
export function reportText(report: Report): string {
  return JSON.stringify(report);
}
