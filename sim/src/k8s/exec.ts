/**
 * Exec over WebSocket: the server side of the channel protocol (v1–v5.channel.k8s.io) that
 * client-node's Exec and `kubectl exec` speak, and a default handler that answers the
 * runbook's commands believably.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ApiError, badRequest, notFound, routeNotFound } from './errors.js';
import { containerOf } from './pods.js';
import { type Store, storeKey } from './store.js';

export interface ExecResult {
  stdout: string;
  stderr?: string;
  exitCode: number;
}

/** `pod` is the pod's name. */
export type ExecHandler = (pod: string, container: string, command: string[]) => ExecResult | Promise<ExecResult>;

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const EXEC_PROTOCOLS = [
  'v4.channel.k8s.io',
  'v5.channel.k8s.io',
  'v3.channel.k8s.io',
  'v2.channel.k8s.io',
  'channel.k8s.io',
];

// WebSocket framing, server side: enough for the exec channel protocol.

function wsFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(126, 1);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

function wsParse(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer.readUInt8(0) & 0x0f;
  const second = buffer.readUInt8(1);
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskAt = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked)
    for (let i = 0; i < payload.length; i++)
      payload.writeUInt8(payload.readUInt8(i) ^ buffer.readUInt8(maskAt + (i % 4)), i);
  return { opcode, payload, size: offset + length };
}

export function rawHttpResponse(
  socket: Duplex,
  code: number,
  body: string | Buffer,
  contentType = 'application/json',
): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
      ),
      bytes,
    ]),
  );
}

/** Answers an upgrade request with a Status instead of switching protocols. */
export function refuseUpgrade(socket: Duplex, record: { status?: number }, code: number, error: ApiError): void {
  record.status = code;
  rawHttpResponse(socket, code, JSON.stringify(error.toStatus()));
}

/**
 * Serves `pods/<name>/exec` once the request passed the server's fault, latency and
 * auth gates: checks the pod and container, switches protocols, runs the handler and
 * writes stdout, stderr and the status on their channels.
 */
export async function serveExec(
  store: Store,
  handler: ExecHandler,
  req: IncomingMessage,
  url: URL,
  socket: Duplex,
  record: { status?: number },
): Promise<void> {
  const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec\/?$/.exec(url.pathname);
  if (!m?.[1] || !m[2]) return refuseUpgrade(socket, record, 404, routeNotFound());
  const namespace = decodeURIComponent(m[1]);
  const podName = decodeURIComponent(m[2]);
  const pod = store.pods.get(storeKey(namespace, podName));
  if (!pod) return refuseUpgrade(socket, record, 404, notFound('pods', podName));
  let container: string;
  try {
    container = containerOf(pod, url.searchParams.get('container'));
  } catch (error) {
    return refuseUpgrade(socket, record, 400, error as ApiError);
  }
  const command = url.searchParams.getAll('command');
  if (command.length === 0)
    return refuseUpgrade(socket, record, 400, badRequest('you must specify at least 1 command'));
  if (!pod.status.containerStatuses?.find((c) => c.name === container)?.state.running) {
    return refuseUpgrade(
      socket,
      record,
      400,
      badRequest(`unable to upgrade connection: container not found ("${container}")`),
    );
  }
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string') return refuseUpgrade(socket, record, 400, badRequest('Upgrade request required'));
  const offered = String(req.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  const protocol = EXEC_PROTOCOLS.find((p) => offered.includes(p));
  const accept = createHash('sha1')
    .update(key + WS_GUID)
    .digest('base64');
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${
      protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''
    }\r\n`,
  );
  record.status = 101;

  let closing = false;
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (let frame = wsParse(pending); frame; frame = wsParse(pending)) {
      pending = pending.subarray(frame.size);
      if (frame.opcode === 0x8) {
        if (!closing) socket.write(wsFrame(0x8, Buffer.from([0x03, 0xe8])));
        closing = true;
        socket.end();
        return;
      }
      if (frame.opcode === 0x9) socket.write(wsFrame(0xa, frame.payload));
    }
  });

  let result: ExecResult;
  let failure: Record<string, unknown> | undefined;
  try {
    result = await handler(podName, container, command);
  } catch (error) {
    result = { stdout: '', exitCode: -1 };
    failure = {
      metadata: {},
      status: 'Failure',
      message: `Internal error occurred: error executing command in container: ${String(error)}`,
      reason: 'InternalError',
      code: 500,
    };
  }
  if (socket.destroyed || closing) return;
  const channel = (n: number, data: string | Buffer): Buffer =>
    wsFrame(0x2, Buffer.concat([Buffer.from([n]), Buffer.from(data)]));
  if (url.searchParams.get('stdout') !== 'false' && result.stdout) socket.write(channel(1, result.stdout));
  if (url.searchParams.get('stderr') !== 'false' && result.stderr) socket.write(channel(2, result.stderr));
  const status =
    failure ??
    (result.exitCode === 0
      ? { metadata: {}, status: 'Success' }
      : {
          metadata: {},
          status: 'Failure',
          message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`,
          reason: 'NonZeroExitCode',
          details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
        });
  const v4 = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
  // Before v4 the error channel carried plain text, and nothing on success.
  if (v4) socket.write(channel(3, JSON.stringify(status)));
  else if (status.status !== 'Success') socket.write(channel(3, String(status.message)));
  socket.write(wsFrame(0x8, Buffer.from([0x03, 0xe8])));
  closing = true;
  setTimeout(() => socket.destroy(), 2000).unref();
}

