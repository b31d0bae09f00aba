// The runbook's database procedures against a real PostgreSQL: slow queries, locks,
// connections, replication, graph timeouts, the Useful Commands queries and maintenance.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { adviseDbSlow } from '../../src/runbooks/db-slow.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { finding, makeTargets, reportText, type TestTargets } from '../helpers/targets.js';

const REPO = '11111111-1111-4111-8111-111111111111';
const TENANT_A = '22222222-2222-4222-8222-22222222222a';
const TENANT_B = '22222222-2222-4222-8222-22222222222b';
const BIG_SCAN = '6f1c1b7e-0000-4000-8000-0000000000b1';
const SMALL_SCAN = '6f1c1b7e-0000-4000-8000-0000000000b2';

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('database procedures', () => {
  let db: TestDatabase;
  let t: TestTargets;

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    await db.client.query(
      `INSERT INTO repositories (id, tenant_id, name) VALUES
        ($1, $2, 'acme/api'), ('11111111-1111-4111-8111-111111111112', $2, 'acme/web'),
        ('11111111-1111-4111-8111-111111111113', $2, 'acme/cli'), ('11111111-1111-4111-8111-111111111114', $3, 'globex/web')`,
      [REPO, TENANT_A, TENANT_B],
    );
    await db.client.query(
      `INSERT INTO scans (id, repository_id, status) VALUES ($1, $3, 'completed'), ($2, $3, 'completed')`,
      [BIG_SCAN, SMALL_SCAN, REPO],
    );
    await db.client.query(
      `INSERT INTO scans (id, repository_id, status)
       SELECT gen_random_uuid(), $1, s FROM unnest(ARRAY['pending','pending','pending','running','failed']) AS s`,
      [REPO],
    );
    await db.client.query(`INSERT INTO nodes (scan_id, name) SELECT $1, 'pkg-' || g FROM generate_series(1, 250) g`, [
      BIG_SCAN,
    ]);
    await db.client.query(`INSERT INTO nodes (scan_id, name) SELECT $1, 'pkg-' || g FROM generate_series(1, 40) g`, [
      SMALL_SCAN,
    ]);
    await db.client.query('ANALYZE');
    t = await makeTargets({ DMP_DATABASE_URL: db.url });
  });

  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  describe('/dmp db locks', () => {
    it('names the pid holding LOCK TABLE in an open transaction and the pid waiting on it', async () => {
      const holder = new pg.Client({ connectionString: db.url, application_name: 'lock-holder' });
      const waiter = new pg.Client({ connectionString: db.url, application_name: 'lock-waiter' });
      await holder.connect();
      await waiter.connect();
      try {
        const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        const waiterPid = (await waiter.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        await holder.query('BEGIN');
        await holder.query('LOCK TABLE scans IN ACCESS EXCLUSIVE MODE');
        const waiting = waiter.query(`SELECT count(*) FROM scans`);
        await waitFor('the waiter to block', async () => {
          const r = await db.client.query(
            `SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'`,
            [waiterPid],
          );
          return r.rows.length ? true : undefined;
        });

        const report = await t.run('db-locks');
        const blocked = finding(report, 'Blocked queries');
        expect(blocked.status).not.toBe('ok');
        expect(blocked.summary).toContain(`pid ${holderPid}`);
        const line = blocked.details?.find((d) => d.startsWith(`pid ${waiterPid} `)) ?? '';
        expect(line).toContain(`blocked by pid ${holderPid}`);
        expect(line).toContain('AccessShareLock on scans');
        expect(line).toContain('SELECT count(*) FROM scans');
        const holders = finding(report, 'Blocking sessions');
        expect(holders.summary).toContain(`pid ${holderPid}`);
        expect(holders.details?.join('\n')).toContain('idle in transaction');
        expect(holders.details?.join('\n')).toContain('LOCK TABLE scans');
        // Held for seconds, not five minutes: no query is offered for termination yet.
        expect(report.nextSteps).toEqual([]);

        await holder.query('ROLLBACK');
        await waiting;
      } finally {
        await holder.end();
        await waiter.end();
      }
      const after = await t.run('db-locks');
      expect(finding(after, 'Blocked queries').summary).toBe('no query is waiting on a lock');
    });
  });

  describe('/dmp db slow', () => {
    it('lists a running query with its pid, user, state and duration, oldest first', async () => {
      const sleeper = new pg.Client({ connectionString: db.url, application_name: 'slow-reporter' });
      await sleeper.connect();
      try {
        const pid = (await sleeper.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        const sleeping = sleeper.query('SELECT pg_sleep(30) /* monthly report */').catch(() => undefined);
        await waitFor('the sleeper to run', async () => {
          const r = await db.client.query(`SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND state = 'active'`, [pid]);
          return r.rows.length ? true : undefined;
        });
        const report = await t.run('db-slow');
        const f = finding(report, 'Active queries');
        const line = f.details?.find((d) => d.startsWith(`pid ${pid} `)) ?? '';
        expect(line).toContain('postgres (slow-reporter)');
        expect(line).toContain('active');
        expect(line).toContain('pg_sleep(30)');
        expect(line).toMatch(/\d+s/);
        expect(line).not.toContain('over 5 minutes');
        expect(f.summary).toMatch(/0 running for over 5 minutes/);
        expect(report.nextSteps).toEqual([]);
        await db.client.query('SELECT pg_cancel_backend($1)', [pid]);
        await sleeping;
      } finally {
        await sleeper.end();
      }
    });

    it('offers to terminate queries older than 5 minutes when there are some', () => {
      const steps = adviseDbSlow([
        { check: 'Active queries', status: 'warn', summary: '', facts: { active: 3, long: 2, longPids: ['41', '42'] } },
      ]);
      expect(steps).toEqual([
        expect.objectContaining({ remedy: 'terminate-queries', params: { olderThanMinutes: 5 } }),
      ]);
    });

    it('keeps a password typed into SQL out of the report', async () => {
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const pid = (await c.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
        await c.query('BEGIN');
        // The last statement of an idle-in-transaction session stays in pg_stat_activity.
        await c.query(`DO $$ BEGIN PERFORM 1; END $$ /* ALTER ROLE x PASSWORD 'hunter2-secret' */`);
        const report = await t.run('db-slow');
        expect(finding(report, 'Active queries').details?.some((d) => d.startsWith(`pid ${pid} `))).toBe(true);
        expect(reportText(report)).not.toContain('hunter2-secret');
        await c.query('ROLLBACK');
      } finally {
        await c.end();
      }
    });
  });

  describe('/dmp db connections', () => {
    it('counts connections against max_connections, by state and by application', async () => {
      const extra = new pg.Client({ connectionString: db.url, application_name: 'conn-counter' });
      await extra.connect();
      try {
        const report = await t.run('db-connections');
        const usage = finding(report, 'Connections');
        const [row] = (await db.client.query<{ max: number }>(`SELECT current_setting('max_connections')::int AS max`))
          .rows;
        expect(usage.summary).toContain(`of max_connections ${row?.max}`);
        expect(finding(report, 'By state').summary).toMatch(/idle \d+/);
        const byApp = finding(report, 'By application and user');
        expect(
          byApp.details?.some((d) => /^1 \(0 active\) {2}conn-counter {2}user postgres {2}database /.test(d)),
        ).toBe(true);
      } finally {
        await extra.end();
      }
    });
  });

  describe('/dmp db replication', () => {
    it('says the test server is a primary with no replica streaming', async () => {
      const report = await t.run('db-replication');
      expect(finding(report, 'Replication').summary).toBe('primary; no replica is streaming from it');
      expect(report.verdict).toBe('ok');
    });
  });

  describe('/dmp graph timeout', () => {
    it('lists the biggest graphs by node count with their repository', async () => {
      const report = await t.run('graph-timeout');
      const f = finding(report, 'Biggest graphs');
      expect(f.summary).toBe(`the largest: ${BIG_SCAN} with 250 nodes`);
      expect(f.details?.[0]).toBe(`${BIG_SCAN}  250 nodes  acme/api  completed`);
      expect(f.details?.[1]).toContain(`${SMALL_SCAN}  40 nodes`);
      expect(finding(report, 'Index idx_nodes_scan').status).toBe('ok');
      expect(report.nextSteps).toEqual([]);
    });

    it('explains a scan’s node query read-only and attaches the whole plan', async () => {
      const report = await t.run('graph-timeout', [BIG_SCAN]);
      const plan = finding(report, 'Query plan');
      expect(plan.summary).toContain(BIG_SCAN);
      expect(plan.summary).toContain('250 rows');
      expect(plan.attachment?.text).toContain('Execution Time');
      expect(plan.attachment?.text).toContain('Buffers');
      expect(plan.details?.join('\n')).toContain('nodes');
    });

    it('answers a bad scan id with a sentence', async () => {
      await expect(t.run('graph-timeout', ['not-a-uuid'])).rejects.toThrow(UserError);
      await expect(t.run('graph-timeout', ['not-a-uuid'])).rejects.toThrow(
        '"not-a-uuid" is not a scan ID: scan IDs are UUIDs',
      );
    });

    it('finds idx_nodes_scan missing and offers to create it', async () => {
      await db.client.query('DROP INDEX idx_nodes_scan');
      try {
        const report = await t.run('graph-timeout', [BIG_SCAN]);
        expect(finding(report, 'Index idx_nodes_scan')).toMatchObject({
          status: 'critical',
          summary: expect.stringContaining('missing'),
        });
        expect(finding(report, 'Query plan').summary).toContain('a sequential scan of nodes');
        expect(report.nextSteps).toEqual([
          expect.objectContaining({ remedy: 'create-index', params: { index: 'idx_nodes_scan' } }),
        ]);
      } finally {
        await db.client.query('CREATE INDEX idx_nodes_scan ON nodes (scan_id)');
      }
    });
  });

  describe('Useful Commands › Database Queries', () => {
    it('/dmp scans by-status counts scans per status', async () => {
      const report = await t.run('scans-by-status');
      expect(finding(report, 'Scans by status').summary).toBe('pending 3, completed 2, failed 1, running 1 (7 in all)');
    });

    it('/dmp tenants top ranks tenants by repositories', async () => {
      const report = await t.run('tenants-top');
      const f = finding(report, 'Largest tenants');
      expect(f.details).toEqual([`1. ${TENANT_A}  3 repositories`, `2. ${TENANT_B}  1 repositories`]);
    });
  });

  describe('/dmp maintenance', () => {
    it('finds dead rows in edges and offers VACUUM ANALYZE for that table only', async () => {
      await db.client.query('ALTER TABLE edges SET (autovacuum_enabled = false)');
      await db.client.query(
        `INSERT INTO edges (scan_id, source_id, target_id) SELECT $1, g, g + 1 FROM generate_series(1, 3000) g`,
        [BIG_SCAN],
      );
      await db.client.query('DELETE FROM edges WHERE source_id <= 2000');
      await waitFor('the statistics to show the dead rows', async () => {
        const r = await db.client.query<{ dead: string }>(
          `SELECT n_dead_tup AS dead FROM pg_stat_user_tables WHERE relname = 'edges'`,
        );
        return Number(r.rows[0]?.dead ?? 0) >= 2000 ? true : undefined;
      });
      const report = await t.run('maintenance');
      const edges = finding(report, 'Table edges');
      expect(edges.status).toBe('warn');
      expect(edges.summary).toContain('1000 live, 2000 dead rows (67%)');
      expect(finding(report, 'Table nodes').status).toBe('ok');
      expect(finding(report, 'Index idx_nodes_scan').summary).toContain('used by');
      expect(finding(report, 'Redis memory').summary).toContain('not configured');
      expect(report.nextSteps.map((s) => [s.remedy, s.params])).toEqual([['vacuum-analyze', { table: 'edges' }]]);
    });
  });

  it('reports an unconfigured database as "not configured" on the check’s line', async () => {
    const bare = await makeTargets({});
    try {
      const report = await bare.run('db-locks');
      expect(report.findings).toEqual([
        expect.objectContaining({
          check: 'Blocked queries',
          status: 'unknown',
          summary: expect.stringContaining('not configured'),
        }),
      ]);
    } finally {
      await bare.close();
    }
  });
});
