// The simulated DMP platform's believable state, the same every run (a seeded generator):
// six tenants and their repositories, scans in every status with three stuck in pending for
// 20 minutes, dependency graphs from a dozen nodes to tens of thousands, the missing
// idx_nodes_scan, a backed-up scan_queue, five workers of which two stopped beating, cache
// namespaces, and database sessions (slow queries, a lock chain) PGlite alone would not have.
import { readFileSync } from 'node:fs';
import { mulberry32 } from '@dmp-bot/sim/random';
import type { RedisFake } from '@dmp-bot/sim/redis-fake';
import type { PGlite } from '@electric-sql/pglite';

function uuidFrom(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16));
  hex[12] = '4';
  hex[16] = ((Number.parseInt(hex[16] ?? '8', 16) & 0x3) | 0x8).toString(16);
  const s = hex.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
}

export const TENANTS: Array<{ slug: string; repos: string[] }> = [
  {
    slug: 'acme',
    repos: [
      'payments-service',
      'monorepo',
      'checkout-web',
      'ledger',
      'fraud-detector',
      'mobile-app',
      'infra-terraform',
      'notifications',
      'search-api',
      'identity',
      'reporting',
      'data-pipeline',
      'design-system',
      'admin-portal',
    ],
  },
  {
    slug: 'globex',
    repos: [
      'web',
      'api-gateway',
      'billing',
      'analytics',
      'inventory',
      'ios-app',
      'android-app',
      'shipping',
      'hr-portal',
    ],
  },
  { slug: 'initech', repos: ['tps-reports', 'mainframe-bridge', 'intranet', 'printer-service', 'payroll', 'crm'] },
  { slug: 'hooli', repos: ['nucleus', 'hooli-chat', 'xyz', 'box-firmware', 'search'] },
  { slug: 'umbrella', repos: ['lab-portal', 'sample-tracker', 'hive-api', 'research-wiki'] },
  { slug: 'stark-industries', repos: ['arc-telemetry', 'suit-os'] },
];

/** Dependency graphs of the latest completed scan of these repositories: nodes, edges. */
const GRAPHS: Array<[string, number, number]> = [
  ['acme/monorepo', 48_000, 131_000],
  ['globex/api-gateway', 16_500, 41_000],
  ['hooli/nucleus', 9_200, 22_800],
  ['acme/checkout-web', 4_100, 9_700],
  ['initech/mainframe-bridge', 2_300, 5_100],
  ['umbrella/hive-api', 1_150, 2_600],
  ['acme/payments-service', 640, 1_420],
  ['globex/web', 380, 820],
  ['stark-industries/arc-telemetry', 150, 290],
  ['hooli/xyz', 60, 95],
  ['initech/printer-service', 14, 13],
];

const STUCK_REPOS = ['acme/payments-service', 'globex/web', 'initech/tps-reports'];

const FAILURES = [
  'Parser error: unsupported lockfile version 4 in package-lock.json',
  'Clone failed: repository not found or access revoked',
  'Timeout - manual intervention',
  'Parser error: invalid go.sum checksum line 212',
  'Worker lost: heartbeat timeout',
  'Resolver error: maven central answered 503',
];

export interface SeededDatabase {
  /** The three scans pending for 20 minutes, oldest first. */
  stuckScanIds: string[];
  /** The scan with the biggest graph (its EXPLAIN shows the sequential scan). */
  biggestScanId: string;
  repositories: number;
  scans: Record<string, number>;
  nodes: number;
  edges: number;
}

/** The platform schema from fixtures/dmp/schema.sql. */
export function platformSchema(): string {
  return readFileSync(new URL('../fixtures/dmp/schema.sql', import.meta.url), 'utf8');
}

