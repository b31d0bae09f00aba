// A tiny HTTP server on 127.0.0.1 that every wire-level fake (Slack, PagerDuty, the platform
// API) builds on. It reads the whole body before calling the fake's handler, and carries the
// fault switch tests use to make an outside service hang, fail, talk nonsense, slow down or
// disappear, so timeouts and error paths can be exercised against the real clients.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';

export type Fault = 'none' | 'hang' | 'error' | 'garbage' | 'slow';

export interface FaultOptions {
  /** For `slow`: how long to wait before answering. Default 2000 ms. */
  delayMs?: number;
  /** Apply the fault to the next N requests only, then go back to `none`. Default: until changed. */
  times?: number;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

export interface FakeHttpServer {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly server: Server;
  /** The current fault; assignable directly, or through `setFault`. */
  fault: Fault;
  faultDelayMs: number;
  setFault(kind: Fault, opts?: FaultOptions): void;
  /** Stop listening (connections refused) and drop open sockets; `up()` listens again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  readonly isUp: boolean;
  close(): Promise<void>;
}

export interface StartOptions {
  port?: number;
}

const DEFAULT_SLOW_MS = 2000;

export function json(res: ServerResponse, status: number, obj: unknown, headers: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  const payload = JSON.stringify(obj);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    ...headers,
  });
  res.end(payload);
}

export function text(
  res: ServerResponse,
  status: number,
  body: string,
  contentType = 'text/plain; charset=utf-8',
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      const address = server.address();
      if (address === null || typeof address === 'string') {
        reject(new Error('fake server has no TCP address'));
        return;
      }
      resolve(address.port);
    });
  });
}

export async function startHttpServer(handler: Handler, opts: StartOptions = {}): Promise<FakeHttpServer> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let faultBudget = Number.POSITIVE_INFINITY;
  let listening = false;

  // Takes one unit of the current fault, so `times` counts requests rather than wall time.
  const takeFault = (): Fault => {
    const current = fake.fault;
    if (current === 'none') return current;
    faultBudget -= 1;
    if (faultBudget <= 0) fake.fault = 'none';
    return current;
  };

  const answer = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    try {
      await handler(req, res, body);
    } catch (err) {
      // A bug in a fake should show up as a loud 500, not as a hung client.
      json(res, 500, { error: 'fake_handler_threw', message: err instanceof Error ? err.message : String(err) });
    }
  };

  const server = createServer((req, res) => {
    void readBody(req)
      .then(async (body) => {
        const fault = takeFault();
        switch (fault) {
          case 'hang':
            return; // keep the socket open and say nothing; close()/down() destroys it
          case 'error':
            json(res, 500, { ok: false, error: 'internal_error', message: 'simulated failure' });
            return;
          case 'garbage':
            // Declared as JSON on purpose: clients must survive a body that does not parse.
            text(res, 200, '<html>\u0000\u00ff garbage {not json', 'application/json; charset=utf-8');
            return;
          case 'slow': {
            await new Promise<void>((resolve) => {
              const timer = setTimeout(() => {
                timers.delete(timer);
                resolve();
              }, fake.faultDelayMs);
              timers.add(timer);
            });
            if (!res.destroyed) await answer(req, res, body);
            return;
          }
          default:
            await answer(req, res, body);
        }
      })
      .catch(() => {
        if (!res.destroyed) res.destroy();
      });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const port = await listen(server, opts.port ?? 0);
  listening = true;

  const stop = (): Promise<void> =>
    new Promise((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      if (!listening) {
        resolve();
        return;
      }
      listening = false;
      server.close(() => resolve());
      // server.close() alone waits for keep-alive and hung sockets forever.
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    });

  const fake: FakeHttpServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    server,
    fault: 'none',
    faultDelayMs: DEFAULT_SLOW_MS,
    setFault(kind, faultOpts = {}) {
      fake.fault = kind;
      fake.faultDelayMs = faultOpts.delayMs ?? DEFAULT_SLOW_MS;
      faultBudget = faultOpts.times ?? Number.POSITIVE_INFINITY;
    },
    down: stop,
    async up() {
      if (listening) return;
      await listen(server, port);
      listening = true;
    },
    get isUp() {
      return listening;
    },
    close: stop,
  };
  return fake;
}

/** Request path without the query string, and the query as URLSearchParams. */
export function splitUrl(req: IncomingMessage): { path: string; query: URLSearchParams } {
  const parsed = new URL(req.url ?? '/', 'http://fake.invalid');
  return { path: parsed.pathname, query: parsed.searchParams };
}

/** Parses a JSON body, or returns undefined when it is empty or not JSON. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Header value as a single string (Node gives string[] for repeated headers). */
export function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/** All request headers, lower-cased names, single string values. */
export function headerRecord(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
