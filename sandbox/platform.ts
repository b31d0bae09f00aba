// Builds the simulated DMP platform in this process, in trouble, for `npm run sandbox`: its
// PostgreSQL (embedded PGlite served over the wire protocol), its Redis (an in-memory
// stand-in speaking RESP), the Kubernetes API, the platform API, GitHub's API and PagerDuty —
// the same wire-level fakes the tests use, so the bot talks to them through its real clients.
// `env` is the bot's configuration for it; `page()` has PagerDuty send an incident.
import { randomBytes } from 'node:crypto';
import { type KubeFake, type LogLine, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { type PagerDutyFake, type PdIncident, startPagerDutyFake } from '@dmp-bot/sim/pagerduty-fake';
import { type PgliteServer, startPgliteServer } from '@dmp-bot/sim/pg-server';
import {
  type PlatformApiFake,
  type ReachabilityFake,
  startPlatformApiFake,
  startReachabilityFake,
} from '@dmp-bot/sim/platform-api-fake';
import { type RedisFake, startRedisFake } from '@dmp-bot/sim/redis-fake';
import { type StatuspageFake, startStatuspageFake } from '@dmp-bot/sim/statuspage';
import pg from 'pg';
import { findScenario, PD_SERVICES, SCENARIOS, type Scenario } from './scenarios.js';
import {
  BAD_API_IMAGE,
  QUEUE_DEPTH,
  type SeededDatabase,
  SIM_SEARCH_PATH,
  seedDatabase,
  seedRedis,
  seedSessions,
} from './seed.js';
import { startWorld, type World } from './world.js';

export const NAMESPACE = 'dmp';
export const STATUSPAGE_PAGE = 'dmpsandbox01';
/** The platform's components on the simulated status page: platform name → Statuspage id. */
const STATUSPAGE_COMPONENTS = {
  api: 'spcapi00001',
  workers: 'spcworkers1',
  queue: 'spcqueue001',
  database: 'spcdatabase',
  cache: 'spccache001',
};
const STATUSPAGE_COMPONENT_NAMES: Record<string, string> = {
  spcapi00001: 'API',
  spcworkers1: 'Scan workers',
  spcqueue001: 'Scan queue',
  spcdatabase: 'Database',
  spccache001: 'Cache',
};
const PAGERDUTY_WEBHOOK_PATH = '/pagerduty/webhook';

export interface PlatformOptions {
  /** Where the kubeconfig is written (the sandbox's temporary directory). */
  dir: string;
  now?: () => Date;
  /** Problems of the simulation itself (a dropped watch), for the log. */
  onError?(err: unknown): void;
}

export interface PageResult {
  scenario: Scenario;
  incident: PdIncident;
  /** The webhook delivery: the bot's HTTP answer, or why it failed. */
  status?: number;
  error?: string;
}

export interface SimulatedPlatform {
  /** The bot's configuration for this platform: target URLs, tokens and the webhook secret. */
  readonly env: Record<string, string>;
  /** Resolves once the database is seeded and the simulation runs. */
  readonly ready: Promise<void>;
  readonly k8s: KubeFake;
  readonly redis: RedisFake;
  readonly api: PlatformApiFake;
  readonly github: ReachabilityFake;
  readonly pagerduty: PagerDutyFake;
  /** The simulated public status page the bot publishes to (`/dmp sandbox statuspage`). */
  readonly statuspage: StatuspageFake;
  readonly database: PgliteServer;
  seeded(): SeededDatabase | undefined;
  world(): World | undefined;
  /** Tells PagerDuty where the bot's webhook route is (`http://127.0.0.1:PORT`). */
  connectBot(baseUrl: string): void;
  /** Has PagerDuty trigger an incident for a scenario and deliver its signed webhook. */
  page(scenarioWords: string[]): Promise<PageResult>;
  /** One line per simulated system, for the banner. */
  describe(): string[];
  close(): Promise<void>;
}

export async function startSimulatedPlatform(opts: PlatformOptions): Promise<SimulatedPlatform> {
  const now = opts.now ?? (() => new Date());
  const started = now();
  const adminToken = `dmp-admin-${randomBytes(12).toString('hex')}`;
  const pdToken = `pd-sandbox-${randomBytes(12).toString('hex')}`;
  const webhookSecret = `pd-whsec-${randomBytes(16).toString('hex')}`;
  const statuspageKey = `sp-sandbox-${randomBytes(12).toString('hex')}`;

  // The database takes seconds to start and seed: it happens while the rest starts, and
  // clients that connect meanwhile wait for it.
  let seeded: SeededDatabase | undefined;
  const dbReady = (async () => {
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create();
    seeded = await seedDatabase(db, started);
    await seedSessions(db, seeded, started);
    // One session serves every client, so this search path is every client's.
    await db.exec(`SET search_path TO ${SIM_SEARCH_PATH}`);
    return db;
  })();
  dbReady.catch(() => {});

  const [database, redis, k8s, api, github, pagerduty, statuspage] = await Promise.all([
    startPgliteServer(dbReady),
    startRedisFake({ memoryBaseBytes: 268 * 1024 * 1024, maxmemoryBytes: 512 * 1024 * 1024 }),
    startKubeFake({ namespace: NAMESPACE, now }),
    startPlatformApiFake({ adminToken, version: '1.2.3', workers: [] }),
    startReachabilityFake(),
    startPagerDutyFake({ token: pdToken, services: PD_SERVICES }),
    startStatuspageFake({
      apiKey: statuspageKey,
      pageId: STATUSPAGE_PAGE,
      components: STATUSPAGE_COMPONENT_NAMES,
      now,
    }),
  ]);

  seedPlatform(k8s, started);
  // Five workers for the queue's load; two of their processes will be found hung.
  k8s.updateDeployment(
    'scan-workers',
    (d) => {
      d.spec.replicas = 5;
    },
    { at: new Date(started.getTime() - 3 * 3_600_000) },
  );
  const workerPods = k8s
    .pods('scan-workers')
    .sort(
      (a, b) =>
        a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) ||
        a.metadata.name.localeCompare(b.metadata.name),
    )
    .map((p) => p.metadata.name);
  seedWorkerLogs(k8s, workerPods, started);
  api.setComponent('queue', 'degraded');
  api.setComponent('database', 'degraded');

  const kubeconfig = k8s.writeKubeconfig(opts.dir);
  const simDb = new pg.Pool({
    connectionString: database.url,
    max: 1,
    application_name: 'dmp-sandbox',
    connectionTimeoutMillis: 60_000,
  });
  simDb.on('error', (err) => opts.onError?.(err));
  let world: World | undefined;

  const ready = (async () => {
    const s = await dbReady.then(() => seeded as SeededDatabase);
    seedRedis(redis, s, workerPods, started);
    world = startWorld({ k8s, redis, api, db: simDb, now, onError: opts.onError });
    await world.tick();
  })();
  ready.catch(() => {});

  const env: Record<string, string> = {
    DMP_DATABASE_URL: database.url,
    DMP_REDIS_URL: redis.url,
    DMP_REDIS_PREFIX: '',
    DMP_API_URL: api.url,
    DMP_ADMIN_TOKEN: adminToken,
    KUBECONFIG: kubeconfig,
    DMP_NAMESPACE: NAMESPACE,
    GITHUB_API_URL: `${github.url}/`,
    PAGERDUTY_API_URL: pagerduty.url,
    PAGERDUTY_API_TOKEN: pdToken,
    PAGERDUTY_WEBHOOK_SECRETS: webhookSecret,
    STATUSPAGE_API_URL: statuspage.apiUrl,
    STATUSPAGE_API_KEY: statuspageKey,
    STATUSPAGE_PAGE_ID: STATUSPAGE_PAGE,
    STATUSPAGE_COMPONENTS: JSON.stringify(STATUSPAGE_COMPONENTS),
  };

  const platform: SimulatedPlatform = {
    env,
    ready,
    k8s,
    redis,
    api,
    github,
    pagerduty,
    statuspage,
    database,
    seeded: () => seeded,
    world: () => world,
    connectBot(baseUrl) {
      pagerduty.webhookTarget = {
        url: `${baseUrl.replace(/\/+$/, '')}${PAGERDUTY_WEBHOOK_PATH}`,
        secrets: [webhookSecret],
        subscriptionId: 'PDMPSBX',
      };
    },
    async page(words) {
      const scenario = findScenario(words);
      if (!scenario) throw new UnknownScenario(words.join(' '));
      if (!pagerduty.webhookTarget)
        throw new Error('the bot’s HTTP server is not running, so PagerDuty has nowhere to deliver the webhook');
      await ready;
      await stageScenario(scenario);
      const before = pagerduty.deliveries.length;
      const incident = await pagerduty.triggerIncident({
        title: scenario.title,
        serviceId: scenario.serviceId,
        priority: scenario.priority,
        urgency: scenario.urgency,
        details: scenario.details,
        incident_key: `${scenario.id}-${Date.now().toString(36)}`,
      });
      const delivery = pagerduty.deliveries
        .slice(before)
        .find((d) => d.event.event.event_type === 'incident.triggered');
      return { scenario, incident, status: delivery?.status, error: delivery?.error };
    },
    describe() {
      const s = seeded;
      const scans = s
        ? Object.entries(s.scans)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ')
        : 'seeding…';
      return [
        `PostgreSQL — embedded PGlite on ${database.url}: ${s?.repositories ?? 40} repositories of 6 tenants, scans (${scans}), graphs from 14 to 48,000 nodes, idx_nodes_scan missing, slow queries and a lock chain`,
        `Redis — an in-memory stand-in speaking the Redis protocol on ${redis.url} (not a Redis server): ${QUEUE_DEPTH} jobs in scan_queue, worker-3 and worker-5 of five without a heartbeat, graph:* and session:* caches`,
        `Kubernetes API — namespace ${NAMESPACE}: api (3 revisions, auth and webhook errors in its logs), scan-workers, secrets jwt-keys and webhook-secrets`,
        'Platform API (/health, /health/detailed, /health/workers), GitHub’s API, PagerDuty, and a public status page (Statuspage API; `/dmp sandbox statuspage` lists its incidents)',
      ];
    },
    async close() {
      await world?.stop();
      await simDb.end().catch(() => {});
      await Promise.allSettled([
        database.close(),
        redis.close(),
        k8s.close(),
        api.close(),
        github.close(),
        pagerduty.close(),
        statuspage.close(),
      ]);
      await dbReady.then((db) => db.close()).catch(() => {});
    },
  };

  /** The page is about something: make sure the platform still shows it. */
  async function stageScenario(scenario: Scenario): Promise<void> {
    if (scenario.id === 'database-cpu') {
      // If the slow queries were already terminated, a new runaway report brought the CPU back.
      await simDb.query(
        `INSERT INTO sim.activity (datid, datname, pid, usesysid, usename, application_name, client_addr, client_port,
                                   backend_start, xact_start, query_start, state_change, state, query, backend_type)
         SELECT d.oid, d.datname, 49000 + (SELECT count(*) FROM sim.activity)::int, 16384, 'analytics_ro', 'metabase', '10.0.9.14', 51022,
                now() - interval '2 hours', now() - interval '6 minutes', now() - interval '6 minutes', now() - interval '6 minutes', 'active',
                'SELECT s.repository_id, count(*) FROM nodes n JOIN scans s ON s.id = n.scan_id GROUP BY 1 ORDER BY 2 DESC', 'client backend'
           FROM pg_database d
          WHERE d.datname = current_database()
            AND NOT EXISTS (SELECT 1 FROM sim.activity WHERE state = 'active' AND query_start < now() - interval '5 minutes')`,
      );
      api.setComponent('database', 'degraded');
    }
    if (scenario.id === 'auth-failures') await addAuthErrors(k8s, now());
    if (scenario.id === 'bad-deploy') {
      // A release ten minutes before the page: the cause, and the diagnosis calls it out first.
      const current = k8s.getDeployment('api')?.spec.template.spec.containers[0]?.image;
      if (current !== BAD_API_IMAGE)
        k8s.updateDeployment(
          'api',
          (d) => {
            const c = d.spec.template.spec.containers[0];
            if (c) c.image = BAD_API_IMAGE;
            d.metadata.annotations = {
              ...d.metadata.annotations,
              'kubernetes.io/change-cause': 'release 1.2.4: connection pool rewrite (deploy #460)',
            };
          },
          { at: new Date(now().getTime() - 10 * 60_000) },
        );
      await world?.tick();
    }
  }

  return platform;
}