export async function seedDatabase(db: PGlite, now: Date): Promise<SeededDatabase> {
  const random = mulberry32(20_240_611);
  const t = now.getTime();
  const ago = (ms: number) => new Date(t - ms).toISOString();
  await db.exec(platformSchema());
  // The "Graph Queries Timeout" procedure is meant to find this index missing.
  await db.exec('DROP INDEX IF EXISTS idx_nodes_scan');

  const repoIds = new Map<string, string>();
  const repoRows: string[] = [];
  for (const tenant of TENANTS) {
    const tenantId = uuidFrom(random);
    for (const name of tenant.repos) {
      const id = uuidFrom(random);
      repoIds.set(`${tenant.slug}/${name}`, id);
      repoRows.push(`('${id}', '${tenantId}', '${tenant.slug}/${name}')`);
    }
  }
  await db.exec(`INSERT INTO repositories (id, tenant_id, name) VALUES ${repoRows.join(',\n')}`);

  interface ScanRow {
    id: string;
    repo: string;
    status: string;
    error: string | null;
    created: string;
    updated: string;
  }
  const scans: ScanRow[] = [];
  const repos = [...repoIds.keys()];
  const add = (
    repo: string,
    status: string,
    createdAgoMs: number,
    tookMs: number,
    error: string | null = null,
  ): ScanRow => {
    const row = {
      id: uuidFrom(random),
      repo,
      status,
      error,
      created: ago(createdAgoMs),
      updated: ago(Math.max(0, createdAgoMs - tookMs)),
    };
    scans.push(row);
    return row;
  };
  // Two weeks of history: busy repositories scan more often (every push).
  for (const [i, repo] of repos.entries()) {
    const perRepo = 2 + Math.floor((repos.length - i) / 5) + Math.floor(random() * 3);
    for (let k = 0; k < perRepo; k++) {
      const createdAgo = 30 * 60_000 + Math.floor(random() * 14 * 86_400_000);
      const failed = random() < 0.09;
      add(
        repo,
        failed ? 'failed' : 'completed',
        createdAgo,
        60_000 + Math.floor(random() * 14 * 60_000),
        failed ? (FAILURES[Math.floor(random() * FAILURES.length)] as string) : null,
      );
    }
  }
  for (const repo of ['globex/hr-portal', 'umbrella/research-wiki', 'acme/design-system'])
    add(repo, 'cancelled', 2 * 86_400_000 + Math.floor(random() * 86_400_000), 30_000);
  // The latest completed scan of each graph repository carries its graph.
  const graphScans = GRAPHS.map(([repo, nodes, edges]) => ({
    scan: add(repo, 'completed', 45 * 60_000 + Math.floor(random() * 6 * 3_600_000), 4 * 60_000),
    nodes,
    edges,
  }));
  for (const [i, repo] of ['hooli/hooli-chat', 'acme/ledger', 'globex/billing', 'umbrella/lab-portal'].entries())
    add(repo, 'running', (40 + i * 55) * 1000, 0);
  // The incident: three scans pending for 20 minutes (the oldest first), two just queued.
  const stuck = STUCK_REPOS.map((repo, i) =>
    add(repo, 'pending', 20 * 60_000 + (2 - i) * 9_000, 20 * 60_000 + (2 - i) * 9_000),
  );
  for (const [i, repo] of ['acme/checkout-web', 'hooli/search'].entries())
    add(repo, 'pending', (35 + i * 50) * 1000, (35 + i * 50) * 1000);

  for (let i = 0; i < scans.length; i += 200) {
    const values = scans
      .slice(i, i + 200)
      .map(
        (s) =>
          `('${s.id}', '${repoIds.get(s.repo)}', '${s.status}', ${s.error ? `'${s.error.replace(/'/g, "''")}'` : 'NULL'}, '${s.created}', '${s.updated}')`,
      );
    await db.exec(
      `INSERT INTO scans (id, repository_id, status, error_message, created_at, updated_at) VALUES ${values.join(',\n')}`,
    );
  }

  let nodes = 0;
  let edges = 0;
  for (const g of graphScans) {
    // Package coordinates across ecosystems, so the graph reads like one.
    await db.query(
      `INSERT INTO nodes (scan_id, name)
       SELECT $1, (ARRAY['npm','npm','npm','pypi','maven','go','cargo','rubygems'])[1 + (n % 8)] || ':' ||
              (ARRAY['lodash','react','express','axios','chalk','debug','uuid','yaml','requests','urllib3','numpy','jackson-databind',
                     'guava','slf4j-api','golang.org/x/net','grpc','serde','tokio','rails','rack','left-pad','minimist','semver','tslib'])[1 + ((n * 7) % 24)] ||
              CASE WHEN n >= 24 THEN '-' || (n / 24)::text ELSE '' END || '@' || (1 + n % 9) || '.' || (n % 13) || '.' || (n % 7)
         FROM generate_series(0, $2::int - 1) AS n`,
      [g.scan.id, g.nodes],
    );
    const [first] = (
      await db.query<{ id: string }>('SELECT min(id)::text AS id FROM nodes WHERE scan_id = $1', [g.scan.id])
    ).rows;
    await db.query(
      `INSERT INTO edges (scan_id, source_id, target_id)
       SELECT $1, $2::bigint + (e % $3::int), $2::bigint + ((e * 31 + 7) % $3::int) FROM generate_series(0, $4::int - 1) AS e`,
      [g.scan.id, first?.id ?? '1', g.nodes, g.edges],
    );
    nodes += g.nodes;
    edges += g.edges;
  }
  await db.exec('ANALYZE');

  const counts: Record<string, number> = {};
  for (const s of scans) counts[s.status] = (counts[s.status] ?? 0) + 1;
  return {
    stuckScanIds: stuck.map((s) => s.id),
    biggestScanId: graphScans[0]?.scan.id ?? '',
    repositories: repoIds.size,
    scans: counts,
    nodes,
    edges,
  };
}

