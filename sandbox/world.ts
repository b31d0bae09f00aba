// What makes the simulated platform react like the real one: the worker processes behind
// `scan-workers` and the api pods' logs. It follows the Kubernetes fake's change events (a
// watch on deployments, as a controller would) and a periodic tick:
// - a rollout restart of scan-workers replaces every worker: all heartbeats fresh, the
//   registry rebuilt from the new pods;
// - a scale changes how many workers register (new ones beat; removed ones deregister);
// - live workers keep beating, so a long session does not see them die of old age;
// - new api pods (a rollback, a restart) start with clean logs, and the bad release's api fails
//   its health until it is rolled back;
// - the platform API's /health/detailed and /health/workers follow from all of the above.

import type { Deployment, KubeFake, LogLine } from '@dmp-bot/sim/k8s-fake';
import type { ComponentStatus, PlatformApiFake, PlatformWorker } from '@dmp-bot/sim/platform-api-fake';
import type { RedisFake } from '@dmp-bot/sim/redis-fake';
import type pg from 'pg';
import { BAD_API_IMAGE, DEAD_WORKERS, WORKER_IDS } from './seed.js';

const RESTARTED_AT = 'kubectl.kubernetes.io/restartedAt';
const WORKERS = 'scan-workers';
const TICK_MS = 5_000;

interface WorkerState {
  id: string;
  pod: string;
  alive: boolean;
}

export interface WorldOptions {
  k8s: KubeFake;
  redis: RedisFake;
  api: PlatformApiFake;
  /** A connection to the platform database through its wire server (for the database's health). */
  db: pg.Pool;
  now(): Date;
  onError?(err: unknown): void;
}

export interface World {
  workers(): Array<{ id: string; pod: string; alive: boolean }>;
  /** Runs one reconciliation now (tests and the sandbox command use it after a change). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

function runningPods(k8s: KubeFake, app: string): string[] {
  return k8s
    .pods(app)
    .filter((p) => !p.metadata.deletionTimestamp && p.status.phase === 'Running')
    .sort(
      (a, b) =>
        a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp) ||
        a.metadata.name.localeCompare(b.metadata.name),
    )
    .map((p) => p.metadata.name);
}

export function startWorld(opts: WorldOptions): World {
  const { k8s, redis, api } = opts;
  const nowS = () => Math.floor(opts.now().getTime() / 1000);
  const initial = runningPods(k8s, WORKERS);
  let workers: WorkerState[] = WORKER_IDS.map((id, i) => ({
    id,
    pod: initial[i] ?? `${WORKERS}-${i}`,
    alive: !DEAD_WORKERS[id],
  }));
  const first = k8s.getDeployment(WORKERS);
  let lastRestart = first?.spec.template.metadata.annotations?.[RESTARTED_AT];
  let lastReplicas = first?.spec.replicas ?? workers.length;
  const knownApiPods = new Set(k8s.pods('api').map((p) => p.metadata.name));
  let stopped = false;

  const register = (w: WorkerState, status: 'idle' | 'busy') => {
    const job = status === 'busy' ? redis.exec(['LINDEX', 'scan_queue', String(workers.indexOf(w))]) : null;
    let jobId: string | null = null;
    try {
      jobId = typeof job === 'string' ? ((JSON.parse(job) as { job_id?: string }).job_id ?? null) : null;
    } catch {
      jobId = null;
    }
    redis.exec([
      'HSET',
      'workers',
      w.id,
      JSON.stringify({ status, pod: w.pod, current_job: jobId, since: opts.now().toISOString(), version: '1.2.3' }),
    ]);
    redis.exec(['ZADD', 'worker_heartbeats', String(nowS()), w.id]);
  };

  const deregister = (id: string) => {
    redis.exec(['HDEL', 'workers', id]);
    redis.exec(['ZREM', 'worker_heartbeats', id]);
  };

  const workerLogs = (w: WorkerState): LogLine[] => {
    const at = opts.now();
    return [
      { at, text: `${at.toISOString()} INFO  [worker] scan-worker 1.2.3 starting, concurrency=4` },
      { at, text: `${at.toISOString()} INFO  [worker] connected to redis, registered as ${w.id}` },
      { at, text: `${at.toISOString()} INFO  [heartbeat] heartbeat every 15s` },
    ];
  };

  /**
   * The change event comes before the controller has replaced the pods: once it has, each
   * worker is matched to its pod (oldest worker, oldest pod) and the new pods get their logs.
   */
  const remap = () => {
    const pods = runningPods(k8s, WORKERS).slice(-workers.length);
    for (const [i, w] of workers.entries()) {
      const pod = pods[i];
      if (!pod || pod === w.pod) continue;
      w.pod = pod;
      const current = redis.exec(['HGET', 'workers', w.id]);
      if (typeof current === 'string') {
        try {
          redis.exec(['HSET', 'workers', w.id, JSON.stringify({ ...(JSON.parse(current) as object), pod })]);
        } catch {
          // Not ours to repair: a hand-made entry stays as it is.
        }
      }
      k8s.setPodLogs(pod, workerLogs(w));
    }
  };
  const remapSoon = () => {
    setTimeout(remap, 150).unref();
  };

