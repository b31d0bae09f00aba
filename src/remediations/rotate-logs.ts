// Runbook: Maintenance Procedures › Log Rotation — disk use of /var/log in a pod and a forced
// `logrotate -f /etc/logrotate.conf`, through the Kubernetes exec API (client-node's Exec over
// a WebSocket), never a kubectl binary or a shell: each command is an argument vector.
import { z } from 'zod';
import { code } from '../domain/text.js';
import { UserError } from '../errors.js';
import { DF_COMMAND, EXEC_TIMEOUT_MS, type ExecResult, execInPod } from '../targets/kube-exec.js';
import { isNotFound, kubeMessage, objectName } from './kube.js';
import type { ActionContext } from './types.js';
import { defineRemediation } from './types.js';

export const LOGROTATE_COMMAND = ['logrotate', '-f', '/etc/logrotate.conf'];

async function firstContainer(ctx: ActionContext, pod: string): Promise<string> {
  const found = await ctx.targets.kube.run(async ({ core, namespace }) => {
    try {
      return await core.readNamespacedPod({ name: pod, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw kubeMessage(err);
    }
  });
  if (!found)
    throw new UserError([
      'There is no pod ',
      code(pod),
      ' in namespace ',
      code(ctx.targets.kube.namespace),
      ' (see ',
      code('/dmp pods'),
      ').',
    ]);
  // Exec cannot be limited by name in RBAC (pods have generated names), so the bot limits it:
  // only into pods of the platform's own deployments (DMP_DEPLOYMENTS), by their app label.
  const app = found.metadata?.labels?.app;
  if (!app || !ctx.config.DMP_DEPLOYMENTS.includes(app))
    throw new UserError([
      'Pod ',
      code(pod),
      ` is not one of the platform's (${ctx.config.DMP_DEPLOYMENTS.join(', ')}); I only rotate logs there.`,
    ]);
  const name = found.spec?.containers?.[0]?.name;
  if (!name) throw new UserError(['Pod ', code(pod), ' has no container to run logrotate in.']);
  return name;
}

function outputLines(r: ExecResult): string[] {
  return [...r.stdout.split('\n'), ...r.stderr.split('\n')].map((l) => l.trimEnd()).filter(Boolean);
}

export const rotateLogs = defineRemediation({
  id: 'rotate-logs',
  title: 'Force log rotation in a pod',
  section: 'Maintenance Procedures › Log Rotation',
  risk: 'low',
  schema: z.object({ pod: objectName.max(253) }),
  riskKeys: (p) => ['rotate-logs', `rotate-logs:${p.pod}`],
  label: (p) => `Rotate logs in ${p.pod}`,
  async preview(ctx, p) {
    const container = await firstContainer(ctx, p.pod);
    const df = await ctx.targets.kube.run(
      (apis) => execInPod(apis, p.pod, container, DF_COMMAND),
      EXEC_TIMEOUT_MS + 5_000,
    );
    return {
      summary: [`${p.pod}: run `, code(LOGROTATE_COMMAND.join(' ')), ` in container ${container}`],
      details: [[code(DF_COMMAND.join(' ')), ' now:'], ...outputLines(df)],
    };
  },
  async execute(ctx, p) {
    const container = await firstContainer(ctx, p.pod);
    const rotate = await ctx.targets.kube.run(
      (apis) => execInPod(apis, p.pod, container, LOGROTATE_COMMAND),
      EXEC_TIMEOUT_MS + 5_000,
    );
    const df = await ctx.targets.kube.run(
      (apis) => execInPod(apis, p.pod, container, DF_COMMAND),
      EXEC_TIMEOUT_MS + 5_000,
    );
    return {
      ok: rotate.exitCode === 0,
      summary: rotate.exitCode === 0 ? `${p.pod}: logs rotated` : `${p.pod}: logrotate exited with ${rotate.exitCode}`,
      details: [
        ...outputLines(rotate).map((l) => `logrotate: ${l}`),
        [code(DF_COMMAND.join(' ')), ' after:'],
        ...outputLines(df),
      ],
    };
  },
});
