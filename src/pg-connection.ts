// What the bot store and the platform database share about pg connections: a checked-out
// client gets an 'error' listener for as long as it is out (pg-pool only listens while a client
// is idle, and an unheard 'error' kills the process), a client whose connection died is thrown
// away rather than returned to the pool, and a query whose connection died fails with a
// sentence that says so ("PostgreSQL: connection lost").
import pg from 'pg';
import { ErrorCode, sqlState, TargetError, type TargetName } from './errors.js';
import type { Logger } from './log.js';

/** The server ending the session (pg_terminate_backend, shutdown, failover): SQLSTATE class 57P, or 08 (connection). */
const SESSION_ENDED = /^(57P0[1-3]|08...)$/;

/** A query that was under way when its connection died. */
export class ConnectionLost extends TargetError {
  constructor(
    target: TargetName,
    detail: string,
    /** The socket closed with no word from the server: the query may never have reached it. */
    readonly silent = false,
  ) {
    super(target, ErrorCode.TargetUnreachable, detail);
    this.name = 'ConnectionLost';
  }

  override sentence(): string {
    return `${labelOf(this.target)}: connection lost (${this.message})`;
  }
}

function labelOf(target: TargetName): string {
  // The bot's own store is PostgreSQL too; the sentence names the engine, as operators say it.
  return target === 'bot-store' ? 'PostgreSQL (bot store)' : 'PostgreSQL';
}

/** Whether the server ended the session under the query (its SQLSTATE says so). */
function sessionEnded(err: unknown): boolean {
  return SESSION_ENDED.test(sqlState(err) ?? '');
}

/**
 * Maps what a query threw: a connection that died under it (the server's SQLSTATE says so, or
 * the client saw its socket go) becomes ConnectionLost; a server's SQL error stays itself
 * (callers branch on its SQLSTATE); anything else is classified as before.
 */
export function queryFailure(target: TargetName, err: unknown, connectionDied = false): Error {
  if (err instanceof TargetError) return err;
  if (sessionEnded(err)) return new ConnectionLost(target, (err as Error).message);
  if (connectionDied && !(err instanceof pg.DatabaseError))
    return new ConnectionLost(target, (err as Error)?.message || 'connection closed', true);
  if (err instanceof pg.DatabaseError) return err;
  return TargetError.from(target, err, { otherwise: ErrorCode.TargetUnreachable });
}

/**
 * Makes sure no error of the pool's clients goes unheard. pg-pool listens on a client only while
 * it is idle; between handing a new client out and the caller's own listener there is a gap in
 * which a FATAL arriving in the same packet as the start-up's ReadyForQuery (a backend terminated
 * right after it connected) is emitted to nobody, and that kills the process.
 */
export function guardPool(pool: pg.Pool, target: TargetName, log: Logger): void {
  pool.on('error', (err) => log.warn({ err, target }, 'an idle database connection was lost'));
  pool.on('connect', (client) => {
    client.on('error', (err) => log.debug({ err, target }, 'database connection error'));
  });
}

export interface CheckedOut {
  client: pg.PoolClient;
  /** What an error thrown while this client was out means: queryFailure, once the socket's fate is known. */
  failure(err: unknown): Promise<Error>;
  /** Runs one query, its failure mapped by queryFailure. */
  query<R>(text: string, params?: unknown[]): Promise<R[]>;
  /** Returns the client; one whose connection died (or that `err` says died) is destroyed instead. */
  release(err?: unknown): void;
}

/** Checks a client out with an error listener of its own for as long as it is out. */
export async function checkOut(pool: pg.Pool, target: TargetName, log: Logger): Promise<CheckedOut> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw TargetError.from(target, err, { otherwise: ErrorCode.TargetUnreachable });
  }
  let died: Error | undefined;
  const onError = (err: Error) => {
    died ??= err;
    log.warn({ err, target }, 'a checked-out database connection was lost');
  };
  client.on('error', onError);
  let released = false;
  const failure = async (err: unknown): Promise<Error> => {
    // The socket's end is seen a tick after the query's error: wait for it before judging.
    await new Promise((r) => setImmediate(r));
    return queryFailure(target, err, died !== undefined);
  };
  return {
    client,
    failure,
    async query<R>(text: string, params?: unknown[]): Promise<R[]> {
      try {
        return (await client.query(text, params)).rows as R[];
      } catch (err) {
        throw await failure(err);
      }
    },
    release(err?: unknown) {
      if (released) return;
      released = true;
      const timedOut = err instanceof TargetError && err.code === ErrorCode.TargetTimeout; // still busy on the server
      const dead =
        died ?? (err instanceof ConnectionLost || sessionEnded(err) || timedOut ? (err as Error) : undefined);
      // Keep listening: a dead client may still emit as it closes, and must not crash the process.
      if (!dead) client.removeListener('error', onError);
      // An error given to release() makes pg-pool destroy the client instead of reusing a dead socket.
      client.release(dead);
    },
  };
}