  const reconcileWorkers = (d: Deployment) => {
    const restart = d.spec.template.metadata.annotations?.[RESTARTED_AT];
    const replicas = d.spec.replicas;
    if (restart !== lastRestart) {
      // Every pod was replaced: the hung processes are gone, each new one registers afresh.
      lastRestart = restart;
      lastReplicas = replicas;
      for (const w of workers) deregister(w.id);
      workers = Array.from({ length: replicas }, (_, i) => ({
        id: `worker-${i + 1}`,
        pod: `${WORKERS}-starting-${i + 1}`,
        alive: true,
      }));
      for (const w of workers) register(w, 'busy');
      remapSoon();
      return;
    }
    if (replicas === lastReplicas) return;
    lastReplicas = replicas;
    if (replicas > workers.length) {
      const highest = Math.max(0, ...workers.map((w) => Number(w.id.replace(/\D+/g, '')) || 0));
      for (let i = 0; workers.length < replicas; i++) {
        const w: WorkerState = {
          id: `worker-${highest + i + 1}`,
          pod: `${WORKERS}-starting-${highest + i + 1}`,
          alive: true,
        };
        workers.push(w);
        register(w, 'busy');
      }
      remapSoon();
    } else {
      // Scaling down ends the newest pods; their workers deregister on the way out.
      const keep = workers.slice(0, replicas);
      for (const w of workers.slice(replicas)) deregister(w.id);
      workers = keep;
    }
  };

  const reconcileApi = () => {
    // The bad release of the bad-deploy scenario fails requests; any other image serves them.
    const image = k8s.getDeployment('api')?.spec.template.spec.containers[0]?.image ?? '';
    api.setStatus(image === BAD_API_IMAGE ? 'unhealthy' : undefined);
    for (const pod of runningPods(k8s, 'api')) {
      if (knownApiPods.has(pod)) continue;
      knownApiPods.add(pod);
      const image =
        k8s.pods('api').find((p) => p.metadata.name === pod)?.spec.containers[0]?.image ?? 'ghcr.io/dmp/api';
      const at = opts.now();
      k8s.setPodLogs(pod, [
        { at, text: `${at.toISOString()} INFO  [server] dmp-api ${image.split(':').pop()} listening on :8080` },
        { at, text: `${at.toISOString()} INFO  [auth] loaded JWT signing keys from /etc/dmp/jwt` },
      ]);
    }
  };

  const beat = () => {
    for (const w of workers) if (w.alive) redis.exec(['ZADD', 'worker_heartbeats', String(nowS()), w.id]);
  };

  const reportHealth = async () => {
    const deadAfter = nowS() - 5 * 60;
    const flat = redis.exec(['ZRANGE', 'worker_heartbeats', '0', '-1', 'WITHSCORES']);
    const beats = new Map<string, number>();
    if (Array.isArray(flat))
      for (let i = 0; i + 1 < flat.length; i += 2) beats.set(String(flat[i]), Number(flat[i + 1]));
    const list: PlatformWorker[] = workers.map((w) => {
      const last = beats.get(w.id) ?? 0;
      return { id: w.id, status: last > deadAfter ? 'alive' : 'dead', last_heartbeat: last, current_job: null };
    });
    api.setWorkers(list);
    const depth = Number(redis.exec(['LLEN', 'scan_queue']));
    const dead = list.filter((w) => w.status === 'dead').length;
    const queue: ComponentStatus =
      list.length === 0 || dead === list.length ? 'unhealthy' : depth > 10 || dead > 0 ? 'degraded' : 'healthy';
    api.setComponent('queue', queue);
    try {
      const [row] = (
        await opts.db.query<{ slow: number; index: boolean }>(
          `SELECT (SELECT count(*) FROM sim.activity WHERE state = 'active' AND query_start < now() - interval '5 minutes')::int AS slow,
                  to_regclass('public.idx_nodes_scan') IS NOT NULL AS index`,
        )
      ).rows;
      api.setComponent('database', (row?.slow ?? 0) > 0 || !row?.index ? 'degraded' : 'healthy');
    } catch (err) {
      if (!stopped) opts.onError?.(err);
    }
  };

  const tick = async () => {
    const d = k8s.getDeployment(WORKERS);
    if (d) reconcileWorkers(d);
    reconcileApi();
    beat();
    await reportHealth();
  };

  // The deployment watch: a change lands here within milliseconds of the API server taking it.
  const abort = new AbortController();
  const watch = async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${k8s.url}/apis/apps/v1/namespaces/${k8s.namespace}/deployments?watch=true`, {
          headers: { authorization: `Bearer ${k8s.token}` },
          signal: abort.signal,
        });
        if (!res.body) throw new Error('watch without a body');
        const decoder = new TextDecoder();
        let buffer = '';
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += decoder.decode(chunk, { stream: true });
          let nl = buffer.indexOf('\n');
          while (nl >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            nl = buffer.indexOf('\n');
            const event = JSON.parse(line) as { type?: string; object?: Deployment };
            if (event.object?.metadata?.name === WORKERS && event.type !== 'DELETED') reconcileWorkers(event.object);
            if (event.object?.metadata?.name === 'api') setTimeout(reconcileApi, 50).unref();
          }
        }
      } catch (err) {
        if (stopped) return;
        opts.onError?.(err);
      }
      // The stream ended (the fake restarted): watch again shortly; the tick covers the gap.
      await new Promise((r) => setTimeout(r, 1_000).unref());
    }
  };
  // Never rejects (errors go to onError); stop() waits for it to wind down.
  const watching = watch();

  const timer = setInterval(() => {
    tick().catch((err: unknown) => opts.onError?.(err));
  }, TICK_MS);
  timer.unref();
  const firstTick = tick().catch((err: unknown) => opts.onError?.(err));

  return {
    workers: () => workers.map((w) => ({ ...w })),
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      abort.abort();
      await Promise.all([watching, firstTick]);
    },
  };
}
