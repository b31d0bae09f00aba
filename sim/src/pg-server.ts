// Serves an embedded PostgreSQL (PGlite) over the PostgreSQL wire protocol on 127.0.0.1, so
// node-postgres, psql or any driver connects to it with an ordinary URL. PGlite is one
// session; several client connections share it through a scheduler that runs one unit at a
// time (a simple query, or an extended-protocol batch up to its Sync) and keeps the session
// with one connection while that connection has a transaction open.
//
// Why not @electric-sql/pglite-socket: its releases pin one exact PGlite version (0.5.14 at
// 0.2.17) and eight extension packages as required peers, and it interleaves connections
// message by message, so two clients' unnamed Parse/Bind can cross. This is the same idea
// in one small file, batched by Sync.
import { createServer, type Server, type Socket } from 'node:net';
import type { PGlite } from '@electric-sql/pglite';

export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  readonly port: number;
  /** Open client connections. */
  connections(): number;
  close(): Promise<void>;
}

export interface PgliteServerOptions {
  host?: string;
  port?: number;
  /** Most connections at once; more are refused with "too many clients" (default 32). */
  maxConnections?: number;
}

const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const CANCEL_REQUEST = 80_877_102;
const PROTOCOL_3 = 196_608;
/** Messages after which the server answers; a unit of work ends at one of them. */
const UNIT_END = new Set(['Q', 'S', 'H', 'F', 'c', 'f']);

interface Conn {
  id: number;
  socket: Socket;
  buffer: Buffer;
  started: boolean;
  /** Extended-protocol messages waiting for their Sync. */
  pending: Buffer[];
  closed: boolean;
}

interface Unit {
  conn: Conn;
  bytes: Buffer;
}

