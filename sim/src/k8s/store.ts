/**
 * What the fake API server keeps (its "etcd"): the objects by namespace/name, resource
 * versions, and the reads served from them — get, paged lists and watch streams.
 */
import type { ServerResponse } from 'node:http';
import { badRequest, notFound, RESOURCE_INFO, routeNotFound } from './errors.js';
import { clone, type Obj } from './json.js';
import type { Deployment, LogLine, ObjectMeta, Pod, ReplicaSet, Resource, Secret } from './objects.js';
import {
  type FieldRequirement,
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
  type Requirement,
} from './selectors.js';

interface Watcher {
  resource: Resource;
  namespace: string | undefined;
  labels: Requirement[];
  fields: FieldRequirement[];
  res: ServerResponse;
}

/** Objects are stored under `<namespace>/<name>`. */
export function storeKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export class Store {
  readonly deployments = new Map<string, Deployment>();
  readonly replicaSets = new Map<string, ReplicaSet>();
  readonly pods = new Map<string, Pod>();
  readonly secrets = new Map<string, Secret>();
  readonly logs = new Map<string, LogLine[]>();
  private readonly watchers = new Set<Watcher>();
  private version = 184_200;

  /** The latest resource version handed out. */
  get resourceVersion(): number {
    return this.version;
  }

  nextResourceVersion(): string {
    this.version += 1;
    return String(this.version);
  }

  storeOf(resource: Resource): Map<string, { metadata: ObjectMeta }> {
    switch (resource) {
      case 'pods':
        return this.pods;
      case 'secrets':
        return this.secrets;
      case 'deployments':
        return this.deployments;
      case 'replicasets':
        return this.replicaSets;
    }
    throw routeNotFound();
  }

  getOrThrow(resource: Resource, namespace: string, name: string): { metadata: ObjectMeta } {
    const obj = this.storeOf(resource).get(storeKey(namespace, name));
    if (!obj) throw notFound(resource, name);
    return obj;
  }

  list(resource: Resource, namespace: string | undefined, q: URLSearchParams): unknown {
    const labels = parseLabelSelector(q.get('labelSelector') ?? undefined);
    const fields = parseFieldSelector(q.get('fieldSelector') ?? undefined, resource);
    const all = [...this.storeOf(resource).values()]
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .filter((o) => matchesRequirements(o.metadata.labels, labels) && matchesFields(o, fields))
      .sort((a, b) =>
        `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`),
      );
    let start = 0;
    const token = q.get('continue');
    if (token) {
      try {
        const decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { start?: unknown };
        if (typeof decoded.start !== 'number') throw new Error('bad token');
        start = decoded.start;
      } catch {
        throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
    }
    const limit = Number.parseInt(q.get('limit') ?? '0', 10);
    const end = limit > 0 ? start + limit : all.length;
    const page = all.slice(start, end);
    const metadata: Obj = { resourceVersion: String(this.version) };
    if (end < all.length) {
      metadata.continue = Buffer.from(JSON.stringify({ start: end })).toString('base64url');
      metadata.remainingItemCount = all.length - end;
    }
    const { kind } = RESOURCE_INFO[resource];
    return {
      kind: `${kind}List`,
      apiVersion: resource === 'deployments' || resource === 'replicasets' ? 'apps/v1' : 'v1',
      metadata,
      // List items carry no kind/apiVersion on the wire.
      items: page.map((o) => {
        const copy = clone(o) as Obj;
        delete copy.kind;
        delete copy.apiVersion;
        return copy;
      }),
    };
  }

  startWatch(resource: Resource, namespace: string | undefined, q: URLSearchParams, res: ServerResponse): void {
    const watcher: Watcher = {
      resource,
      namespace,
      labels: parseLabelSelector(q.get('labelSelector') ?? undefined),
      fields: parseFieldSelector(q.get('fieldSelector') ?? undefined, resource),
      res,
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    const rv = q.get('resourceVersion');
    if (!rv || rv === '0') {
      for (const obj of this.storeOf(resource).values()) {
        if (this.watchMatches(watcher, obj)) res.write(`${JSON.stringify({ type: 'ADDED', object: obj })}\n`);
      }
    }
    this.watchers.add(watcher);
    const timeout = Number.parseInt(q.get('timeoutSeconds') ?? '0', 10);
    const timer = timeout > 0 ? setTimeout(() => res.end(), timeout * 1000) : undefined;
    timer?.unref();
    res.on('close', () => {
      if (timer) clearTimeout(timer);
      this.watchers.delete(watcher);
    });
  }

  /** Ends every watch stream (the server is going down). */
  endWatches(): void {
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
  }

  private watchMatches(w: Watcher, obj: { metadata: ObjectMeta }): boolean {
    return (
      (w.namespace === undefined || obj.metadata.namespace === w.namespace) &&
      matchesRequirements(obj.metadata.labels, w.labels) &&
      matchesFields(obj, w.fields)
    );
  }

  emit(resource: Resource, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: { metadata: ObjectMeta }): void {
    for (const w of this.watchers) {
      if (w.resource === resource && this.watchMatches(w, obj) && !w.res.writableEnded) {
        w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
      }
    }
  }

  touch(resource: Resource, obj: { metadata: ObjectMeta }): void {
    obj.metadata.resourceVersion = this.nextResourceVersion();
    this.emit(resource, 'MODIFIED', obj);
  }

  /** The deployment's ReplicaSets, by owner reference. */
  ownedReplicaSets(d: Deployment): ReplicaSet[] {
    return [...this.replicaSets.values()].filter(
      (rs) =>
        rs.metadata.namespace === d.metadata.namespace &&
        (rs.metadata.ownerReferences ?? []).some((o) => o.uid === d.metadata.uid),
    );
  }

  /** The ReplicaSet's pods, oldest first. */
  podsOf(rs: ReplicaSet): Pod[] {
    return [...this.pods.values()]
      .filter((p) => (p.metadata.ownerReferences ?? []).some((o) => o.uid === rs.metadata.uid))
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
  }

  removePod(pod: Pod): void {
    const key = storeKey(pod.metadata.namespace, pod.metadata.name);
    this.pods.delete(key);
    this.logs.delete(key);
    this.emit('pods', 'DELETED', pod);
  }
}
