// An action left `running` by a process that died or was stopped: follow its rollout to the end
// when the change is visible on the deployment (restart, rollback, scale), else call it
// interrupted with its outcome unknown. Either way the row leaves `running` (so the same action
// can be started again) and the audit log says how it ended. No Slack types: the glue posts.
import type { V1Deployment } from '@kubernetes/client-node';
import { code, plainText, type RichText } from '../domain/text.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../redact.js';
import { recordAudit } from '../store/audit.js';
import { type ActionRow, transition } from '../store/remediations.js';
import type { Sql } from '../store/sql.js';
import { equalIgnoreHash, followRollout, RESTARTED_AT_ANNOTATION, readDeployment, revisionHistory } from './kube.js';
import type { ActionContext, Outcome, ProgressNote } from './types.js';

export type Recovered =
  | { kind: 'followed'; action: ActionRow; outcome: Outcome }
  | { kind: 'interrupted'; action: ActionRow; outcome: Outcome }
  /** Someone else ended it meanwhile (its own process, finishing after all): nothing to say. */
  | { kind: 'settled' };

export interface RecoveryDeps {
  store: Sql;
  log: Logger;
  redactor: Redactor;
  context(progress: (note: ProgressNote) => Promise<void>): ActionContext;
  labelOf(row: ActionRow): string;
}

const DEPLOYMENT_REMEDIES = new Set(['restart-deployment', 'rollback-deployment', 'scale-deployment']);

/** Where an operator looks to see what happened: the deployment's history, else the audit log. */
export function whereToCheck(row: ActionRow): string {
  const deployment = row.params.deployment;
  return DEPLOYMENT_REMEDIES.has(row.remedy) && typeof deployment === 'string'
    ? `/dmp rollout history ${deployment}`
    : '/dmp audit';
}

export function interruptedSummary(row: ActionRow): RichText {
  return ['interrupted — outcome unknown, check ', code(whereToCheck(row))];
}

/** Whether the change the action makes is already on the deployment, so its rollout is the one to follow. */
async function changeIsVisible(ctx: ActionContext, row: ActionRow, d: V1Deployment): Promise<boolean> {
  const p = row.params;
  switch (row.remedy) {
    case 'restart-deployment': {
      const stamp = Date.parse(d.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] ?? '');
      // restartedAt has whole seconds and is stamped after the move to running.
      const since = row.startedAt ?? row.createdAt;
      return Number.isFinite(stamp) && stamp >= Math.floor(since.getTime() / 1000) * 1000;
    }
    case 'scale-deployment':
      return typeof p.replicas === 'number' && d.spec?.replicas === p.replicas;
    case 'rollback-deployment': {
      const to = Number(p.toRevision ?? p.revision);
      if (!Number.isInteger(to)) return false;
      const history = await ctx.targets.kube.run((apis) => revisionHistory(apis, d));
      const target = history.find((r) => r.revision === to);
      return target !== undefined && equalIgnoreHash(target.rs.spec?.template, d.spec?.template);
    }
    default:
      return false;
  }
}

/** What became of an action whose process is gone; `progress` posts in its thread. */
export async function recoverAction(
  deps: RecoveryDeps,
  row: ActionRow,
  progress: (note: ProgressNote) => Promise<void>,
): Promise<Recovered> {
  const ctx = deps.context(progress);
  const label = deps.labelOf(row);
  const deployment = typeof row.params.deployment === 'string' ? row.params.deployment : undefined;
  let outcome: Outcome | undefined;
  if (deployment && DEPLOYMENT_REMEDIES.has(row.remedy)) {
    try {
      const d = await readDeployment(ctx, deployment);
      if (await changeIsVisible(ctx, row, d)) {
        await progress({
          status: 'resumed',
          text: [`${label} was under way when the bot restarted; following its rollout…`],
        });
        const rollout = await followRollout(ctx, deployment);
        outcome = {
          ok: rollout.ok,
          summary: rollout.ok
            ? `${rollout.message} (followed after the bot restarted)`
            : `did not finish: ${rollout.message} (followed after the bot restarted)`,
        };
      }
    } catch (err) {
      deps.log.warn({ err, id: row.id }, 'could not look at the deployment of an interrupted remediation');
    }
  }
  const interrupted = outcome === undefined;
  const final: Outcome = outcome ?? { ok: false, summary: interruptedSummary(row) };
  final.summary = deps.redactor.redactDeep(final.summary);
  const done = await transition(deps.store, row.id, ['running'], final.ok ? 'succeeded' : 'failed', { result: final });
  if (!done) return { kind: 'settled' };
  try {
    await recordAudit(deps.store, {
      kind: 'remediation',
      userId: row.approvedBy ?? row.confirmedBy ?? row.requestedBy,
      channelId: row.channelId,
      action: row.remedy,
      outcome: interrupted ? 'interrupted' : final.ok ? 'ok' : 'error',
      text: `${label}: ${plainText(final.summary)}`,
      reason: row.reason,
      detail: { id: row.id, params: row.params, recoveredBy: row.owner },
    });
  } catch (err) {
    deps.log.error({ err }, 'could not write the audit log');
  }
  return interrupted
    ? { kind: 'interrupted', action: done, outcome: final }
    : { kind: 'followed', action: done, outcome: final };
}