function frontendMessage(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

function startupMessage(): Buffer {
  const params = Buffer.from('user\0postgres\0database\0postgres\0\0', 'utf8');
  const out = Buffer.alloc(8 + params.length);
  out.writeInt32BE(out.length, 0);
  out.writeInt32BE(PROTOCOL_3, 4);
  params.copy(out, 8);
  return out;
}

/** An ErrorResponse followed by ReadyForQuery, for failures outside PostgreSQL itself. */
function errorResponse(code: string, message: string, ready: boolean): Buffer {
  const fields = Buffer.from(`SERROR\0VERROR\0C${code}\0M${message}\0\0`, 'utf8');
  const parts = [frontendMessage('E', fields)];
  if (ready) parts.push(frontendMessage('Z', Buffer.from('I')));
  return Buffer.concat(parts);
}

/** The transaction status of the last ReadyForQuery in a backend stream, if there is one. */
export function lastReadyStatus(out: Uint8Array): string | undefined {
  const b = Buffer.from(out.buffer, out.byteOffset, out.byteLength);
  let status: string | undefined;
  let i = 0;
  while (i + 5 <= b.length) {
    const len = b.readInt32BE(i + 1);
    if (b[i] === 0x5a && len === 5 && i + 6 <= b.length) status = String.fromCharCode(b[i + 5] ?? 0x49);
    i += 1 + len;
  }
  return status;
}

/**
 * Listens at once; `database` may still be starting (or seeding): clients that connect
 * meanwhile wait for it, as they would for a PostgreSQL server finishing recovery.
 */
export async function startPgliteServer(
  database: PGlite | Promise<PGlite>,
  opts: PgliteServerOptions = {},
): Promise<PgliteServer> {
  const host = opts.host ?? '127.0.0.1';
  const maxConnections = opts.maxConnections ?? 32;
  // The greeting (AuthenticationOk, ParameterStatus…, BackendKeyData, ReadyForQuery) is the
  // same for every client: PGlite has one backend, so it is asked once.
  const session = Promise.resolve(database).then(async (db) => {
    await db.waitReady;
    const greeting = Buffer.from(await db.runExclusive(() => db.execProtocolRaw(startupMessage())));
    return { db, greeting };
  });
  session.catch(() => {});

  const conns = new Set<Conn>();
  const queue: Unit[] = [];
  let owner: Conn | undefined;
  let running = false;
  let nextId = 1;

  const exec = async (bytes: Buffer): Promise<Uint8Array> => {
    const { db } = await session;
    return db.runExclusive(() => db.execProtocolRaw(new Uint8Array(bytes)));
  };

  const pump = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      for (;;) {
        const index = owner ? queue.findIndex((u) => u.conn === owner) : 0;
        if (index < 0 || queue.length === 0) break;
        const [unit] = queue.splice(index, 1);
        if (!unit || unit.conn.closed) continue;
        let out: Uint8Array;
        try {
          out = await exec(unit.bytes);
        } catch (err) {
          out = errorResponse('XX000', err instanceof Error ? err.message : String(err), true);
        }
        const status = lastReadyStatus(out);
        // No ReadyForQuery (a Flush, COPY in progress) or a transaction left open: the session
        // stays with this connection until it finishes.
        owner = status === 'I' ? undefined : unit.conn;
        if (!unit.conn.closed && out.byteLength > 0) unit.conn.socket.write(Buffer.from(out));
      }
    } finally {
      running = false;
    }
  };

  const release = async (conn: Conn): Promise<void> => {
    conn.closed = true;
    conns.delete(conn);
    for (let i = queue.length - 1; i >= 0; i--) if (queue[i]?.conn === conn) queue.splice(i, 1);
    if (owner === conn) {
      // A client that went away inside a transaction must not leave the session in it.
      while (running) await new Promise((r) => setTimeout(r, 5));
      try {
        const synced = await exec(frontendMessage('S'));
        if (lastReadyStatus(synced) !== 'I') await exec(frontendMessage('Q', Buffer.from('ROLLBACK\0')));
      } catch {
        // The session is gone with the database; nothing to roll back.
      }
      owner = undefined;
    }
    void pump();
  };

  const onData = (conn: Conn, chunk: Buffer): void => {
    conn.buffer = conn.buffer.length ? Buffer.concat([conn.buffer, chunk]) : chunk;
    for (;;) {
      const b = conn.buffer;
      if (!conn.started) {
        if (b.length < 8) return;
        const len = b.readInt32BE(0);
        if (b.length < len) return;
        const code = b.readInt32BE(4);
        conn.buffer = b.subarray(len);
        if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
          conn.socket.write('N');
          continue;
        }
        if (code === CANCEL_REQUEST) {
          // One backend, nothing to signal: a cancel is dropped as PostgreSQL drops unknown keys.
          conn.socket.end();
          return;
        }
        if (code !== PROTOCOL_3) {
          conn.socket.end(errorResponse('0A000', 'unsupported frontend protocol', false));
          return;
        }
        conn.started = true;
        // A client sends nothing more before this greeting's ReadyForQuery.
        session.then(
          ({ greeting }) => {
            if (!conn.closed) conn.socket.write(greeting);
          },
          (err: unknown) => {
            conn.socket.end(
              errorResponse(
                '57P03',
                `the database system is not available: ${err instanceof Error ? err.message : String(err)}`,
                false,
              ),
            );
          },
        );
        continue;
      }
      if (b.length < 5) return;
      const len = b.readInt32BE(1);
      if (b.length < 1 + len) return;
      const message = b.subarray(0, 1 + len);
      conn.buffer = b.subarray(1 + len);
      const type = String.fromCharCode(message[0] ?? 0);
      if (type === 'X') {
        conn.socket.end();
        return;
      }
      conn.pending.push(message);
      if (UNIT_END.has(type)) {
        queue.push({ conn, bytes: Buffer.concat(conn.pending) });
        conn.pending = [];
        void pump();
      }
    }
  };

  const server: Server = createServer((socket) => {
    socket.setNoDelay(true);
    if (conns.size >= maxConnections) {
      socket.end(errorResponse('53300', 'sorry, too many clients already', false));
      return;
    }
    const conn: Conn = { id: nextId++, socket, buffer: Buffer.alloc(0), started: false, pending: [], closed: false };
    conns.add(conn);
    socket.on('data', (chunk: Buffer) => onData(conn, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => void release(conn));
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : 0);
    });
  });

  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    connections: () => conns.size,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of conns) c.socket.destroy();
      await closed;
      while (running) await new Promise((r) => setTimeout(r, 5));
    },
  };
}