export class UnknownScenario extends Error {
  constructor(readonly words: string) {
    super(`no scenario "${words}"; try ${SCENARIOS.map((s) => s.id).join(', ')}`);
  }
}

/** scan-workers logs: steady work, and the two hung workers' last words before they went quiet. */
function seedWorkerLogs(k8s: KubeFake, pods: string[], now: Date): void {
  const t = now.getTime();
  const line = (agoS: number, level: string, text: string): LogLine => {
    const at = new Date(t - agoS * 1000);
    return { at, text: `${at.toISOString()} ${level.padEnd(5)} ${text}` };
  };
  for (const [i, pod] of pods.entries()) {
    const id = `worker-${i + 1}`;
    const hungFor = id === 'worker-3' ? 14 * 60 : id === 'worker-5' ? 11 * 60 : 0;
    const lines: LogLine[] = [];
    for (let s = 3_600; s > hungFor; s -= 45 + ((i * 17 + s) % 40)) {
      lines.push(
        line(
          s,
          'INFO',
          `[worker] ${id} parsed manifest in ${120 + ((s * 7) % 900)}ms job=job_${(0x5a0000 + s).toString(16)}`,
        ),
      );
    }
    if (hungFor) {
      lines.push(
        line(
          hungFor + 20,
          'WARN',
          `[db] ${id} waiting for lock on scans row (transaction open for ${Math.round((hungFor + 20) / 60)}m)`,
        ),
      );
      lines.push(
        line(
          hungFor + 2,
          'ERROR',
          `[heartbeat] ${id} heartbeat failed: context deadline exceeded (redis write timed out)`,
        ),
      );
      lines.push(line(hungFor, 'WARN', `[heartbeat] ${id} heartbeat thread stalled; no further heartbeats`));
    }
    k8s.setPodLogs(pod, lines);
  }
}

