// Runbook: Incident Response › Rollback Procedure — `kubectl rollout undo`, done as kubectl's
// DeploymentRollbacker does it: the revision's ReplicaSet template (without pod-template-hash)
// and annotations (minus the ones kubectl keeps from the deployment) replace the deployment's
// in one JSON patch; nothing is done when the template already matches. Then the rollout is
// followed in the thread until it completes, fails (ProgressDeadlineExceeded) or times out.
import type { V1Deployment } from '@kubernetes/client-node';
import { z } from 'zod';
import { UserError } from '../errors.js';
import {
  assertPlatformDeployment,
  currentRevision,
  equalIgnoreHash,
  followRollout,
  kubeMessage,
  objectName,
  type Revision,
  readDeployment,
  revisionHistory,
  templateWithoutHash,
} from './kube.js';
import type { ActionContext } from './types.js';
import { defineRemediation } from './types.js';

const revisionNumber = z.coerce.number().int('a revision is a whole number').min(1, 'revisions start at 1');

const schema = z.object({
  deployment: objectName,
  /** The revision asked for; absent means the previous one. */
  revision: revisionNumber.optional(),
  /** Fixed by the preview: the revision shown as the target, and the one current then. */
  toRevision: revisionNumber.optional(),
  fromRevision: z.coerce.number().int().optional(),
});

/** Annotations kubectl keeps from the deployment instead of copying them from the ReplicaSet. */
export const ANNOTATIONS_TO_SKIP = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  'deployment.kubernetes.io/revision',
  'deployment.kubernetes.io/revision-history',
  'deployment.kubernetes.io/desired-replicas',
  'deployment.kubernetes.io/max-replicas',
  'deprecated.deployment.rollback.to',
]);

/** kubectl's deploymentRevision: the given revision exactly, or the second newest. */
function pickTarget(name: string, history: Revision[], wanted: number | undefined): Revision {
  if (wanted !== undefined) {
    const found = history.find((r) => r.revision === wanted);
    if (!found) {
      const known = history.map((r) => r.revision).join(', ') || 'none';
      throw new UserError(
        `Unable to find revision ${wanted} of ${name} (known revisions: ${known}); nothing was changed.`,
      );
    }
    return found;
  }
  const previous = history[1];
  if (!previous)
    throw new UserError(`No rollout history found for ${name}: there is no previous revision to roll back to.`);
  return previous;
}

function describe(r: Revision): string {
  return `revision ${r.revision} (${r.images.join(', ') || 'no image'}${r.changeCause ? `; ${r.changeCause}` : ''})`;
}

async function load(ctx: ActionContext, name: string): Promise<{ d: V1Deployment; history: Revision[] }> {
  const d = await readDeployment(ctx, name);
  const history = await ctx.targets.kube.run((apis) => revisionHistory(apis, d));
  return { d, history };
}

/** The annotations kubectl writes: the skipped ones from the deployment, all others from the ReplicaSet. */
export function rollbackAnnotations(d: V1Deployment, target: Revision): Record<string, string> {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata?.annotations ?? {}))
    if (ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  for (const [k, v] of Object.entries(target.rs.metadata?.annotations ?? {}))
    if (!ANNOTATIONS_TO_SKIP.has(k)) annotations[k] = v;
  return annotations;
}

export const rollbackDeployment = defineRemediation({
  id: 'rollback-deployment',
  title: 'Roll back a deployment',
  section: 'Incident Response › Rollback Procedure',
  risk: 'high',
  schema,
  riskKeys: (p) => ['rollback-deployment', `rollback-deployment:${p.deployment}`],
  label: (p) => `Roll back ${p.deployment}${p.revision ? ` to revision ${p.revision}` : ''}`,
  async preview(ctx, p) {
    assertPlatformDeployment(ctx, p.deployment);
    const { d, history } = await load(ctx, p.deployment);
    if (d.spec?.paused) {
      throw new UserError(
        `${p.deployment} is paused: kubectl refuses to roll back a paused deployment (resume it first); nothing was changed.`,
      );
    }
    const target = pickTarget(p.deployment, history, p.revision);
    const current = currentRevision(d, history);
    const currentImages = (d.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '?').join(', ');
    const details = history.slice(0, 10).map((r) => {
      const mark = r.revision === current ? ' ← current' : r.revision === target.revision ? ' ← target' : '';
      return `${describe(r)}${mark}`;
    });
    details.push(
      `kubectl equivalent: kubectl rollout undo deployment/${p.deployment}${p.revision ? ` --to-revision=${p.revision}` : ''}`,
    );
    const summary = `${p.deployment}: revision ${current ?? '?'} → ${target.revision} (image ${target.images.join(', ') || '?'}; now ${currentImages || '?'})`;
    if (equalIgnoreHash(target.rs.spec?.template, d.spec?.template)) {
      return {
        summary,
        details,
        nothingToDo: `The current template already matches revision ${target.revision}: kubectl would skip this rollback.`,
      };
    }
    return { summary, details, pinned: { toRevision: target.revision, fromRevision: current ?? 0 } };
  },
  async execute(ctx, p) {
    assertPlatformDeployment(ctx, p.deployment);
    const { d, history } = await load(ctx, p.deployment);
    if (d.spec?.paused) throw new UserError(`${p.deployment} is paused; resume it first. Nothing was changed.`);
    const current = currentRevision(d, history) ?? 0;
    if (p.fromRevision !== undefined && p.fromRevision !== current) {
      throw new UserError(
        `${p.deployment} changed since the preview (revision ${p.fromRevision} then, ${current} now); nothing was changed — run the rollback again to see a fresh preview.`,
      );
    }
    const target = pickTarget(p.deployment, history, p.toRevision ?? p.revision);
    if (equalIgnoreHash(target.rs.spec?.template, d.spec?.template)) {
      return {
        ok: true,
        summary: `skipped rollback: the current template of ${p.deployment} already matches revision ${target.revision}`,
      };
    }
    const patch = [
      { op: 'replace', path: '/spec/template', value: templateWithoutHash(target.rs.spec?.template) },
      { op: 'replace', path: '/metadata/annotations', value: rollbackAnnotations(d, target) },
    ];
    await ctx.targets.kube.run(async ({ apps, namespace, lib }) => {
      try {
        return await apps.patchNamespacedDeployment(
          { name: p.deployment, namespace, body: patch },
          lib.setHeaderOptions('Content-Type', lib.PatchStrategy.JsonPatch),
        );
      } catch (err) {
        throw kubeMessage(err);
      }
    });
    await ctx.progress({
      status: 'rolled_back',
      text: [`${p.deployment} rolled back to ${describe(target)}; following the rollout…`],
    });
    const rollout = await followRollout(ctx, p.deployment);
    const what = `${p.deployment}: revision ${current} → ${target.revision} (image ${target.images.join(', ')})`;
    return {
      ok: rollout.ok,
      summary: rollout.ok
        ? `rolled back ${what}; ${rollout.message}`
        : `rolled back ${what}, but the rollout did not finish: ${rollout.message}`,
    };
  },
});