// ---------------------------------------------------------------------------------------------
// Database sessions. PGlite is one backend, so pg_stat_activity and pg_locks show only the
// bot's own query. The sandbox adds the sessions a busy platform database has — the API's
// pool, the workers', an analyst's report, a graph query running without its index, a worker
// idle in a transaction and the update it blocks — in a `sim` schema searched before
// pg_catalog. pg_terminate_backend() and pg_cancel_backend() end simulated sessions; real
// ones go to PostgreSQL's own functions.

export const SIM_SCHEMA_SQL = `
CREATE SCHEMA sim;
CREATE TABLE sim.activity AS SELECT * FROM pg_catalog.pg_stat_activity WITH NO DATA;
CREATE TABLE sim.locks AS SELECT * FROM pg_catalog.pg_locks WITH NO DATA;
CREATE TABLE sim.blocking (pid integer NOT NULL, blocker integer NOT NULL);
CREATE VIEW sim.pg_stat_activity AS
  SELECT * FROM pg_catalog.pg_stat_activity UNION ALL SELECT * FROM sim.activity;
CREATE VIEW sim.pg_locks AS
  SELECT * FROM pg_catalog.pg_locks UNION ALL SELECT * FROM sim.locks;
CREATE FUNCTION sim.end_session(target integer) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM sim.activity WHERE pid = target) THEN RETURN NULL; END IF;
  DELETE FROM sim.activity WHERE pid = target;
  DELETE FROM sim.locks WHERE pid = target;
  -- Sessions that waited only on this one get their lock and finish.
  DELETE FROM sim.activity a WHERE a.pid IN (SELECT b.pid FROM sim.blocking b WHERE b.blocker = target)
    AND NOT EXISTS (SELECT 1 FROM sim.blocking o WHERE o.pid = a.pid AND o.blocker <> target);
  DELETE FROM sim.locks l WHERE NOT EXISTS (SELECT 1 FROM sim.activity a WHERE a.pid = l.pid);
  DELETE FROM sim.blocking WHERE blocker = target OR pid = target OR pid NOT IN (SELECT pid FROM sim.activity);
  RETURN true;
END $$;
CREATE FUNCTION sim.pg_terminate_backend(pid integer, timeout bigint DEFAULT 0) RETURNS boolean LANGUAGE sql AS $$
  SELECT coalesce(sim.end_session(pid), pg_catalog.pg_terminate_backend(pid, timeout))
$$;
CREATE FUNCTION sim.pg_cancel_backend(pid integer) RETURNS boolean LANGUAGE sql AS $$
  SELECT coalesce(sim.end_session(pid), pg_catalog.pg_cancel_backend(pid))
$$;
CREATE FUNCTION sim.pg_blocking_pids(pid integer) RETURNS integer[] LANGUAGE sql AS $$
  SELECT coalesce((SELECT array_agg(b.blocker ORDER BY b.blocker) FROM sim.blocking b WHERE b.pid = $1), pg_catalog.pg_blocking_pids($1))
$$;
`;