/** Fresh "auth error" lines in the api pods' logs, as a page about them would find. */
async function addAuthErrors(k8s: KubeFake, now: Date): Promise<void> {
  const pods = k8s.pods('api').map((p) => p.metadata.name);
  for (const [i, pod] of pods.entries()) {
    let lines: LogLine[] = [];
    try {
      const res = await fetch(`${k8s.url}/api/v1/namespaces/${k8s.namespace}/pods/${pod}/log?timestamps=true`, {
        headers: { authorization: `Bearer ${k8s.token}` },
        signal: AbortSignal.timeout(2_000),
      });
      if (res.ok) {
        lines = (await res.text())
          .split('\n')
          .filter(Boolean)
          .map((raw) => {
            const space = raw.indexOf(' ');
            return { at: new Date(raw.slice(0, space)), text: raw.slice(space + 1) };
          })
          .filter((l) => !Number.isNaN(l.at.getTime()));
      }
    } catch {
      lines = [];
    }
    for (let k = 0; k < 3; k++) {
      const at = new Date(now.getTime() - (20 + i * 37 + k * 53) * 1000);
      lines.push({
        at,
        text: `${at.toISOString()} ERROR [auth] auth error: invalid JWT signature kid=dmp-2024-11 path=/api/v1/graph/dependencies request_id=req_${(0x7f3a10 + i * 7 + k).toString(16)}`,
      });
    }
    k8s.setPodLogs(pod, lines);
  }
}
