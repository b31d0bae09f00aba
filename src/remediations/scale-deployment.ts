// Runbook: Scans Stuck in Pending › Resolution 1 — scale a deployment to N replicas, through
// the /scale subresource with a merge patch of spec.replicas, as `kubectl scale` does.
import { z } from 'zod';
import { UserError } from '../errors.js';
import { assertPlatformDeployment, kubeMessage, objectName, readDeployment } from './kube.js';
import { defineRemediation } from './types.js';

const schema = z.object({
  deployment: objectName,
  replicas: z.coerce.number().int('replicas must be a whole number').min(0).max(1000),
});

export const scaleDeployment = defineRemediation({
  id: 'scale-deployment',
  title: 'Scale a deployment',
  section: 'Common Issues › Scans Stuck in Pending › Resolution 1',
  risk: 'medium',
  schema,
  // Judged by effect: scaling to zero stops the deployment, whichever way the number came in.
  riskKeys: (p) => [
    'scale-deployment',
    `scale-deployment:${p.deployment}`,
    ...(p.replicas === 0 ? ['scale-deployment:zero', `scale-deployment:${p.deployment}:zero`] : []),
  ],
  label: (p) => `Scale ${p.deployment} to ${p.replicas}`,
  async preview(ctx, p) {
    assertPlatformDeployment(ctx, p.deployment);
    const { SCALE_MIN: min, SCALE_MAX: max } = ctx.config;
    if (p.replicas < min || p.replicas > max) {
      throw new UserError(
        `${p.replicas} replicas is outside the allowed range ${min}–${max} (SCALE_MIN, SCALE_MAX); nothing was changed.`,
      );
    }
    const d = await readDeployment(ctx, p.deployment);
    const now = d.spec?.replicas ?? 0;
    const ready = d.status?.readyReplicas ?? 0;
    const details = [
      `${ready} of ${now} ready now`,
      `kubectl equivalent: kubectl scale deployment/${p.deployment} --replicas=${p.replicas}`,
    ];
    if (now === p.replicas)
      return {
        summary: `${p.deployment}: replicas ${now} → ${p.replicas}`,
        details,
        nothingToDo: `${p.deployment} already runs ${now} replicas.`,
      };
    return { summary: `${p.deployment}: replicas ${now} → ${p.replicas}`, details, pinned: { from: now } };
  },
  async execute(ctx, p) {
    assertPlatformDeployment(ctx, p.deployment);
    const { SCALE_MIN: min, SCALE_MAX: max } = ctx.config;
    if (p.replicas < min || p.replicas > max)
      throw new UserError(`${p.replicas} replicas is outside ${min}–${max}; nothing was changed.`);
    const before = (await readDeployment(ctx, p.deployment)).spec?.replicas ?? 0;
    const scale = await ctx.targets.kube.run(async ({ apps, namespace, lib }) => {
      try {
        return await apps.patchNamespacedDeploymentScale(
          { name: p.deployment, namespace, body: { spec: { replicas: p.replicas } } },
          lib.setHeaderOptions('Content-Type', lib.PatchStrategy.MergePatch),
        );
      } catch (err) {
        throw kubeMessage(err);
      }
    });
    const after = scale.spec?.replicas ?? p.replicas;
    return { ok: after === p.replicas, summary: `${p.deployment} scaled: replicas ${before} → ${after}` };
  },
});
