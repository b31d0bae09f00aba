// Slack's Socket Mode, faked on top of the Web API fake: apps.connections.open hands out a
// ws:// URL, the server says hello, sends envelopes (slash_commands, interactive, events_api)
// and records the acks the app sends back, with their payloads.
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import type { SlackFake } from './slack-fake.js';

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

export interface SocketModeFake {
  /** Resolves once an app has connected and been greeted. */
  connected(timeoutMs?: number): Promise<void>;
  /** Sends an envelope and resolves with the ack's payload (undefined for an empty ack). */
  send(
    type: EnvelopeType,
    payload: Record<string, unknown>,
    timeoutMs?: number,
  ): Promise<Record<string, unknown> | undefined>;
  /** Cuts the app's WebSocket as a network drop would; with `stayDown`, refuses new ones until up(). */
  drop(opts?: { stayDown?: boolean }): void;
  /** Accepts connections again after drop({ stayDown: true }). */
  up(): void;
  close(): Promise<void>;
}

export async function startSocketModeFake(slack: SlackFake): Promise<SocketModeFake> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const port = (wss.address() as AddressInfo).port;
  let socket: WebSocket | undefined;
  let down = false;
  const waiters: Array<() => void> = [];
  const acks = new Map<string, (payload: Record<string, unknown> | undefined) => void>();

  slack.addMethod('apps.connections.open', () => ({
    ok: true,
    url: `ws://127.0.0.1:${port}/link/?ticket=${randomUUID()}&app_id=A0DMPBOT1`,
  }));

  wss.on('connection', (ws) => {
    if (down) {
      ws.terminate();
      return;
    }
    socket = ws;
    ws.send(
      JSON.stringify({
        type: 'hello',
        num_connections: 1,
        debug_info: { host: 'fake', approximate_connection_time: 18060 },
        connection_info: { app_id: 'A0DMPBOT1' },
      }),
    );
    for (const w of waiters.splice(0)) w();
    ws.on('message', (data) => {
      try {
        const msg = JSON.parse(String(data)) as { envelope_id?: string; payload?: Record<string, unknown> };
        if (msg.envelope_id) acks.get(msg.envelope_id)?.(msg.payload);
      } catch {
        // Not JSON: Slack ignores it too.
      }
    });
  });

  return {
    connected(timeoutMs = 5000) {
      if (socket) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no Socket Mode connection')), timeoutMs);
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
    send(type, payload, timeoutMs = 5000) {
      if (!socket) return Promise.reject(new Error('no Socket Mode connection'));
      const envelopeId = randomUUID();
      const ws = socket;
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ack for ${type} within ${timeoutMs} ms`)), timeoutMs);
        acks.set(envelopeId, (p) => {
          clearTimeout(timer);
          acks.delete(envelopeId);
          resolve(p);
        });
        ws.send(
          JSON.stringify({
            envelope_id: envelopeId,
            payload,
            type,
            accepts_response_payload: type !== 'events_api',
            retry_attempt: 0,
            retry_reason: '',
          }),
        );
      });
    },
    drop(opts = {}) {
      down = opts.stayDown ?? false;
      for (const c of wss.clients) c.terminate();
      socket = undefined;
    },
    up() {
      down = false;
    },
    close() {
      for (const c of wss.clients) c.terminate();
      return new Promise((resolve) => wss.close(() => resolve()));
    },
  };
}
