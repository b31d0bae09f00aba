/**
 * The HTTP routing of the fake API server: discovery, /version and health, and the
 * namespaced resources with their subresources (log, exec, status, scale).
 */
import type { ServerResponse } from 'node:http';
import type { DeploymentController } from './controller.js';
import { parseReplicas, scaleOf, writeDeployment } from './deployments.js';
import { ApiError, badRequest, conflict, methodNotAllowed, routeNotFound } from './errors.js';
import { clone, isObj } from './json.js';
import { podLog } from './logs.js';
import { contentTypeOf, negotiate, shape } from './metadata.js';
import { type Deployment, type Pod, type Resource, sha256, timestamp } from './objects.js';
import { applyPatch } from './patch.js';
import type { Store } from './store.js';

/** What a route needs of the fake. */
export interface ApiContext {
  /** The fake's own namespace (the one a kubeconfig points at). */
  namespace: string;
  clock: () => Date;
  store: Store;
  controller: DeploymentController;
}

export type Reply =
  | { status: number; json: unknown; contentType?: string }
  | { status: number; text: string }
  | 'streaming';

/** API discovery, so that kubectl itself can talk to the fake. */
const DISCOVERY: Record<string, unknown> = {
  '/api': {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }],
  },
  '/apis': {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [
      {
        name: 'apps',
        versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
        preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
      },
    ],
  },
  '/api/v1': {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'namespaces',
        singularName: 'namespace',
        namespaced: false,
        kind: 'Namespace',
        verbs: ['get'],
        shortNames: ['ns'],
      },
      {
        name: 'pods',
        singularName: 'pod',
        namespaced: true,
        kind: 'Pod',
        verbs: ['delete', 'get', 'list', 'watch'],
        shortNames: ['po'],
        categories: ['all'],
      },
      { name: 'pods/exec', singularName: '', namespaced: true, kind: 'PodExecOptions', verbs: ['create', 'get'] },
      { name: 'pods/log', singularName: '', namespaced: true, kind: 'Pod', verbs: ['get'] },
      { name: 'secrets', singularName: 'secret', namespaced: true, kind: 'Secret', verbs: ['get', 'list', 'watch'] },
      { name: 'events', singularName: 'event', namespaced: true, kind: 'Event', verbs: ['list'], shortNames: ['ev'] },
    ],
  },
  '/apis/apps/v1': {
    kind: 'APIResourceList',
    apiVersion: 'v1',
    groupVersion: 'apps/v1',
    resources: [
      {
        name: 'deployments',
        singularName: 'deployment',
        namespaced: true,
        kind: 'Deployment',
        verbs: ['get', 'list', 'patch', 'update', 'watch'],
        shortNames: ['deploy'],
        categories: ['all'],
      },
      {
        name: 'deployments/scale',
        singularName: '',
        namespaced: true,
        group: 'autoscaling',
        version: 'v1',
        kind: 'Scale',
        verbs: ['get', 'patch', 'update'],
      },
      { name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: ['get'] },
      {
        name: 'replicasets',
        singularName: 'replicaset',
        namespaced: true,
        kind: 'ReplicaSet',
        verbs: ['get', 'list', 'watch'],
        shortNames: ['rs'],
        categories: ['all'],
      },
    ],
  },
};