/** The search path that makes the simulated sessions visible to unqualified names. */
export const SIM_SEARCH_PATH = 'public, sim, pg_catalog';

interface SimSession {
  pid: number;
  user: string;
  app: string;
  state: 'active' | 'idle' | 'idle in transaction';
  /** How long ago the current (or last) query started, and the transaction. */
  queryAgoS: number;
  xactAgoS?: number;
  wait?: [string, string];
  query: string;
  addr: string;
}

export async function seedSessions(
  db: PGlite,
  seeded: SeededDatabase,
  now: Date,
): Promise<{ longRunning: number; blocked: number }> {
  await db.exec(SIM_SCHEMA_SQL);
  const random = mulberry32(77);
  const sessions: SimSession[] = [];
  let pid = 48_100;
  const next = () => (pid += 3 + Math.floor(random() * 9));
  const apiQueries = [
    'SELECT id, name FROM repositories WHERE tenant_id = $1 ORDER BY name LIMIT 50',
    'SELECT status, count(*) FROM scans WHERE repository_id = $1 GROUP BY status',
    'SELECT * FROM scans WHERE id = $1',
    'UPDATE scans SET updated_at = now() WHERE id = $1',
  ];
  for (let i = 0; i < 26; i++) {
    sessions.push({
      pid: next(),
      user: 'dmp_api',
      app: 'dmp-api',
      state: 'idle',
      queryAgoS: 2 + Math.floor(random() * 40),
      query: apiQueries[i % apiQueries.length] as string,
      addr: `10.0.${1 + (i % 3)}.${20 + i}`,
    });
  }
  for (let i = 0; i < 3; i++) {
    sessions.push({
      pid: next(),
      user: 'dmp_api',
      app: 'dmp-api',
      state: 'active',
      queryAgoS: 0.2 + random(),
      query: apiQueries[i] as string,
      addr: `10.0.2.${60 + i}`,
    });
  }
  for (let i = 0; i < 8; i++) {
    sessions.push({
      pid: next(),
      user: 'dmp_worker',
      app: 'dmp-scan-worker',
      state: 'idle',
      queryAgoS: 5 + Math.floor(random() * 300),
      query: 'SELECT id, repository_id FROM scans WHERE id = $1 FOR UPDATE',
      addr: `10.0.3.${40 + i}`,
    });
  }
  const graphPid = next();
  sessions.push({
    pid: graphPid,
    user: 'dmp_api',
    app: 'dmp-api',
    state: 'active',
    queryAgoS: 11 * 60 + 24,
    query: `SELECT n.id, n.name, e.target_id FROM nodes n JOIN edges e ON e.source_id = n.id WHERE n.scan_id = '${seeded.biggestScanId}' ORDER BY n.name`,
    addr: '10.0.1.31',
  });
  sessions.push({
    pid: next(),
    user: 'analytics_ro',
    app: 'metabase',
    state: 'active',
    queryAgoS: 7 * 60 + 3,
    wait: ['IO', 'DataFileRead'],
    query:
      "SELECT r.tenant_id, date_trunc('day', s.created_at) AS day, count(*) AS scans, count(n.id) AS nodes FROM scans s JOIN repositories r ON r.id = s.repository_id LEFT JOIN nodes n ON n.scan_id = s.id GROUP BY 1, 2 ORDER BY 2 DESC",
    addr: '10.0.9.14',
  });
  // A worker that hung inside its transaction (worker-3's), and the update it blocks.
  const holderPid = next();
  const stuck = seeded.stuckScanIds[0] ?? '';
  sessions.push({
    pid: holderPid,
    user: 'dmp_worker',
    app: 'dmp-scan-worker',
    state: 'idle in transaction',
    queryAgoS: 14 * 60 + 2,
    xactAgoS: 14 * 60 + 5,
    wait: ['Client', 'ClientRead'],
    query: `UPDATE scans SET status = 'running', updated_at = now() WHERE id = '${stuck}'`,
    addr: '10.0.3.43',
  });
  const waiterPid = next();
  sessions.push({
    pid: waiterPid,
    user: 'dmp_api',
    app: 'dmp-api',
    state: 'active',
    queryAgoS: 3 * 60 + 41,
    wait: ['Lock', 'transactionid'],
    query: `UPDATE scans SET updated_at = now() WHERE id = '${stuck}'`,
    addr: '10.0.2.77',
  });

  const t = now.getTime();
  const at = (agoS: number) => new Date(t - agoS * 1000).toISOString();
  for (const s of sessions) {
    const backendAgo = s.queryAgoS + 600 + Math.floor(random() * 7_200);
    await db.query(
      `INSERT INTO sim.activity (datid, datname, pid, usesysid, usename, application_name, client_addr, client_port,
                                 backend_start, xact_start, query_start, state_change, wait_event_type, wait_event, state, query, backend_type)
       SELECT oid, datname, $1, 16384, $2, $3, $4::inet, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'client backend'
         FROM pg_database WHERE datname = current_database()`,
      [
        s.pid,
        s.user,
        s.app,
        s.addr,
        40_000 + Math.floor(random() * 20_000),
        at(backendAgo),
        s.state === 'idle' ? null : at(s.xactAgoS ?? s.queryAgoS),
        at(s.queryAgoS),
        at(s.state === 'active' ? s.queryAgoS : Math.max(0, s.queryAgoS - 0.05)),
        s.wait?.[0] ?? null,
        s.wait?.[1] ?? null,
        s.state,
        s.query,
      ],
    );
  }
  // The holder's row lock shows as its transaction id; the waiter wants a ShareLock on it.
  const xid = 1_884_213;
  await db.query(
    `INSERT INTO sim.locks (locktype, database, relation, transactionid, virtualtransaction, pid, mode, granted, fastpath, waitstart)
     VALUES ('transactionid', NULL, NULL, $1::text::xid, '12/40211', $2, 'ExclusiveLock', true, false, NULL),
            ('relation', (SELECT oid FROM pg_database WHERE datname = current_database()), 'scans'::regclass, NULL, '12/40211', $2, 'RowExclusiveLock', true, true, NULL),
            ('transactionid', NULL, NULL, $1::text::xid, '17/9983', $3, 'ShareLock', false, false, $4),
            ('relation', (SELECT oid FROM pg_database WHERE datname = current_database()), 'nodes'::regclass, NULL, '9/1102', $5, 'AccessShareLock', true, true, NULL)`,
    [String(xid), holderPid, waiterPid, at(3 * 60 + 41), graphPid],
  );
  await db.query('INSERT INTO sim.blocking (pid, blocker) VALUES ($1, $2)', [waiterPid, holderPid]);
  return { longRunning: 3, blocked: 1 };
}

