// A TCP proxy in front of a real server (PostgreSQL, Redis) that a fault test can switch:
// pass traffic, hang (accept and never answer), slow it down, or go down (refuse) and come
// back on the same port — so "recovers by itself when the target returns" can be tested.
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'pass' | 'hang' | 'slow';

export interface TcpProxy {
  host: string;
  port: number;
  mode: ProxyMode;
  setMode(mode: ProxyMode, delayMs?: number): void;
  /** Drops every open connection (as a server restart would). */
  dropConnections(): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let delayMs = 0;
  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const proxy: TcpProxy = {
    host: '127.0.0.1',
    port: 0,
    mode: 'pass',
    setMode(mode, delay = 500) {
      proxy.mode = mode;
      delayMs = delay;
    },
    dropConnections() {
      for (const s of sockets) s.destroy();
    },
    async down() {
      proxy.dropConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
    async up() {
      server = makeServer();
      await listen(server, proxy.port);
    },
    async close() {
      proxy.dropConnections();
      await new Promise<void>((r) => (server.listening ? server.close(() => r()) : r()));
    },
  };
  const makeServer = (): Server =>
    createServer((client) => {
      track(client);
      if (proxy.mode === 'hang') return; // accept, read nothing, say nothing
      const upstream = connect(targetPort, targetHost);
      track(upstream);
      upstream.on('close', () => client.destroy());
      client.on('close', () => upstream.destroy());
      if (proxy.mode === 'slow') {
        client.on('data', (d) => setTimeout(() => upstream.write(d), delayMs));
        upstream.on('data', (d) => setTimeout(() => client.write(d), delayMs));
      } else {
        client.pipe(upstream);
        upstream.pipe(client);
      }
    });
  let server = makeServer();
  proxy.port = await listen(server, 0);
  return proxy;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
  });
}