/** Answers one request, or throws the ApiError whose Status the server sends. */
export function route(
  api: ApiContext,
  method: string,
  url: URL,
  body: string,
  contentType: string | undefined,
  res: ServerResponse,
  accept?: string,
): Reply {
  const path = url.pathname.replace(/\/+$/, '') || '/';
  const q = url.searchParams;
  if (path === '/version' && method === 'GET') {
    return {
      status: 200,
      json: {
        major: '1',
        minor: '30',
        gitVersion: 'v1.30.4',
        platform: 'linux/amd64',
        goVersion: 'go1.22.5',
        compiler: 'gc',
      },
    };
  }
  if (path === '/healthz' || path === '/livez' || path === '/readyz') return { status: 200, text: 'ok' };
  const discovery = DISCOVERY[path];
  if (discovery) {
    if (method !== 'GET') throw methodNotAllowed();
    return { status: 200, json: discovery };
  }
  const seg = path.split('/').slice(1).map(decodeURIComponent);
  let prefix: 'core' | 'apps' | undefined;
  let rest: string[] = [];
  if (seg[0] === 'api' && seg[1] === 'v1') {
    prefix = 'core';
    rest = seg.slice(2);
  } else if (seg[0] === 'apis' && seg[1] === 'apps' && seg[2] === 'v1') {
    prefix = 'apps';
    rest = seg.slice(3);
  }
  if (!prefix) throw routeNotFound();
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest[1] !== undefined) {
    namespace = rest[1];
    rest = rest.slice(2);
    if (rest.length === 0 && prefix === 'core') {
      if (method !== 'GET') throw methodNotAllowed();
      return { status: 200, json: namespaceObject(api, namespace) };
    }
  }
  const [resourceName, name, sub, ...extra] = rest;
  const resource = resourceName as Resource | 'events' | undefined;
  const coreResources = ['pods', 'secrets', 'events'];
  const appsResources = ['deployments', 'replicasets'];
  if (!resource || extra.length > 0) throw routeNotFound();
  if (!(prefix === 'core' ? coreResources : appsResources).includes(resource)) throw routeNotFound();
  if (resource === 'events') {
    if (name !== undefined) throw routeNotFound();
    if (method !== 'GET') throw methodNotAllowed();
    return {
      status: 200,
      json: {
        kind: 'EventList',
        apiVersion: 'v1',
        metadata: { resourceVersion: String(api.store.resourceVersion) },
        items: [],
      },
    };
  }
  if (name === undefined) {
    if (method !== 'GET') throw methodNotAllowed();
    if (q.get('watch') === 'true' || q.get('watch') === '1') {
      api.store.startWatch(resource, namespace, q, res);
      return 'streaming';
    }
    // A list may be asked for as metadata only (PartialObjectMetadataList).
    const answer = negotiate(accept, true);
    return {
      status: 200,
      json: shape(answer, api.store.list(resource, namespace, q)),
      contentType: contentTypeOf(answer),
    };
  }
  if (namespace === undefined) throw routeNotFound();
  const dryRun = q.get('dryRun') === 'All';
  switch (`${resource}/${sub ?? ''}`) {
    case 'pods/':
      if (method === 'GET') return { status: 200, json: api.store.getOrThrow('pods', namespace, name) };
      if (method === 'DELETE') return { status: 200, json: deletePod(api, namespace, name, dryRun) };
      throw methodNotAllowed();
    case 'pods/log':
      if (method !== 'GET') throw methodNotAllowed();
      return { status: 200, text: podLog(api.store, api.clock, namespace, name, q) };
    case 'pods/exec':
      if (method !== 'GET' && method !== 'POST') throw methodNotAllowed();
      api.store.getOrThrow('pods', namespace, name);
      throw badRequest('Upgrade request required');
    case 'secrets/': {
      if (method !== 'GET') throw methodNotAllowed();
      // Asked as PartialObjectMetadata, the data stays here: only the metadata is sent.
      const answer = negotiate(accept, false);
      return {
        status: 200,
        json: shape(answer, api.store.getOrThrow('secrets', namespace, name)),
        contentType: contentTypeOf(answer),
      };
    }
    case 'replicasets/':
      if (method !== 'GET') throw methodNotAllowed();
      return { status: 200, json: api.store.getOrThrow('replicasets', namespace, name) };
    case 'deployments/':
    case 'deployments/status': {
      const current = api.store.getOrThrow('deployments', namespace, name) as Deployment;
      if (method === 'GET') return { status: 200, json: current };
      if (sub === 'status') throw methodNotAllowed();
      if (method === 'PUT') return { status: 200, json: replaceDeployment(api, name, body, current, dryRun) };
      if (method === 'PATCH') {
        const patched = applyPatch(contentType, clone(current), body);
        return { status: 200, json: writeDeployment(api.store, api.controller, name, patched, current, { dryRun }) };
      }
      throw methodNotAllowed();
    }
    case 'deployments/scale': {
      const current = api.store.getOrThrow('deployments', namespace, name) as Deployment;
      if (method === 'GET') return { status: 200, json: scaleOf(current) };
      if (method !== 'PUT' && method !== 'PATCH') throw methodNotAllowed();
      let next: unknown;
      if (method === 'PUT') {
        try {
          next = JSON.parse(body);
        } catch (error) {
          throw badRequest(`error decoding body: ${(error as Error).message}`);
        }
        if (!isObj(next)) throw badRequest('the body of the request was not a Scale object');
        const meta = isObj(next.metadata) ? next.metadata : {};
        if (meta.name !== undefined && meta.name !== name) {
          throw badRequest(
            `the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`,
          );
        }
      } else {
        next = applyPatch(contentType, scaleOf(current), body);
      }
      const scale = isObj(next) ? next : {};
      const meta = isObj(scale.metadata) ? scale.metadata : {};
      if (
        typeof meta.resourceVersion === 'string' &&
        meta.resourceVersion !== '' &&
        meta.resourceVersion !== current.metadata.resourceVersion
      ) {
        throw conflict('deployments', name);
      }
      const replicas = parseReplicas(isObj(scale.spec) ? scale.spec.replicas : undefined, name);
      const draft = clone(current);
      draft.spec.replicas = replicas;
      const written = writeDeployment(api.store, api.controller, name, draft, current, { dryRun });
      return { status: 200, json: scaleOf(written) };
    }
    default:
      throw routeNotFound();
  }
}

function namespaceObject(api: ApiContext, name: string): unknown {
  const known = new Set([api.namespace, 'default', 'kube-system', 'kube-public']);
  if (!known.has(name)) {
    throw new ApiError(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' });
  }
  return {
    kind: 'Namespace',
    apiVersion: 'v1',
    metadata: {
      name,
      uid: sha256(name).slice(0, 8) + '-0000-4000-8000-' + sha256(name).slice(8, 20),
      resourceVersion: '12',
      creationTimestamp: '2024-01-08T09:14:02Z',
      labels: { 'kubernetes.io/metadata.name': name },
    },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

function replaceDeployment(
  api: ApiContext,
  name: string,
  body: string,
  current: Deployment,
  dryRun: boolean,
): Deployment {
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (error) {
    throw badRequest(`error decoding body: ${(error as Error).message}`);
  }
  return writeDeployment(api.store, api.controller, name, input, current, { dryRun });
}

function deletePod(api: ApiContext, namespace: string, name: string, dryRun: boolean): Pod {
  const pod = api.store.getOrThrow('pods', namespace, name) as Pod;
  const answer = clone(pod);
  answer.metadata.deletionTimestamp = timestamp(new Date(api.clock().getTime() + 30_000));
  answer.metadata.deletionGracePeriodSeconds = 30;
  if (dryRun) return answer;
  api.store.removePod(pod);
  api.controller.refreshOwners(pod);
  return answer;
}
