// Claims tied to the claimer's database session, on both stores: a row claimed by a live
// claimer stays its own however long its lease; the moment that claimer's session ends the row
// is free for another, with the try counted (so it is looked up before it is sent again).
import { afterEach, describe, expect, it } from 'vitest';
import { startClaimSession } from '../../src/incidents/claim-session.js';
import { claimChannelPosts, enqueuePost } from '../../src/incidents/outbox.js';
import { createLogger } from '../../src/log.js';
import { MIGRATIONS, migrate } from '../../src/store/migrations.js';
import { pgliteSql, postgresSql, type Sql } from '../../src/store/sql.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';

const log = createLogger('silent');
const CHANNEL = 'C0CLAIMS';
const SPEC = { ratePerSec: 100, burst: 50 };
const LEASE = 10 * 60_000; // far longer than the test: nothing here may be a lease running out
const now = () => new Date();

async function seedIncident(sql: Sql, id: string): Promise<void> {
  const t = now();
  await sql.query(
    `INSERT INTO incidents (id, title, severity, pd_status, status_at, snapshot_at, triggered_at, received_at, updated_at, channel)
     VALUES ($1, 'Claims', 'P2', 'triggered', $2, $2, $2, $2, $2, $3)`,
    [id, t, CHANNEL],
  );
  await enqueuePost(sql, { id, channel: CHANNEL }, { type: 'warning', text: ['first'] }, t);
}

const until = async (fn: () => Promise<boolean>, what: string): Promise<void> => {
  const end = Date.now() + 30_000;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('claims tied to the claimer’s session', () => {
  const closers: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('on PostgreSQL: a dead claimer’s rows are free at once, a live one’s are not', async () => {
    const db: TestDatabase = await createTestDatabase({ prefix: 'claims' });
    closers.push(() => db.drop());
    const storeA = postgresSql(db.url, log);
    const storeB = postgresSql(db.url, log);
    closers.push(() => storeB.close());
    await migrate(storeA, MIGRATIONS);
    await seedIncident(storeA, 'QCLAIMS1');

    const a = startClaimSession({ store: storeA, url: db.url, log, now, leaseMs: LEASE });
    const b = startClaimSession({ store: storeB, url: db.url, log, now, leaseMs: LEASE });
    closers.push(() => b.stop());
    await Promise.all([a.ready, b.ready]);
    expect(a.id()).not.toBeNull();
    expect(b.id()).not.toBe(a.id());

    const mine = await claimChannelPosts(storeA, CHANNEL, now(), 8, LEASE, SPEC, a.id());
    expect(mine.map((r) => [r.claimedBy, r.tried])).toEqual([[a.id(), false]]);
    // A is alive: B gets nothing, though it asks again and again.
    expect(await claimChannelPosts(storeB, CHANNEL, now(), 8, LEASE, SPEC, b.id())).toEqual([]);

    // A's process goes: its session ends (its pool too), and B takes the row over, as tried.
    await a.stop();
    await storeA.close();
    let taken: Awaited<ReturnType<typeof claimChannelPosts>> = [];
    await until(async () => {
      taken = await claimChannelPosts(storeB, CHANNEL, now(), 8, LEASE, SPEC, b.id());
      return taken.length > 0;
    }, 'B to take the row over');
    expect(taken.map((r) => [r.id, r.claimedBy, r.tried])).toEqual([[mine[0]?.id, b.id(), true]]);
  });

  it('on the embedded store: the one process’s claims are its own until its worker lets go', async () => {
    const sql = await pgliteSql('memory://');
    closers.push(() => sql.close());
    await migrate(sql, MIGRATIONS);
    await seedIncident(sql, 'QCLAIMS2');
    const first = startClaimSession({ store: sql, url: undefined, log, now, leaseMs: LEASE });
    await first.ready;
    expect(first.id()).not.toBeNull();
    const mine = await claimChannelPosts(sql, CHANNEL, now(), 8, LEASE, SPEC, first.id());
    expect(mine).toHaveLength(1);
    expect(await claimChannelPosts(sql, CHANNEL, now(), 8, LEASE, SPEC, first.id())).toEqual([]);
    // A worker started after it (a restart in the same process) takes over once the first stops.
    await first.stop();
    const second = startClaimSession({ store: sql, url: undefined, log, now, leaseMs: LEASE });
    closers.push(() => second.stop());
    await second.ready;
    const again = await claimChannelPosts(sql, CHANNEL, now(), 8, LEASE, SPEC, second.id());
    expect(again.map((r) => [r.id, r.claimedBy, r.tried])).toEqual([[mine[0]?.id, second.id(), true]]);
  });
});