/** Use% of /var/log per pod, as the default exec handler's `df` reports it. */
export class LogVolumes {
  private readonly usage = new Map<string, number>();
  private fallback = 78;

  /** For one pod, or (no pod) for all of them. */
  set(percent: number, podName?: string): void {
    if (podName) this.usage.set(podName, percent);
    else {
      this.fallback = percent;
      this.usage.clear();
    }
  }

  of(pod: string): number {
    return this.usage.get(pod) ?? this.fallback;
  }

  /** `logrotate -f` frees the pod's volume down to 31% at most. */
  rotate(pod: string): void {
    this.usage.set(pod, Math.min(this.of(pod), 31));
  }
}

/** Answers the runbook's commands believably; anything else is "not found". */
export function defaultExecHandler(volumes: LogVolumes): ExecHandler {
  const handler: ExecHandler = (pod, _container, command) => {
    const [program = '', ...args] = command;
    const base = program.split('/').pop() ?? program;
    if ((base === 'sh' || base === 'bash') && args[0] === '-c' && args[1] !== undefined) {
      return handler(pod, _container, args[1].trim().split(/\s+/));
    }
    switch (base) {
      case 'sh':
      case 'bash':
      case 'true':
        return { stdout: '', exitCode: 0 };
      case 'false':
        return { stdout: '', exitCode: 1 };
      case 'echo':
        return { stdout: `${args.join(' ')}\n`, exitCode: 0 };
      case 'hostname':
        return { stdout: `${pod}\n`, exitCode: 0 };
      case 'df': {
        const paths = args.filter((a) => !a.startsWith('-'));
        const path = paths[0] ?? '/var/log';
        if (path !== '/var/log' && path !== '/') {
          return { stdout: '', stderr: `df: ${path}: No such file or directory\n`, exitCode: 1 };
        }
        const usage = path === '/' ? 41 : volumes.of(pod);
        return { stdout: dfTable(path, usage, args.includes('-h')), exitCode: 0 };
      }
      case 'logrotate': {
        const config = args.filter((a) => !a.startsWith('-'))[0];
        if (!config)
          return {
            stdout: '',
            stderr:
              'logrotate 3.21.0 - Copyright (C) 1995-2001 Red Hat, Inc.\nUsage: logrotate [OPTION...] <configfile>\n',
            exitCode: 1,
          };
        if (config !== '/etc/logrotate.conf') {
          return { stdout: '', stderr: `error: cannot stat ${config}: No such file or directory\n`, exitCode: 1 };
        }
        if (args.includes('-f') || args.includes('--force')) {
          volumes.rotate(pod);
        }
        return { stdout: '', exitCode: 0 };
      }
      default:
        return {
          stdout: '',
          stderr: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown\n`,
          exitCode: 127,
        };
    }
  };
  return handler;
}

function dfTable(mount: string, usagePercent: number, human: boolean): string {
  const sizeGiB = mount === '/' ? 80 : 20;
  const used = (sizeGiB * usagePercent) / 100;
  const avail = sizeGiB - used;
  const fmt = (gib: number): string =>
    human
      ? gib >= 10
        ? `${Math.ceil(gib)}G`
        : `${(Math.ceil(gib * 10) / 10).toFixed(1)}G`
      : String(Math.round(gib * 1024 * 1024));
  const device = mount === '/' ? '/dev/nvme0n1p1' : '/dev/nvme1n1';
  const header = human
    ? 'Filesystem      Size  Used Avail Use% Mounted on'
    : 'Filesystem     1K-blocks     Used Available Use% Mounted on';
  const widths = human ? [14, 5, 5, 5, 4] : [14, 10, 8, 9, 4];
  const cells = [device, fmt(sizeGiB), fmt(used), fmt(avail), `${usagePercent}%`];
  const row = cells
    .map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 14) : cell.padStart(widths[i] ?? 5)))
    .join(' ');
  return `${header}\n${row} ${mount}\n`;
}
