// Runbook: Scans Stuck in Pending › Resolution 2 (and Pod Management) — `kubectl rollout
// restart`: a strategic-merge patch that stamps spec.template's restartedAt annotation with
// now in RFC 3339, so the controller rolls out new pods; a paused deployment is refused.
import { z } from 'zod';
import { code, type RichText } from '../domain/text.js';
import { UserError } from '../errors.js';
import {
  assertPlatformDeployment,
  followRollout,
  kubeMessage,
  objectName,
  RESTARTED_AT_ANNOTATION,
  readDeployment,
  rfc3339,
} from './kube.js';
import { defineRemediation } from './types.js';

const schema = z.object({ deployment: objectName });

const PAUSED = (name: string): RichText => [
  `${name} is paused: kubectl refuses to restart a paused deployment (run `,
  code(`kubectl rollout resume deployment/${name}`),
  ' first); nothing was changed.',
];

export const restartDeployment = defineRemediation({
  id: 'restart-deployment',
  title: 'Restart a deployment',
  section: 'Common Issues › Scans Stuck in Pending › Resolution 2',
  risk: 'medium',
  schema,
  riskKeys: (p) => ['restart-deployment', `restart-deployment:${p.deployment}`],
  label: (p) => `Restart ${p.deployment}`,
  async preview(ctx, p) {
    assertPlatformDeployment(ctx, p.deployment);
    const d = await readDeployment(ctx, p.deployment);
    if (d.spec?.paused) throw new UserError(PAUSED(p.deployment));
    const replicas = d.spec?.replicas ?? 0;
    const last = d.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
    const strategy = d.spec?.strategy?.type ?? 'RollingUpdate';
    return {
      summary: `${p.deployment}: rolling restart of ${replicas} pod${replicas === 1 ? '' : 's'} (${strategy})`,
      details: [
        `sets spec.template.metadata.annotations["${RESTARTED_AT_ANNOTATION}"] to the time of confirmation`,
        last ? `last restart: ${last}` : 'never restarted this way before',
        `kubectl equivalent: kubectl rollout restart deployment/${p.deployment}`,
      ],
    };
  },
  async execute(ctx, p) {
    assertPlatformDeployment(ctx, p.deployment);
    const d = await readDeployment(ctx, p.deployment);
    if (d.spec?.paused) throw new UserError(PAUSED(p.deployment));
    let at = rfc3339(ctx.now());
    if (d.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] === at) {
      // Restarted already within this second: the same stamp would change nothing, so take the next second.
      await new Promise((r) => setTimeout(r, 1_000 - (ctx.now().getTime() % 1_000) + 10));
      at = rfc3339(ctx.now());
    }
    await ctx.targets.kube.run(async ({ apps, namespace, lib }) => {
      try {
        return await apps.patchNamespacedDeployment(
          {
            name: p.deployment,
            namespace,
            body: { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: at } } } } },
          },
          lib.setHeaderOptions('Content-Type', lib.PatchStrategy.StrategicMergePatch),
        );
      } catch (err) {
        throw kubeMessage(err);
      }
    });
    await ctx.progress({ status: 'restarted', text: [`${p.deployment} restarted at ${at}; following the rollout…`] });
    const rollout = await followRollout(ctx, p.deployment);
    return {
      ok: rollout.ok,
      summary: rollout.ok
        ? `${p.deployment} restarted: ${rollout.message}`
        : `${p.deployment} restart did not finish: ${rollout.message}`,
      details: [`restartedAt: ${at}`],
    };
  },
});
