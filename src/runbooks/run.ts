// Runs a procedure's checks in parallel, each under its own deadline, so a reply takes as
// long as the slowest check and never longer than the deadline.
import { deadline } from '../async.js';
import { ErrorCode, TargetError } from '../errors.js';
import type { Targets } from '../targets/index.js';
import { type Check, type Finding, type Procedure, type Report, worst } from './types.js';

export async function runCheck(check: Check, targets: Targets, args: string[], deadlineMs: number): Promise<Finding[]> {
  return deadline<Finding[]>(
    deadlineMs,
    async (signal): Promise<Finding[]> => {
      try {
        const out = await check.run({ targets, args, signal, now: targets.now() });
        return Array.isArray(out) ? out : [out];
      } catch (err) {
        return [failureFinding(check.title, err)];
      }
    },
    () => [{ check: check.title, status: 'critical', summary: `timed out: no answer within ${formatMs(deadlineMs)}` }],
  );
}

/** A check that threw becomes a finding: "not configured" is unknown, down is critical. */
export function failureFinding(title: string, err: unknown): Finding {
  const e = err instanceof TargetError ? err : TargetError.from('platform-api', err);
  if (e.code === ErrorCode.NotConfigured) {
    return { check: title, status: 'unknown', summary: `not configured${e.hint ? ` — ${e.hint}` : ''}` };
  }
  const prefix = err instanceof TargetError ? `${e.sentence()}` : `failed: ${e.message}`;
  return { check: title, status: 'critical', summary: prefix };
}

export async function runProcedure(
  procedure: Procedure,
  targets: Targets,
  args: string[],
  deadlineMs: number,
): Promise<Report> {
  const started = performance.now();
  procedure.validateArgs?.(args, targets.config.DMP_DEPLOYMENTS);
  const results = await Promise.all(procedure.checks.map((check) => runCheck(check, targets, args, deadlineMs)));
  const findings = results.flat();
  return {
    procedure: {
      id: procedure.id,
      title: procedure.title,
      section: procedure.section,
      dashboard: procedure.dashboard,
      words: procedure.words,
      group: procedure.group,
      guidance: procedure.guidance,
    },
    verdict: worst(findings.map((f) => f.status)),
    findings,
    nextSteps: procedure.advise?.(findings, args) ?? [],
    durationMs: Math.round(performance.now() - started),
  };
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms} ms`;
}
