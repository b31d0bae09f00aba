// A fake of the DMP platform API's health endpoints (`/health`, `/health/detailed`,
// `/health/workers`) whose state tests and the sandbox set directly, plus a stand-in for
// https://api.github.com/ used by the reachability checks in runbook procedures.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FakeHttpServer, Fault, FaultOptions } from './http-server.js';
import { headerRecord, json, splitUrl, startHttpServer } from './http-server.js';

export type ComponentName = 'database' | 'cache' | 'queue' | 'storage';
export type ComponentStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface PlatformWorker {
  id: string;
  status: 'alive' | 'dead';
  /** Unix seconds, like the `worker_heartbeats` ZSET. */
  last_heartbeat: number;
  current_job?: string | null;
}

export interface PlatformApiFakeOptions {
  /** The `DMP_ADMIN_TOKEN` that `/health/detailed` requires. */
  adminToken?: string;
  version?: string;
  workers?: PlatformWorker[];
  port?: number;
}

export interface PlatformRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  at: number;
}

export interface PlatformApiFake {
  readonly url: string;
  readonly http: FakeHttpServer;
  readonly adminToken: string;
  readonly requests: PlatformRequest[];
  readonly components: Record<ComponentName, ComponentStatus>;
  workers: PlatformWorker[];
  setComponent(name: ComponentName, status: ComponentStatus): void;
  /** Pins the overall status; `undefined` goes back to deriving it from the components. */
  setStatus(status: ComponentStatus | undefined): void;
  setWorkers(workers: PlatformWorker[]): void;
  setFault(kind: Fault, opts?: FaultOptions): void;
  down(): Promise<void>;
  up(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

const nowSec = (): number => Math.floor(Date.now() / 1000);

/** Three live workers and two whose heartbeats stopped ten minutes ago. */
export function defaultWorkers(): PlatformWorker[] {
  const now = nowSec();
  return [1, 2, 3, 4, 5].map((n) => ({
    id: `worker-${n}`,
    status: n <= 3 ? 'alive' : 'dead',
    last_heartbeat: n <= 3 ? now - 5 : now - 600,
    current_job: null,
  }));
}

const healthyComponents = (): Record<ComponentName, ComponentStatus> => ({
  database: 'healthy',
  cache: 'healthy',
  queue: 'healthy',
  storage: 'healthy',
});

export async function startPlatformApiFake(opts: PlatformApiFakeOptions = {}): Promise<PlatformApiFake> {
  const adminToken = opts.adminToken ?? 'dmp-admin-token';
  const version = opts.version ?? '1.2.3';
  const requests: PlatformRequest[] = [];
  let pinnedStatus: ComponentStatus | undefined;

  const overall = (): ComponentStatus => {
    if (pinnedStatus) return pinnedStatus;
    const statuses = Object.values(fake.components);
    if (statuses.includes('unhealthy')) return 'unhealthy';
    return statuses.includes('degraded') ? 'degraded' : 'healthy';
  };

  const workersBody = (): Record<string, unknown> => {
    const alive = fake.workers.filter((w) => w.status === 'alive').length;
    const dead = fake.workers.length - alive;
    return {
      status: alive === 0 ? 'unhealthy' : dead > 0 ? 'degraded' : 'healthy',
      workers: fake.workers,
      alive,
      dead,
    };
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const { path } = splitUrl(req);
    const headers = headerRecord(req);
    requests.push({ method: req.method ?? 'GET', path, headers, at: Date.now() });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'method_not_allowed' });
      return;
    }
    switch (path) {
      case '/health':
        json(res, 200, { status: overall(), version });
        return;
      case '/health/detailed':
        if (headers.authorization !== `Bearer ${adminToken}`) {
          json(res, 401, { error: 'unauthorized', message: 'admin token required' });
          return;
        }
        json(res, 200, { status: overall(), version, components: { ...fake.components } });
        return;
      case '/health/workers':
        json(res, 200, workersBody());
        return;
      default:
        json(res, 404, { error: 'not_found' });
    }
  };

  const http = await startHttpServer(handle, opts.port === undefined ? {} : { port: opts.port });

  const fake: PlatformApiFake = {
    url: http.url,
    http,
    adminToken,
    requests,
    components: healthyComponents(),
    workers: opts.workers ?? defaultWorkers(),
    setComponent(name, status) {
      fake.components[name] = status;
    },
    setStatus(status) {
      pinnedStatus = status;
    },
    setWorkers(workers) {
      fake.workers = workers;
    },
    setFault: (kind, faultOpts) => http.setFault(kind, faultOpts),
    down: () => http.down(),
    up: () => http.up(),
    reset() {
      Object.assign(fake.components, healthyComponents());
      pinnedStatus = undefined;
      fake.workers = opts.workers ?? defaultWorkers();
      requests.length = 0;
      http.setFault('none');
    },
    close: () => http.close(),
  };
  return fake;
}

export interface ReachabilityFake {
  readonly url: string;
  readonly http: FakeHttpServer;
  readonly requests: PlatformRequest[];
  setFault(kind: Fault, opts?: FaultOptions): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Stands in for https://api.github.com/: 200 with GitHub's headers to GET or HEAD `/`, and the
 * 404 JSON GitHub gives to other methods and unknown paths.
 */
export async function startReachabilityFake(opts: { port?: number } = {}): Promise<ReachabilityFake> {
  const requests: PlatformRequest[] = [];
  const githubHeaders = (): Record<string, string> => ({
    server: 'github.com',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': `FAKE:${Date.now().toString(16)}`,
    'x-ratelimit-limit': '60',
    'x-ratelimit-remaining': '59',
    'x-ratelimit-reset': String(nowSec() + 3600),
  });
  const http = await startHttpServer(
    (req, res) => {
      const { path } = splitUrl(req);
      requests.push({ method: req.method ?? 'GET', path, headers: headerRecord(req), at: Date.now() });
      if (path === '/' && (req.method === 'GET' || req.method === 'HEAD')) {
        json(
          res,
          200,
          { current_user_url: 'https://api.github.com/user', rate_limit_url: 'https://api.github.com/rate_limit' },
          githubHeaders(),
        );
        return;
      }
      json(
        res,
        404,
        { message: 'Not Found', documentation_url: 'https://docs.github.com/rest', status: '404' },
        githubHeaders(),
      );
    },
    opts.port === undefined ? {} : { port: opts.port },
  );
  return {
    url: http.url,
    http,
    requests,
    setFault: (kind, faultOpts) => http.setFault(kind, faultOpts),
    down: () => http.down(),
    up: () => http.up(),
    close: () => http.close(),
  };
}
