// The one HTTP server on PORT: Slack (Bolt's receiver), PagerDuty webhooks, health, metrics.
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { Deps } from '../deps.js';
import type { Redactor } from '../redact.js';
import type { SlackGate } from './slack-gate.js';

export const MAX_BODY_BYTES = 1024 * 1024;

export type Route = (req: IncomingMessage, res: ServerResponse, body: Buffer) => Promise<void>;

export interface RouteTable {
  /** `METHOD /path` → handler, e.g. `POST /pagerduty/webhook`. */
  [key: string]: Route;
}

export class BodyTooLarge extends Error {}

export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new BodyTooLarge(`body over ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, redactor: Redactor): void {
  if (res.headersSent) return;
  const text = redactor.redact(JSON.stringify(body));
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export interface ServerOptions {
  deps: Deps;
  slackPath?: string;
  slackListener?: RequestListener;
  routes: RouteTable;
  /** Scrubs the server's own answers; the bot's Redactor (bot.ts). */
  redactor: Redactor;
  /** Checks Slack requests (timestamp both ways, signature, replay) before Bolt reads them. */
  slackGate?: SlackGate;
}

export function createHttpServer(opts: ServerOptions): Server {
  const { deps } = opts;
  const { redactor } = opts;
  return createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES) {
      // Refuse before reading, and close: the unread body must not poison a kept-alive socket.
      res.writeHead(413, { connection: 'close', 'content-type': 'application/json' });
      res.end('{"error":"body too large"}');
      req.destroy();
      return;
    }
    const slackListener = opts.slackListener;
    if (slackListener && path === (opts.slackPath ?? '/slack/events')) {
      if (!opts.slackGate) {
        // Bolt enforces its own body limit and signature check.
        slackListener(req, res);
        return;
      }
      const gate = opts.slackGate;
      readBody(req)
        .then(async (body) => {
          const verdict = await gate(req.headers, body);
          if (verdict.ok) {
            // Bolt reads a body already buffered from rawBody instead of the spent stream.
            (req as IncomingMessage & { rawBody?: Buffer }).rawBody = body;
            slackListener(req, res);
          } else if (verdict.status === 200) {
            res.writeHead(200, { 'content-length': 0 });
            res.end();
          } else if (verdict.status === 400) {
            sendJson(res, 400, { error: 'malformed request' }, redactor);
          } else {
            sendJson(res, 401, { error: 'invalid request' }, redactor);
          }
        })
        .catch((err: unknown) => {
          if (err instanceof BodyTooLarge) {
            sendJson(res, 413, { error: 'body too large' }, redactor);
            req.destroy();
            return;
          }
          deps.log.error({ err, path }, 'Slack request failed before Bolt');
          sendJson(res, 500, { error: 'internal error' }, redactor);
        });
      return;
    }
    const route = opts.routes[`${req.method} ${path}`];
    if (!route) {
      sendJson(
        res,
        opts.routes[`GET ${path}`] || opts.routes[`POST ${path}`] ? 405 : 404,
        { error: 'not found' },
        redactor,
      );
      req.resume();
      return;
    }
    readBody(req)
      .then((body) => route(req, res, body))
      .catch((err: unknown) => {
        if (err instanceof BodyTooLarge) {
          sendJson(res, 413, { error: 'body too large' }, redactor);
          req.destroy();
          return;
        }
        deps.log.error({ err, path }, 'HTTP route failed');
        sendJson(res, 500, { error: 'internal error' }, redactor);
      });
  });
}

export function listen(server: Server, port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    });
  });
}
