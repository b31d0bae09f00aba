/**
 * The fake API server itself: `startKubeFake`, the HTTP and upgrade listeners with the
 * fault, latency and auth switches, the kubeconfig, and the seeding and inspection API
 * tests and the sandbox use.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { DeploymentController, revisionOf } from './controller.js';
import { defaultContainer, defaultPodSpec, writeDeployment } from './deployments.js';
import { ApiError } from './errors.js';
import { defaultExecHandler, type ExecHandler, LogVolumes, rawHttpResponse, refuseUpgrade, serveExec } from './exec.js';
import { clone } from './json.js';
import {
  type Deployment,
  type Labels,
  type LogLine,
  type ManagedFieldsEntry,
  type Pod,
  type ReplicaSet,
  type Secret,
  timestamp,
} from './objects.js';
import { type ApiContext, type Reply, route } from './routes.js';
import { Store, storeKey } from './store.js';

export type Fault = 'none' | 'hang' | 'error' | 'garbage';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Repeated parameters (exec's `command`) become arrays. */
  query: Record<string, string | string[]>;
  contentType: string | undefined;
  /** The Accept header: how the client asked to be answered (e.g. as PartialObjectMetadata). */
  accept: string | undefined;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
  /** Filled in once answered; undefined while hanging. */
  status?: number;
  /** The JSON text answered, so a test can tell what the client received. */
  answer?: string;
  at: Date;
}

export interface KubeFakeOptions {
  namespace?: string;
  token?: string;
  /** Port to listen on (default 0: any free port). */
  port?: number;
  /** A rollout completes only after this delay; meanwhile updatedReplicas < replicas. */
  rolloutDelayMs?: number;
  /** The clock for timestamps and log filtering. */
  now?: () => Date;
  /**
   * Refuse requests without the bearer token (default true). kubectl (client-go) never
   * sends a token over plain http, so turn this off to poke the fake with kubectl.
   */
  requireAuth?: boolean;
}

export interface AddDeploymentOptions {
  name: string;
  /** Deployment labels, selector and pod template labels (default `{app: name}`). */
  labels?: Labels;
  replicas?: number;
  image: string;
  /** Containers of the pod template (default one container named after the deployment). */
  containers?: Array<{ name: string; image?: string; [field: string]: unknown }>;
  /** Deployment annotations, e.g. `kubernetes.io/change-cause`. */
  annotations?: Labels;
  /** Pod template annotations. */
  templateAnnotations?: Labels;
  paused?: boolean;
  /** When it was created (default now); its first ReplicaSet and Pods get this time too. */
  createdAt?: Date;
}

export interface AddSecretOptions {
  name: string;
  /** Plain values, stored base64-encoded as the API does. */
  data: Record<string, string>;
  annotations?: Labels;
  labels?: Labels;
  type?: string;
  creationTimestamp?: Date;
  /** The field manager that wrote it, as the API server records it (default `kubectl-create`). */
  manager?: string;
  /** When its data was last written (default its creation). */
  changedAt?: Date;
}

/** The managedFields entry the API server writes for a client's create: one `f:` key per field set. */
function secretFields(opts: AddSecretOptions, time: string): ManagedFieldsEntry {
  const set = (keys: string[]) => Object.fromEntries([['.', {}], ...keys.map((k) => [`f:${k}`, {}])]);
  const metadata: Record<string, unknown> = {};
  if (opts.labels) metadata['f:labels'] = set(Object.keys(opts.labels));
  if (opts.annotations) metadata['f:annotations'] = set(Object.keys(opts.annotations));
  return {
    manager: opts.manager ?? 'kubectl-create',
    operation: 'Update',
    apiVersion: 'v1',
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: {
      ...(Object.keys(opts.data).length ? { 'f:data': set(Object.keys(opts.data)) } : {}),
      ...(Object.keys(metadata).length ? { 'f:metadata': metadata } : {}),
      'f:type': {},
    },
  };
}

const GARBAGE = Buffer.from('\u0000\u001f\u008b<html><body>502 Bad Gateway</body></html>\u0000{"kind":', 'latin1');
const MAX_BODY = 3 * 1024 * 1024;
/** The request log keeps the latest entries only (the sandbox runs for hours). */
const MAX_RECORDED = 10_000;

