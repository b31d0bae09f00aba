// Runbook: Maintenance Procedures › Log Rotation — disk use of /var/log in a pod and a forced
// `logrotate -f /etc/logrotate.conf`, through the Kubernetes exec API (client-node's Exec over
// a WebSocket), never a kubectl binary or a shell: each command is an argument vector.
import { Writable } from 'node:stream';
import { Exec, type V1Status } from '@kubernetes/client-node';
import { z } from 'zod';
import { UserError } from '../errors.js';
import type { KubeApis } from '../targets/kube.js';
import { isNotFound, kubeMessage, objectName } from './kube.js';
import type { ActionContext } from './types.js';
import { defineRemediation } from './types.js';

export const DF_COMMAND = ['df', '-h', '/var/log'];
export const LOGROTATE_COMMAND = ['logrotate', '-f', '/etc/logrotate.conf'];
const EXEC_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 8_000;

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function collector(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (size < MAX_OUTPUT) chunks.push(Buffer.from(chunk));
      size += chunk.length;
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString('utf8').slice(0, MAX_OUTPUT) };
}

function exitCodeOf(status: V1Status | undefined): number {
  if (!status) return -1;
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes?.find((c) => c.reason === 'ExitCode');
  const code = Number(cause?.message);
  return Number.isInteger(code) ? code : 1;
}

/** Runs one argument vector in the pod's container and waits for it to finish. */
export async function execInPod(apis: KubeApis, pod: string, container: string, command: string[], timeoutMs = EXEC_TIMEOUT_MS): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  let status: V1Status | undefined;
  const exec = new Exec(apis.kc);
  const ws = await exec.exec(apis.namespace, pod, container, command, out.stream, err.stream, null, false, (s) => {
    status = s;
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.close();
      reject(new Error(`\`${command.join(' ')}\` did not finish within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    ws.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.on('error', (e: Error) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  return { exitCode: exitCodeOf(status), stdout: out.text(), stderr: err.text() };
}

async function firstContainer(ctx: ActionContext, pod: string): Promise<string> {
  const found = await ctx.targets.kube.run(async ({ core, namespace }) => {
    try {
      return await core.readNamespacedPod({ name: pod, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw kubeMessage(err);
    }
  });
  if (!found) throw new UserError(`There is no pod \`${pod}\` in namespace \`${ctx.targets.kube.namespace}\` (see \`/dmp pods\`).`);
  const name = found.spec?.containers?.[0]?.name;
  if (!name) throw new UserError(`Pod \`${pod}\` has no container to run logrotate in.`);
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
    const df = await ctx.targets.kube.run((apis) => execInPod(apis, p.pod, container, DF_COMMAND), EXEC_TIMEOUT_MS + 5_000);
    return {
      summary: `${p.pod}: run \`${LOGROTATE_COMMAND.join(' ')}\` in container ${container}`,
      details: [`\`${DF_COMMAND.join(' ')}\` now:`, ...outputLines(df)],
    };
  },
  async execute(ctx, p) {
    const container = await firstContainer(ctx, p.pod);
    const rotate = await ctx.targets.kube.run((apis) => execInPod(apis, p.pod, container, LOGROTATE_COMMAND), EXEC_TIMEOUT_MS + 5_000);
    const df = await ctx.targets.kube.run((apis) => execInPod(apis, p.pod, container, DF_COMMAND), EXEC_TIMEOUT_MS + 5_000);
    return {
      ok: rotate.exitCode === 0,
      summary: rotate.exitCode === 0 ? `${p.pod}: logs rotated` : `${p.pod}: logrotate exited with ${rotate.exitCode}`,
      details: [...outputLines(rotate).map((l) => `logrotate: ${l}`), `\`${DF_COMMAND.join(' ')}\` after:`, ...outputLines(df)],
    };
  },
});
