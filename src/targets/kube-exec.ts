// Runs an argument vector in a pod's container through the Kubernetes exec API (client-node's
// Exec over a WebSocket), never a kubectl binary or a shell. Read by the log-rotation check and
// the rotate-logs remediation alike.
import { Writable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import type { KubeApis } from './kube.js';

export const DF_COMMAND = ['df', '-h', '/var/log'];
export const EXEC_TIMEOUT_MS = 60_000;
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
export async function execInPod(
  apis: KubeApis,
  pod: string,
  container: string,
  command: string[],
  timeoutMs = EXEC_TIMEOUT_MS,
): Promise<ExecResult> {
  const out = collector();
  const err = collector();
  let status: V1Status | undefined;
  const exec = new apis.lib.Exec(apis.kc);
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
