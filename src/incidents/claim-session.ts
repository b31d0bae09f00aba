// Claims tied to the claimer's database session. Each worker takes an id of its own and holds a
// session advisory lock under it on a connection of its own (store/session.ts); the rows it
// claims name that id. When the process dies its connection closes, PostgreSQL drops the lock,
// and any replica sees at once that the claim is free (LIVE_CLAIMERS): no lease to wait out.
// The lease stays as the backstop for a process that hangs without dying: short, and renewed by
// a heartbeat for the rows this process is really working on.
import { backoff } from '../backoff.js';
import type { Logger } from '../log.js';
import { type DbSession, openSession } from '../store/session.js';
import type { Sql } from '../store/sql.js';

/** The advisory-lock namespace of claimer ids (the first key of pg_advisory_lock(int, int)). */
export const CLAIMER_LOCK_SPACE = 1_684_893_794;

/** The ids of the claimers whose session is alive, in this database (a CTE body). */
export const LIVE_CLAIMERS = `SELECT objid FROM pg_locks
  WHERE locktype = 'advisory' AND classid = ${CLAIMER_LOCK_SPACE}::oid AND objsubid = 2 AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`;

/**
 * Whether the claim on row `a` is free at time `now` (an SQL parameter): never claimed, its lease
 * ran out, or its claimer's session is gone. Needs `live AS (LIVE_CLAIMERS)` in the query.
 */
export const claimFree = (a: string, now: string, claimedBy = 'claimed_by', until = 'claimed_until'): string =>
  `(${a}.${until} IS NULL OR ${a}.${until} < ${now} OR (${a}.${claimedBy} IS NOT NULL AND ${a}.${claimedBy}::oid NOT IN (SELECT objid FROM live)))`;

export type ClaimTable = 'incident_outbox' | 'pd_outbox';

export interface ClaimSession {
  /** The id claims are made under while the session holds its lock; null while it has none (lease only). */
  id(): number | null;
  /** Resolves once the first try to open the session is over (claims made before are lease-only). */
  ready: Promise<void>;
  /** Rows this process is working on: their lease is renewed until release(). */
  hold(table: ClaimTable, ids: number[]): void;
  release(table: ClaimTable, ids: number[]): void;
  stop(): Promise<void>;
}

export interface ClaimSessionOptions {
  store: Sql;
  url: string | undefined;
  log: Logger;
  now(): Date;
  leaseMs: number;
}

export function startClaimSession(opts: ClaimSessionOptions): ClaimSession {
  const { store, log } = opts;
  let current: { id: number; session: DbSession } | undefined;
  /** Every id this process has claimed under: its heartbeat renews rows claimed under any of them. */
  const mine = new Set<number>();
  const held: Record<ClaimTable, Set<number>> = { incident_outbox: new Set(), pd_outbox: new Set() };
  let stopped = false;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  async function connect(): Promise<void> {
    if (stopped || current) return;
    let session: DbSession | undefined;
    try {
      session = await openSession(store, opts.url, log);
      const rows = await session.query<{ id: string }>("SELECT nextval('claimer_ids') AS id");
      const id = Number(rows[0]?.id);
      await session.query('SELECT pg_advisory_lock($1, $2)', [CLAIMER_LOCK_SPACE, id]);
      if (stopped) {
        await session.close();
        return;
      }
      const s = session;
      current = { id, session: s };
      mine.add(id);
      failures = 0;
      s.onLost(() => {
        // Claims under this id are free for the others now; new ones wait for a new session.
        if (current?.session === s) current = undefined;
        void s.close();
        later();
      });
      log.debug({ claimer: id }, 'claims session open');
    } catch (err) {
      await session?.close().catch(() => {});
      failures += 1;
      if (failures === 1 || failures % 20 === 0)
        log.warn({ err }, 'could not open the claims session; claims are lease-only until it opens');
      later();
    }
  }

  function later(): void {
    if (stopped || retry) return;
    retry = setTimeout(
      () => {
        retry = undefined;
        void connect();
      },
      backoff(failures + 1, { base: 200, max: 5_000 }),
    );
    retry.unref?.();
  }

  async function beat(): Promise<void> {
    const until = new Date(opts.now().getTime() + opts.leaseMs);
    const claimers = [...mine];
    for (const table of ['incident_outbox', 'pd_outbox'] as const) {
      const ids = [...held[table]];
      if (ids.length === 0) continue;
      await store.query(
        `UPDATE ${table} SET claimed_until = $2
          WHERE id = ANY($1::bigint[]) AND done_at IS NULL AND claimed_until IS NOT NULL
            AND (claimed_by IS NULL OR claimed_by = ANY($3::int[]))`,
        [ids, until, claimers],
      );
    }
  }

  const ready = connect();
  const heartbeat = setInterval(
    () => {
      beat().catch((err: unknown) => log.debug({ err }, 'claims heartbeat failed; the lease runs on'));
    },
    Math.max(200, Math.floor(opts.leaseMs / 3)),
  );
  heartbeat.unref?.();

  return {
    id: () => current?.id ?? null,
    ready,
    hold(table, ids) {
      for (const id of ids) held[table].add(id);
    },
    release(table, ids) {
      for (const id of ids) held[table].delete(id);
    },
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(retry);
      const c = current;
      current = undefined;
      // The embedded store's one session outlives the worker: let go of the id explicitly.
      await c?.session.query('SELECT pg_advisory_unlock($1, $2)', [CLAIMER_LOCK_SPACE, c.id]).catch(() => {});
      await c?.session.close();
    },
  };
}