// ---------------------------------------------------------------------------------------------
// Redis: the queue, the worker registry and heartbeats, and the cache.

export const WORKER_IDS = ['worker-1', 'worker-2', 'worker-3', 'worker-4', 'worker-5'];
/** worker-3 and worker-5 stopped sending heartbeats: 14 and 11 minutes ago. */
export const DEAD_WORKERS: Record<string, number> = { 'worker-3': 14 * 60, 'worker-5': 11 * 60 };
export const QUEUE_DEPTH = 137;

export function seedRedis(redis: RedisFake, seeded: SeededDatabase, pods: string[], now: Date): void {
  const random = mulberry32(4242);
  const nowS = Math.floor(now.getTime() / 1000);
  const manifests = [
    'package-lock.json',
    'yarn.lock',
    'requirements.txt',
    'poetry.lock',
    'pom.xml',
    'go.sum',
    'Cargo.lock',
    'Gemfile.lock',
    'pnpm-lock.yaml',
  ];
  const dirs = [
    '',
    'services/ledger/',
    'services/checkout/',
    'apps/web/',
    'packages/ui/',
    'tools/',
    'api/',
    'workers/',
  ];
  const jobs: string[] = [];
  for (let i = 0; i < QUEUE_DEPTH; i++) {
    const scan = seeded.stuckScanIds[i % seeded.stuckScanIds.length] ?? '';
    const enqueued = new Date(now.getTime() - (20 * 60 - i * 6) * 1000).toISOString();
    jobs.push(
      JSON.stringify({
        job_id: `job_${(0x5a3f00 + i).toString(16)}`,
        scan_id: scan,
        task: 'parse',
        manifest: `${dirs[Math.floor(random() * dirs.length)]}${manifests[Math.floor(random() * manifests.length)]}`,
        enqueued_at: enqueued,
        attempt: 1 + (i % 7 === 0 ? 1 : 0),
      }),
    );
  }
  for (let i = 0; i < jobs.length; i += 50) redis.exec(['RPUSH', 'scan_queue', ...jobs.slice(i, i + 50)]);

  for (const [i, id] of WORKER_IDS.entries()) {
    const deadFor = DEAD_WORKERS[id];
    const status = deadFor ? 'busy' : i === 0 ? 'idle' : 'busy';
    const since = new Date(now.getTime() - (deadFor ?? 40 + i * 17) * 1000).toISOString();
    redis.exec([
      'HSET',
      'workers',
      id,
      JSON.stringify({
        status,
        pod: pods[i] ?? `scan-workers-${i}`,
        current_job: status === 'busy' ? `job_${(0x5a2e10 + i * 3).toString(16)}` : null,
        since,
        version: '1.2.3',
      }),
    ]);
    redis.exec(['ZADD', 'worker_heartbeats', String(nowS - (deadFor ?? 3 + i * 2)), id]);
  }

  // The cache: graphs (an hour's TTL), sessions (a day's), rate limits and repository metadata.
  for (let i = 0; i < 64; i++) {
    const scan = `${Math.floor(random() * 0xffffffff)
      .toString(16)
      .padStart(8, '0')}-${i.toString(16).padStart(4, '0')}`;
    redis.exec([
      'SET',
      `graph:${scan}:dependencies`,
      JSON.stringify({ nodes: 100 + Math.floor(random() * 5_000), cached_at: now.toISOString() }),
      'EX',
      String(600 + Math.floor(random() * 3_000)),
    ]);
    if (i % 2 === 0)
      redis.exec([
        'SET',
        `graph:${scan}:summary`,
        JSON.stringify({ depth: 3 + (i % 9) }),
        'EX',
        String(900 + Math.floor(random() * 2_700)),
      ]);
  }
  for (let i = 0; i < 85; i++) {
    redis.exec([
      'SET',
      `session:${Math.floor(random() * 2 ** 48).toString(36)}`,
      JSON.stringify({ user: `u${1000 + i}`, tenant: TENANTS[i % TENANTS.length]?.slug }),
      'EX',
      String(3_600 + Math.floor(random() * 82_800)),
    ]);
  }
  for (const tenant of TENANTS)
    redis.exec(['SET', `ratelimit:tenant:${tenant.slug}`, String(Math.floor(random() * 900)), 'EX', '60']);
  for (let i = 0; i < 40; i++)
    redis.exec([
      'HSET',
      `repo:meta:${i}`,
      'default_branch',
      'main',
      'last_push',
      new Date(now.getTime() - Math.floor(random() * 86_400_000)).toISOString(),
    ]);
  // A week of traffic: about 71% of lookups hit, the rest went to the database.
  redis.addStats({ hits: 1_482_907, misses: 611_332, evicted: 1_204 });
}

/** The bad-deploy scenario's release: the api answers unhealthy while it runs. */
export const BAD_API_IMAGE = 'ghcr.io/dmp/api:1.2.4';
