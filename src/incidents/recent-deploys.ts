// The runbook's "review recent deployments", done for the automatic diagnosis of a new thread:
// the platform deployments' rollouts of the last 24 hours, read from the rollout history the bot
// already reads. A rollout within the hour before the page is the likeliest cause: it is called
// out first, with a Rollback button to its previous revision (through the remediation safety layer).
import { formatDuration } from '../duration.js';
import { type RolloutHistory, readRolloutHistory } from '../runbooks/rollout-history.js';
import { failureFinding } from '../runbooks/run.js';
import { type Finding, type NextStep, type Report, worst } from '../runbooks/types.js';
import type { Targets } from '../targets/index.js';
import type { Incident } from './types.js';

const DAY_MS = 24 * 3_600_000;
const SUSPECT_MS = 3_600_000;

export const RECENT_DEPLOYMENTS = 'Recent deployments';

interface Rollout {
  deployment: string;
  revision: number;
  previous?: number;
  created: Date;
  images: string[];
  changeCause?: string;
}

function rolloutsOf(h: RolloutHistory, since: number): Rollout[] {
  // Newest first: each revision's predecessor is the next older one still kept.
  const sorted = [...h.revisions].sort((a, b) => b.revision - a.revision);
  return sorted
    .map((r, n) => ({ r, prev: sorted[n + 1] }))
    .filter(({ r, prev }) => r.created && r.created.getTime() >= since && prev)
    .map(({ r, prev }) => ({
      deployment: h.deployment,
      revision: r.revision,
      previous: prev?.revision,
      created: r.created as Date,
      images: r.images,
      ...(r.changeCause ? { changeCause: r.changeCause } : {}),
    }));
}

/** The automatic diagnosis with the recent rollouts added: a suspect one first, with its Rollback. */
export async function withRecentDeployments(
  report: Report,
  targets: Targets,
  deployments: readonly string[],
  i: Pick<Incident, 'triggeredAt'>,
  deadlineMs: number,
): Promise<Report> {
  if (!targets.kube.configured) return report;
  const now = targets.now();
  let rollouts: Rollout[] = [];
  try {
    const histories = await Promise.all(deployments.map((d) => readRolloutHistory(targets.kube, d, deadlineMs)));
    rollouts = histories
      .filter((h): h is RolloutHistory => h !== undefined)
      .flatMap((h) => rolloutsOf(h, now.getTime() - DAY_MS))
      .sort((a, b) => b.created.getTime() - a.created.getTime());
  } catch (err) {
    return { ...report, findings: [...report.findings, failureFinding(RECENT_DEPLOYMENTS, err)] };
  }
  const paged = i.triggeredAt.getTime();
  const suspects = rollouts.filter((r) => r.created.getTime() <= paged && paged - r.created.getTime() <= SUSPECT_MS);
  const line = (r: Rollout) => {
    const rel =
      r.created.getTime() <= paged
        ? `${formatDuration(paged - r.created.getTime())} before the page`
        : `${formatDuration(r.created.getTime() - paged)} after the page`;
    return `${r.deployment} revision ${r.revision} (${r.images.join(', ') || 'no image'}) rolled out ${rel}${r.changeCause ? ` — ${r.changeCause}` : ''}`;
  };
  const finding: Finding = suspects.length
    ? {
        check: RECENT_DEPLOYMENTS,
        status: 'warn',
        summary: `Deployed within the hour before the page: ${suspects.map(line).join('; ')}. Likely cause: roll back.`,
        details: rollouts.map(line),
        facts: { suspects: suspects.map((s) => s.deployment) },
      }
    : {
        check: RECENT_DEPLOYMENTS,
        status: 'ok',
        summary: rollouts.length
          ? `${rollouts.length} rollout${rollouts.length === 1 ? '' : 's'} in the last 24 hours, none within the hour before the page`
          : `no rollout of ${deployments.join(', ')} in the last 24 hours`,
        ...(rollouts.length ? { details: rollouts.map(line) } : {}),
      };
  const rollbacks: NextStep[] = suspects
    .filter((s) => s.previous !== undefined)
    .map((s) => ({
      remedy: 'rollback-deployment',
      label: `Rollback ${s.deployment} to revision ${s.previous}`,
      reason: `${s.deployment} revision ${s.revision} went out ${formatDuration(paged - s.created.getTime())} before the page: roll back (kubectl rollout undo deployment/${s.deployment} --to-revision=${s.previous})`,
      params: { deployment: s.deployment, revision: s.previous as number },
    }));
  const findings = suspects.length ? [finding, ...report.findings] : [...report.findings, finding];
  return {
    ...report,
    findings,
    verdict: worst(findings.map((f) => f.status)),
    nextSteps: [...rollbacks, ...report.nextSteps],
  };
}