export class KubeFake {
  readonly namespace: string;
  readonly token: string;
  /** Every request received, in order, for assertions. */
  readonly requests: RecordedRequest[] = [];
  /** Answers the runbook's commands believably; anything else is "not found". */
  readonly defaultExecHandler: ExecHandler;

  private readonly server: Server;
  private readonly sockets = new Set<Duplex>();
  private readonly clock: () => Date;
  private readonly requireAuth: boolean;
  private port: number;
  private listening = false;
  private closed = false;
  private fault: Fault = 'none';
  private latencyMs = 0;
  private execHandler: ExecHandler;

  private readonly store = new Store();
  private readonly controller: DeploymentController;
  private readonly api: ApiContext;
  private readonly logVolumes = new LogVolumes();

  constructor(opts: KubeFakeOptions = {}) {
    this.namespace = opts.namespace ?? 'dmp';
    this.token = opts.token ?? `fake-${randomBytes(16).toString('hex')}`;
    this.port = opts.port ?? 0;
    this.clock = opts.now ?? (() => new Date());
    this.requireAuth = opts.requireAuth ?? true;
    this.controller = new DeploymentController(this.store, this.clock, opts.rolloutDelayMs ?? 0);
    this.api = { namespace: this.namespace, clock: this.clock, store: this.store, controller: this.controller };
    this.defaultExecHandler = defaultExecHandler(this.logVolumes);
    this.execHandler = this.defaultExecHandler;
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          this.send(
            res,
            500,
            new ApiError(500, 'InternalError', `Internal error occurred: ${String(error)}`).toStatus(),
          );
        }
      });
    });
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      this.onUpgrade(req, socket).catch(() => socket.destroy());
    });
  }

  // ----- lifecycle -------------------------------------------------------------------

  /** The fake's clock (the `now` option, else the system clock). */
  now(): Date {
    return this.clock();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** @internal used by startKubeFake */
  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', onError);
        this.port = (this.server.address() as AddressInfo).port;
        this.listening = true;
        resolve();
      });
    });
  }

  /** Stops listening and drops every connection (hung ones and watches included). */
  async down(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.store.endWatches();
    for (const socket of this.sockets) socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  /** Listens again on the same port. */
  async up(): Promise<void> {
    if (this.listening || this.closed) return;
    await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.controller.close();
    await this.down();
  }

  kubeconfigYaml(): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'preferences: {}',
      'clusters:',
      '- name: dmp-fake',
      '  cluster:',
      `    server: ${JSON.stringify(this.url)}`,
      // client-node 1.x refuses a plain-http server unless TLS verification is off.
      '    insecure-skip-tls-verify: true',
      'users:',
      '- name: dmp-fake-admin',
      '  user:',
      `    token: ${JSON.stringify(this.token)}`,
      'contexts:',
      '- name: dmp-fake',
      '  context:',
      '    cluster: dmp-fake',
      '    user: dmp-fake-admin',
      `    namespace: ${JSON.stringify(this.namespace)}`,
      'current-context: dmp-fake',
      '',
    ].join('\n');
  }

  /** Writes `<dir>/kubeconfig` (mode 0600) and returns its path. */
  writeKubeconfig(dir: string): string {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'kubeconfig');
    writeFileSync(path, this.kubeconfigYaml(), { mode: 0o600 });
    return path;
  }

  // ----- switches --------------------------------------------------------------------

  /** hang: accept and never answer; error: 500 Status; garbage: 200 with bytes that are not JSON. */
  setFault(fault: Fault): void {
    this.fault = fault;
  }

  /** Delay before every answer. */
  setLatency(ms: number): void {
    this.latencyMs = ms;
  }

  setRolloutDelay(ms: number): void {
    this.controller.rolloutDelayMs = ms;
  }

  /** The next rollout stalls: Progressing=False, reason ProgressDeadlineExceeded, new pods crash-looping. */
  failNextRollout(): void {
    this.controller.failNext = true;
  }

  /** Replaces the exec handler; undefined restores the default one. */
  setExecHandler(handler: ExecHandler | undefined): void {
    this.execHandler = handler ?? this.defaultExecHandler;
  }

  /** Use% of /var/log reported by the default exec handler, for one pod or (no pod) all. */
  setLogVolumeUsage(percent: number, podName?: string): void {
    this.logVolumes.set(percent, podName);
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  // ----- seeding and inspection -------------------------------------------------------

  addDeployment(opts: AddDeploymentOptions): Deployment {
    const key = storeKey(this.namespace, opts.name);
    if (this.store.deployments.has(key)) throw new Error(`deployment ${opts.name} already exists`);
    const at = opts.createdAt ?? this.clock();
    const labels = opts.labels ?? { app: opts.name };
    const containers = (opts.containers ?? [{ name: opts.name }]).map((c) =>
      defaultContainer({ ...c, image: c.image ?? opts.image }),
    );
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: opts.name,
        namespace: this.namespace,
        uid: randomUUID(),
        resourceVersion: this.store.nextResourceVersion(),
        generation: 1,
        creationTimestamp: timestamp(at),
        labels: { ...labels },
        annotations: { ...opts.annotations },
      },
      spec: {
        progressDeadlineSeconds: 600,
        replicas: opts.replicas ?? 1,
        revisionHistoryLimit: 10,
        selector: { matchLabels: { ...labels } },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
        template: {
          metadata: {
            creationTimestamp: null,
            labels: { ...labels },
            ...(opts.templateAnnotations ? { annotations: { ...opts.templateAnnotations } } : {}),
          },
          spec: defaultPodSpec({ containers }),
        },
        ...(opts.paused ? { paused: true } : {}),
      },
      status: {},
    };
    this.store.deployments.set(key, d);
    this.store.emit('deployments', 'ADDED', d);
    this.controller.sync(key, { at, immediate: true });
    return clone(d);
  }

  /**
   * Changes a deployment as a client's update would (generation, then the controller).
   * With `at`, the change is dated then and its rollout completes at once (history).
   */
  updateDeployment(name: string, mutate: (d: Deployment) => void, opts: { at?: Date } = {}): Deployment {
    const current = this.store.deployments.get(storeKey(this.namespace, name));
    if (!current) throw new Error(`deployment ${name} not found`);
    const draft = clone(current);
    mutate(draft);
    draft.metadata.resourceVersion = current.metadata.resourceVersion;
    writeDeployment(this.store, this.controller, name, draft, current, {
      at: opts.at,
      immediate: opts.at !== undefined,
    });
    return clone(this.store.deployments.get(storeKey(this.namespace, name)) as Deployment);
  }

  addSecret(opts: AddSecretOptions): Secret {
    const secret: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: opts.name,
        namespace: this.namespace,
        uid: randomUUID(),
        resourceVersion: this.store.nextResourceVersion(),
        creationTimestamp: timestamp(opts.creationTimestamp ?? this.clock()),
        ...(opts.labels ? { labels: { ...opts.labels } } : {}),
        ...(opts.annotations ? { annotations: { ...opts.annotations } } : {}),
        managedFields: [secretFields(opts, timestamp(opts.changedAt ?? opts.creationTimestamp ?? this.clock()))],
      },
      type: opts.type ?? 'Opaque',
      data: Object.fromEntries(
        Object.entries(opts.data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
      ),
    };
    this.store.secrets.set(storeKey(this.namespace, opts.name), secret);
    this.store.emit('secrets', 'ADDED', secret);
    return clone(secret);
  }

  setPodLogs(podName: string, lines: LogLine[]): void {
    const sorted = [...lines].sort((a, b) => a.at.getTime() - b.at.getTime());
    this.store.logs.set(storeKey(this.namespace, podName), sorted);
  }

  getDeployment(name: string): Deployment | undefined {
    const d = this.store.deployments.get(storeKey(this.namespace, name));
    return d ? clone(d) : undefined;
  }

  /** The deployment's ReplicaSets, oldest revision first. */
  listReplicaSets(deploymentName: string): ReplicaSet[] {
    const d = this.store.deployments.get(storeKey(this.namespace, deploymentName));
    if (!d) return [];
    return this.store
      .ownedReplicaSets(d)
      .sort((a, b) => revisionOf(a) - revisionOf(b))
      .map(clone);
  }

  /** Pods labelled `app=<app>` (all pods without an argument), by name. */
  pods(app?: string): Pod[] {
    return [...this.store.pods.values()]
      .filter((p) => p.metadata.namespace === this.namespace && (app === undefined || p.metadata.labels?.app === app))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map(clone);
  }

  /** Changes a pod in place (e.g. its restartCount); the owning deployment's status follows. */
  updatePod(name: string, mutate: (pod: Pod) => void): Pod {
    const key = storeKey(this.namespace, name);
    const pod = this.store.pods.get(key);
    if (!pod) throw new Error(`pod ${name} not found`);
    const draft = clone(pod);
    mutate(draft);
    this.store.pods.set(key, draft);
    this.store.touch('pods', draft);
    this.controller.refreshOwners(draft);
    return clone(draft);
  }

  // ----- HTTP ------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    const record = this.record(req, url, body);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (this.fault === 'hang') return;
    if (this.fault === 'error') {
      this.send(
        res,
        500,
        new ApiError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out').toStatus(),
      );
      return;
    }
    if (this.fault === 'garbage') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': GARBAGE.length });
      res.end(GARBAGE);
      return;
    }
    if (!this.authorized(req)) {
      this.send(res, 401, new ApiError(401, 'Unauthorized', 'Unauthorized').toStatus());
      return;
    }
    let reply: Reply;
    try {
      if (body.length > MAX_BODY) throw new ApiError(413, 'RequestEntityTooLarge', 'Request entity too large');
      reply = route(
        this.api,
        req.method ?? 'GET',
        url,
        body.toString('utf8'),
        req.headers['content-type'],
        res,
        req.headers.accept,
      );
    } catch (error) {
      const e =
        error instanceof ApiError
          ? error
          : new ApiError(500, 'InternalError', `Internal error occurred: ${String(error)}`);
      this.send(res, e.code, e.toStatus());
      return;
    }
    if (reply === 'streaming') return;
    if ('json' in reply) {
      this.send(res, reply.status, reply.json, reply.contentType);
      record.answer = JSON.stringify(reply.json);
    } else {
      res.writeHead(reply.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(reply.text) });
      res.end(reply.text);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    return !this.requireAuth || req.headers.authorization === `Bearer ${this.token}`;
  }

  private send(res: ServerResponse, status: number, json: unknown, contentType = 'application/json'): void {
    const text = JSON.stringify(json);
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private record(req: IncomingMessage, url: URL, body: Buffer): RecordedRequest {
    const query: Record<string, string | string[]> = {};
    for (const key of new Set(url.searchParams.keys())) {
      const all = url.searchParams.getAll(key);
      query[key] = all.length === 1 ? (all[0] as string) : all;
    }
    const contentType = req.headers['content-type'];
    let parsed: unknown;
    if (body.length > 0) {
      const text = body.toString('utf8');
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    const record: RecordedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      contentType,
      accept: req.headers.accept,
      body: parsed,
      at: this.clock(),
    };
    this.requests.push(record);
    if (this.requests.length > MAX_RECORDED) this.requests.splice(0, this.requests.length - MAX_RECORDED);
    return record;
  }

  // ----- exec over WebSocket (the channel protocol lives in exec.ts) ---------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record = this.record(req, url, Buffer.alloc(0));
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (this.fault === 'hang') return;
    if (this.fault === 'error')
      return refuseUpgrade(
        socket,
        record,
        500,
        new ApiError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out'),
      );
    if (this.fault === 'garbage') {
      record.status = 200;
      rawHttpResponse(socket, 200, GARBAGE);
      return;
    }
    if (!this.authorized(req))
      return refuseUpgrade(socket, record, 401, new ApiError(401, 'Unauthorized', 'Unauthorized'));
    await serveExec(this.store, this.execHandler, req, url, socket, record);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size <= MAX_BODY + 1) chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export async function startKubeFake(opts: KubeFakeOptions = {}): Promise<KubeFake> {
  const fake = new KubeFake(opts);
  await fake.listen();
  return fake;
}
