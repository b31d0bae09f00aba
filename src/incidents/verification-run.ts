// Runs a queued verification in the outbox's turn: the incident's diagnosis again, compared with
// the last one, posted as "Verification …", recorded with its changes and put in the timeline.
import { findProcedure } from '../runbooks/index.js';
import { runProcedure } from '../runbooks/run.js';
import { completePost, type OutboxRow } from './outbox.js';
import { addTimeline } from './timeline.js';
import type { Incident, StatusIntent } from './types.js';
import { changesBetween, checkStates, latestChecks, recordDiagnosis } from './verification.js';
import type { WorkerEnv } from './worker-env.js';

/** Runs a queued verification: the diagnosis again, compared, recorded, posted. */
export async function sendVerification(
  env: WorkerEnv,
  row: OutboxRow,
  i: Incident,
  intent: Extract<StatusIntent, { type: 'verification' }>,
): Promise<void> {
  const { deps, slack } = env;
  const procedure = findProcedure(i.procedureId ?? 'health') ?? findProcedure('health');
  if (!procedure) return completePost(deps.store, row.id, deps.now());
  const report = await runProcedure(procedure, deps.targets, [], deps.config.CHECK_DEADLINE);
  const before = await latestChecks(deps.store, i.id, procedure.id, row.id);
  const after = checkStates(report.findings);
  const changes = changesBetween(before, after);
  const wrong = after.filter((c) => c.status !== 'ok');
  const critical = after.some((c) => c.status === 'critical');
  const verified: Extract<StatusIntent, { type: 'verified' }> = {
    type: 'verified',
    trigger: intent.trigger,
    ...(intent.label ? { label: intent.label } : {}),
    procedureTitle: procedure.title,
    changes,
    wrong,
    critical,
  };
  const now = deps.now();
  // Recorded before it is posted (a retried post records it again, once): Resolve may read it the moment it shows.
  await recordDiagnosis(deps.store, i.id, report, now, {
    trigger: intent.trigger,
    ...(intent.label ? { label: intent.label } : {}),
    outboxId: row.id,
    changes,
    ...(intent.actor ? { actor: intent.actor } : {}),
  });
  await slack.postReply(i, verified);
  await deps.store.tx(async (q) => {
    await addTimeline(q, i.id, {
      at: now,
      kind: 'verification',
      actor: { source: 'bot' },
      text: `Verification after ${intent.trigger === 'mitigated' ? 'Mitigated' : (intent.label ?? 'a remediation')}: ${
        changes.length ? changes.map((c) => `${c.check}: ${c.before} → ${c.after}`).join('; ') : 'no check changed'
      }${
        critical
          ? ` — still critical: ${wrong
              .filter((c) => c.status === 'critical')
              .map((c) => c.check)
              .join(', ')}`
          : ' — nothing critical'
      }`,
      source: 'bot',
    });
    await completePost(q, row.id, now);
  });
}
