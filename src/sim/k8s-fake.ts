/**
 * An in-process fake of the Kubernetes API server, speaking the real wire format (JSON
 * objects, Status errors, the three PATCH content types, the exec WebSocket channel
 * protocol, watch streams) so the real @kubernetes/client-node talks to it through an
 * ordinary kubeconfig. A tiny deployment controller keeps ReplicaSets, Pods and
 * Deployment status the way kube-controller-manager would. Used by tests and `npm run sandbox`.
 */
import { createHash, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';

// ---------------------------------------------------------------------------------------
// Object shapes (the subset of the Kubernetes types the fake keeps)
// ---------------------------------------------------------------------------------------

export type Labels = Record<string, string>;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  generation?: number;
  generateName?: string;
  labels?: Labels;
  annotations?: Labels;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
}

export interface Container {
  name: string;
  image: string;
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  [field: string]: unknown;
}

export interface PodTemplateSpec {
  metadata: { labels?: Labels; annotations?: Labels; [field: string]: unknown };
  spec: PodSpec;
}

export interface LabelSelector {
  matchLabels?: Labels;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastUpdateTime: string;
  lastTransitionTime: string;
}

export interface DeploymentSpec {
  replicas: number;
  selector: LabelSelector;
  template: PodTemplateSpec;
  paused?: boolean;
  strategy?: {
    type?: string;
    rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
  };
  revisionHistoryLimit?: number;
  progressDeadlineSeconds?: number;
  [field: string]: unknown;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: Condition[];
  collisionCount?: number;
}

export interface Deployment {
  apiVersion: 'apps/v1';
  kind: 'Deployment';
  metadata: ObjectMeta;
  spec: DeploymentSpec;
  status: DeploymentStatus;
}

export interface ReplicaSet {
  apiVersion: 'apps/v1';
  kind: 'ReplicaSet';
  metadata: ObjectMeta;
  spec: { replicas: number; selector: LabelSelector; template: PodTemplateSpec };
  status: {
    replicas: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
  };
}

export interface ContainerStatus {
  name: string;
  image: string;
  imageID: string;
  containerID?: string;
  ready: boolean;
  started: boolean;
  restartCount: number;
  state: Record<string, Record<string, unknown>>;
  lastState: Record<string, Record<string, unknown>>;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export interface PodStatus {
  phase: string;
  conditions?: PodCondition[];
  hostIP?: string;
  podIP?: string;
  podIPs?: Array<{ ip: string }>;
  startTime?: string;
  containerStatuses?: ContainerStatus[];
  qosClass?: string;
}

export interface Pod {
  apiVersion: 'v1';
  kind: 'Pod';
  metadata: ObjectMeta;
  spec: PodSpec;
  status: PodStatus;
}

export interface Secret {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type: string;
  data: Record<string, string>;
}

export interface LogLine {
  at: Date;
  text: string;
}

export interface ExecResult {
  stdout: string;
  stderr?: string;
  exitCode: number;
}

/** `pod` is the pod's name. */
export type ExecHandler = (pod: string, container: string, command: string[]) => ExecResult | Promise<ExecResult>;

export type Fault = 'none' | 'hang' | 'error' | 'garbage';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Repeated parameters (exec's `command`) become arrays. */
  query: Record<string, string | string[]>;
  contentType: string | undefined;
  /** Parsed JSON when the body is JSON, the raw text otherwise, undefined when empty. */
  body: unknown;
  /** Filled in once answered; undefined while hanging. */
  status?: number;
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
}

// ---------------------------------------------------------------------------------------
// Constants
// ---------------------------------------------------------------------------------------

const HASH_LABEL = 'pod-template-hash';
const REVISION = 'deployment.kubernetes.io/revision';
const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
/** Deployment annotations the controller never copies to ReplicaSets (as upstream). */
const ANNOTATIONS_NOT_COPIED = new Set([
  'kubectl.kubernetes.io/last-applied-configuration',
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  'deployment.kubernetes.io/error-selector-overlapping-with',
  'deployment.kubernetes.io/selector-updated-at',
]);
/** The alphabet Kubernetes uses for generated name suffixes and template hashes. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';
const NODES = ['ip-10-0-1-17.ec2.internal', 'ip-10-0-2-41.ec2.internal', 'ip-10-0-3-8.ec2.internal'];
const GARBAGE = Buffer.from('\u0000\u001f\u008b<html><body>502 Bad Gateway</body></html>\u0000{"kind":', 'latin1');
const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const EXEC_PROTOCOLS = ['v4.channel.k8s.io', 'v5.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
const MAX_BODY = 3 * 1024 * 1024;
/** The request log keeps the latest entries only (the sandbox runs for hours). */
const MAX_RECORDED = 10_000;

type Resource = 'pods' | 'secrets' | 'deployments' | 'replicasets';

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
      { name: 'namespaces', singularName: 'namespace', namespaced: false, kind: 'Namespace', verbs: ['get'], shortNames: ['ns'] },
      { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['delete', 'get', 'list', 'watch'], shortNames: ['po'], categories: ['all'] },
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
      { name: 'deployments', singularName: 'deployment', namespaced: true, kind: 'Deployment', verbs: ['get', 'list', 'patch', 'update', 'watch'], shortNames: ['deploy'], categories: ['all'] },
      { name: 'deployments/scale', singularName: '', namespaced: true, group: 'autoscaling', version: 'v1', kind: 'Scale', verbs: ['get', 'patch', 'update'] },
      { name: 'deployments/status', singularName: '', namespaced: true, kind: 'Deployment', verbs: ['get'] },
      { name: 'replicasets', singularName: 'replicaset', namespaced: true, kind: 'ReplicaSet', verbs: ['get', 'list', 'watch'], shortNames: ['rs'], categories: ['all'] },
    ],
  },
};
type PodState = 'running' | 'pending' | 'crashloop';

// ---------------------------------------------------------------------------------------
// Errors as Kubernetes Status objects
// ---------------------------------------------------------------------------------------

interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

const RESOURCE_INFO: Record<Resource, { group: string; kind: string }> = {
  pods: { group: '', kind: 'Pod' },
  secrets: { group: '', kind: 'Secret' },
  deployments: { group: 'apps', kind: 'Deployment' },
  replicasets: { group: 'apps', kind: 'ReplicaSet' },
};

function qualified(resource: Resource): string {
  const { group } = RESOURCE_INFO[resource];
  return group ? `${resource}.${group}` : resource;
}

function notFound(resource: Resource, name: string): ApiError {
  const { group } = RESOURCE_INFO[resource];
  return new ApiError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

function conflict(resource: Resource, name: string): ApiError {
  const { group } = RESOURCE_INFO[resource];
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(group ? { group } : {}), kind: resource },
  );
}

function invalid(resource: Resource, name: string, causes: StatusCause[]): ApiError {
  const { group, kind } = RESOURCE_INFO[resource];
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const joined = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kind}${group ? `.${group}` : ''} "${name}" is invalid: ${joined}`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
    causes,
  });
}

const routeNotFound = (): ApiError =>
  new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

const methodNotAllowed = (): ApiError =>
  new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});

// ---------------------------------------------------------------------------------------
// Small JSON helpers
// ---------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return structuredClone(value);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isObj(a) && isObj(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/**
 * Canonical form for semantic comparison and hashing: sorted keys, no nulls, no empty
 * maps or lists (the API server's semantic equality treats nil and empty alike).
 */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical).filter((v) => v !== undefined);
    return items.length ? items : undefined;
  }
  if (isObj(value)) {
    const out: Obj = {};
    for (const key of Object.keys(value).sort()) {
      const v = canonical(value[key]);
      if (v !== undefined) out[key] = v;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return value === null ? undefined : value;
}

function semanticEqual(a: unknown, b: unknown): boolean {
  return deepEqual(canonical(a), canonical(b));
}

function withoutHashLabel(template: PodTemplateSpec): PodTemplateSpec {
  const copy = clone(template);
  if (copy.metadata.labels) delete copy.metadata.labels[HASH_LABEL];
  return copy;
}

/** Template equality ignoring the pod-template-hash label, as the deployment controller does. */
function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return semanticEqual(withoutHashLabel(a), withoutHashLabel(b));
}

/** FNV-32a of the template, rendered the way Kubernetes renders pod-template-hash. */
function podTemplateHash(template: PodTemplateSpec, collisionCount: number): string {
  const text = JSON.stringify(canonical(withoutHashLabel(template))) + (collisionCount ? String(collisionCount) : '');
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return safeEncode(String(hash));
}

function safeEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) out += SAFE_ALPHABET[byte % SAFE_ALPHABET.length];
  return out;
}

function randomSuffix(length: number): string {
  let out = '';
  for (const byte of randomBytes(length)) out += SAFE_ALPHABET[byte % SAFE_ALPHABET.length];
  return out;
}

function timestamp(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function stringMap(value: unknown, field: string): Labels | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObj(value)) throw badRequest(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type map[string]string`);
  const out: Labels = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw badRequest(`json: cannot unmarshal ${v === null ? 'null' : typeof v} into Go struct field ${field} of type string`);
    }
    out[k] = v;
  }
  return out;
}

/** Resolves an IntOrString such as `25%` against a total. */
function intOrPercent(value: unknown, total: number, roundUp: boolean, fallback: string): number {
  const v = value ?? fallback;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(String(v));
  if (!m) return Number.parseInt(String(v), 10) || 0;
  const exact = (total * Number(m[1])) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

function maxSurge(d: Deployment): number {
  if (d.spec.strategy?.type === 'Recreate') return 0;
  return intOrPercent(d.spec.strategy?.rollingUpdate?.maxSurge, d.spec.replicas, true, '25%');
}

function maxUnavailable(d: Deployment): number {
  if (d.spec.strategy?.type === 'Recreate') return d.spec.replicas;
  return intOrPercent(d.spec.strategy?.rollingUpdate?.maxUnavailable, d.spec.replicas, false, '25%');
}

function revisionOf(obj: { metadata: ObjectMeta }): number {
  return Number.parseInt(obj.metadata.annotations?.[REVISION] ?? '0', 10) || 0;
}

function setCondition(
  status: { conditions?: Condition[] },
  type: string,
  value: Condition['status'],
  reason: string,
  message: string,
  at: Date,
): void {
  const conditions = status.conditions ?? [];
  const current = conditions.find((c) => c.type === type);
  const ts = timestamp(at);
  if (current && current.status === value && current.reason === reason) {
    current.message = message;
    current.lastUpdateTime = ts;
  } else {
    const next: Condition = {
      type,
      status: value,
      reason,
      message,
      lastUpdateTime: ts,
      lastTransitionTime: current && current.status === value ? current.lastTransitionTime : ts,
    };
    if (current) conditions.splice(conditions.indexOf(current), 1, next);
    else conditions.push(next);
  }
  const order = ['Available', 'Progressing', 'ReplicaFailure'];
  conditions.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
  status.conditions = conditions;
}

// ---------------------------------------------------------------------------------------
// Label and field selectors
// ---------------------------------------------------------------------------------------

interface Requirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  parts.push(current);
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

const KEY = '[A-Za-z0-9][-A-Za-z0-9_./]*';

function parseLabelSelector(text: string | undefined): Requirement[] {
  if (!text?.trim()) return [];
  return splitTopLevel(text).map((term) => {
    let m = new RegExp(`^(${KEY})\\s+(in|notin)\\s+\\(([^)]*)\\)$`).exec(term);
    if (m?.[1] && m[2] && m[3] !== undefined) {
      const values = m[3].split(',').map((v) => v.trim()).filter(Boolean);
      return { key: m[1], op: m[2] === 'in' ? 'in' : 'notin', values };
    }
    m = new RegExp(`^!\\s*(${KEY})$`).exec(term);
    if (m?.[1]) return { key: m[1], op: 'notexists', values: [] };
    m = new RegExp(`^(${KEY})\\s*(==|=|!=)\\s*([-A-Za-z0-9_.]*)$`).exec(term);
    if (m?.[1] && m[2] && m[3] !== undefined) return { key: m[1], op: m[2] === '!=' ? 'neq' : 'eq', values: [m[3]] };
    m = new RegExp(`^(${KEY})$`).exec(term);
    if (m?.[1]) return { key: m[1], op: 'exists', values: [] };
    throw badRequest(`unable to parse requirement: <nil>: Invalid value: "${term}": invalid label selector`);
  });
}

function matchesRequirements(labels: Labels | undefined, reqs: Requirement[]): boolean {
  const l = labels ?? {};
  return reqs.every(({ key, op, values }) => {
    const has = Object.hasOwn(l, key);
    const v = l[key];
    switch (op) {
      case 'eq':
        return has && v === values[0];
      case 'neq':
        return !has || v !== values[0];
      case 'in':
        return has && values.includes(v ?? '');
      case 'notin':
        return !has || !values.includes(v ?? '');
      case 'exists':
        return has;
      case 'notexists':
        return !has;
    }
    return false;
  });
}

function selectorMatches(selector: LabelSelector, labels: Labels | undefined): boolean {
  const reqs: Requirement[] = Object.entries(selector.matchLabels ?? {}).map(([key, value]) => ({
    key,
    op: 'eq',
    values: [value],
  }));
  for (const e of selector.matchExpressions ?? []) {
    const op = ({ In: 'in', NotIn: 'notin', Exists: 'exists', DoesNotExist: 'notexists' } as const)[
      e.operator as 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'
    ];
    if (op) reqs.push({ key: e.key, op, values: e.values ?? [] });
  }
  return matchesRequirements(labels, reqs);
}

/** `app=api,tier=web`, as `kubectl get` and the Scale subresource print a selector. */
function formatSelector(selector: LabelSelector): string {
  return Object.entries(selector.matchLabels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

interface FieldRequirement {
  field: string;
  negate: boolean;
  value: string;
}

const FIELDS: Record<Resource, string[]> = {
  pods: ['metadata.name', 'metadata.namespace', 'status.phase', 'spec.nodeName', 'spec.restartPolicy'],
  secrets: ['metadata.name', 'metadata.namespace', 'type'],
  deployments: ['metadata.name', 'metadata.namespace'],
  replicasets: ['metadata.name', 'metadata.namespace', 'status.replicas'],
};

function parseFieldSelector(text: string | undefined, resource: Resource): FieldRequirement[] {
  if (!text?.trim()) return [];
  return splitTopLevel(text).map((term) => {
    const m = /^([A-Za-z.]+)\s*(==|=|!=)\s*(.*)$/.exec(term);
    if (!m?.[1] || !m[2] || m[3] === undefined) throw badRequest(`invalid selector: '${text}'; can't understand '${term}'`);
    if (!FIELDS[resource].includes(m[1])) {
      throw badRequest(`field label not supported: ${m[1]}`);
    }
    return { field: m[1], negate: m[2] === '!=', value: m[3] };
  });
}

function fieldValue(obj: unknown, path: string): string {
  let cur: unknown = obj;
  for (const part of path.split('.')) cur = isObj(cur) ? cur[part] : undefined;
  return cur === undefined || cur === null ? '' : String(cur);
}

function matchesFields(obj: unknown, reqs: FieldRequirement[]): boolean {
  return reqs.every((r) => (fieldValue(obj, r.field) === r.value) !== r.negate);
}

// ---------------------------------------------------------------------------------------
// Patches: strategic merge (as the API server does for Deployments), RFC 7386, RFC 6902
// ---------------------------------------------------------------------------------------

const CONTAINER_LISTS = new Set(['containers', 'initContainers', 'ephemeralContainers']);

/** The patchMergeKey of a list field, from the Kubernetes types, or undefined: replace the list. */
function mergeKeyFor(path: readonly string[]): string | undefined {
  const last = path[path.length - 1] ?? '';
  const parent = path[path.length - 2] ?? '';
  if (CONTAINER_LISTS.has(last)) return 'name';
  switch (last) {
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
    case 'schedulingGates':
      return 'name';
    case 'ports':
      return CONTAINER_LISTS.has(parent) ? 'containerPort' : 'port';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'hostAliases':
      return 'ip';
    case 'ownerReferences':
      return 'uid';
    case 'conditions':
      return 'type';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    default:
      return undefined;
  }
}

const DELETE_MARK = Symbol('delete');

function strategicMergeObject(original: unknown, patch: Obj, path: string[]): Obj | typeof DELETE_MARK {
  const directive = patch.$patch;
  if (directive === 'delete') return DELETE_MARK;
  if (directive === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return strategicMergeObject(undefined, rest, path);
  }
  if (directive !== undefined) throw badRequest(`Unknown patch type: ${String(directive)}`);
  const out: Obj = isObj(original) ? { ...original } : {};
  const deferred: Array<[string, unknown]> = [];
  for (const [key, value] of Object.entries(patch)) {
    if (key === '$retainKeys' || key.startsWith('$setElementOrder/')) continue;
    if (key.startsWith('$deleteFromPrimitiveList/')) {
      deferred.push([key.slice('$deleteFromPrimitiveList/'.length), value]);
      continue;
    }
    if (value === null) {
      delete out[key];
      continue;
    }
    const childPath = [...path, key];
    if (isObj(value)) {
      const merged = strategicMergeObject(out[key], value, childPath);
      if (merged === DELETE_MARK) delete out[key];
      else out[key] = merged;
    } else if (Array.isArray(value)) {
      out[key] = strategicMergeList(out[key], value, childPath);
    } else {
      out[key] = value;
    }
  }
  for (const [field, values] of deferred) {
    const list = out[field];
    if (Array.isArray(list) && Array.isArray(values)) {
      out[field] = list.filter((item) => !values.some((v) => deepEqual(v, item)));
    }
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const key of Object.keys(out)) if (!retain.includes(key)) delete out[key];
  }
  return out;
}

function strategicMergeList(original: unknown, patch: unknown[], path: string[]): unknown[] {
  const last = path[path.length - 1] ?? '';
  if (patch.some((item) => isObj(item) && item.$patch === 'replace')) {
    return patch.filter((item) => !(isObj(item) && item.$patch === 'replace')).map((item) => clone(item));
  }
  const key = mergeKeyFor(path);
  if (key === undefined) {
    if (last === 'finalizers' && Array.isArray(original)) {
      return [...original, ...patch.filter((item) => !original.some((o) => deepEqual(o, item)))];
    }
    return patch.map((item) => clone(item));
  }
  const out = Array.isArray(original) ? [...original] : [];
  for (const item of patch) {
    if (!isObj(item)) throw badRequest(`unable to merge list "${last}": element ${JSON.stringify(item)} is not an object`);
    const keyValue = item[key];
    if (keyValue === undefined) {
      throw badRequest(`map: ${JSON.stringify(item)} does not contain declared merge key: ${key}`);
    }
    const sameKey = (o: unknown): boolean => isObj(o) && deepEqual(o[key], keyValue);
    if (item.$patch === 'delete') {
      for (let i = out.length - 1; i >= 0; i--) if (sameKey(out[i])) out.splice(i, 1);
      continue;
    }
    const index = out.findIndex(sameKey);
    const merged = strategicMergeObject(index >= 0 ? out[index] : undefined, item, path);
    if (merged === DELETE_MARK) continue;
    if (index >= 0) out[index] = merged;
    else out.push(merged);
  }
  return out;
}

/** Strategic merge patch, for the Kubernetes object kinds this fake serves. */
export function strategicMergePatch(original: unknown, patch: unknown): unknown {
  if (!isObj(patch)) throw badRequest('json: cannot unmarshal array into Go value of type map[string]interface {}');
  const merged = strategicMergeObject(original, patch, []);
  return merged === DELETE_MARK ? {} : merged;
}

/** JSON merge patch (RFC 7386). */
export function jsonMergePatch(target: unknown, patch: unknown): unknown {
  if (!isObj(patch)) return clone(patch);
  const out: Obj = isObj(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = jsonMergePatch(out[key], value);
  }
  return out;
}

function parsePointer(pointer: unknown, op: string): string[] {
  if (typeof pointer !== 'string') throw badRequest(`jsonpatch ${op} operation: missing or invalid path`);
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw badRequest(`jsonpatch ${op} operation does not apply: invalid path: ${pointer}`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function pointerGet(doc: unknown, tokens: string[]): { found: boolean; value: unknown } {
  let cur: unknown = doc;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      if (!/^(0|[1-9]\d*)$/.test(t) || Number(t) >= cur.length) return { found: false, value: undefined };
      cur = cur[Number(t)];
    } else if (isObj(cur) && Object.hasOwn(cur, t)) {
      cur = cur[t];
    } else return { found: false, value: undefined };
  }
  return { found: true, value: cur };
}

function pointerParent(doc: unknown, tokens: string[], op: string, raw: string): { parent: unknown; last: string } {
  const parentTokens = tokens.slice(0, -1);
  const { found, value } = pointerGet(doc, parentTokens);
  if (!found || (value === null || typeof value !== 'object')) {
    throw badRequest(`jsonpatch ${op} operation does not apply: doc is missing path: "${raw}"`);
  }
  return { parent: value, last: tokens[tokens.length - 1] ?? '' };
}

function arrayIndex(token: string, length: number, allowEnd: boolean, op: string): number {
  if (!/^(0|[1-9]\d*)$/.test(token)) throw badRequest(`jsonpatch ${op} operation does not apply: invalid index: ${token}`);
  const index = Number(token);
  if (index > length || (!allowEnd && index === length)) {
    throw badRequest(`jsonpatch ${op} operation does not apply: index out of bounds`);
  }
  return index;
}

function pointerAdd(doc: unknown, tokens: string[], value: unknown, raw: string): unknown {
  if (tokens.length === 0) return value;
  const { parent, last } = pointerParent(doc, tokens, 'add', raw);
  if (Array.isArray(parent)) {
    if (last === '-') parent.push(value);
    else parent.splice(arrayIndex(last, parent.length, true, 'add'), 0, value);
  } else (parent as Obj)[last] = value;
  return doc;
}

function pointerRemove(doc: unknown, tokens: string[], op: string, raw: string): { doc: unknown; removed: unknown } {
  if (tokens.length === 0) return { doc: null, removed: doc };
  const { parent, last } = pointerParent(doc, tokens, op, raw);
  if (Array.isArray(parent)) {
    const index = arrayIndex(last, parent.length, false, op);
    return { doc, removed: parent.splice(index, 1)[0] };
  }
  const obj = parent as Obj;
  if (!Object.hasOwn(obj, last)) throw badRequest(`jsonpatch ${op} operation does not apply: doc is missing key: ${raw}`);
  const removed = obj[last];
  delete obj[last];
  return { doc, removed };
}

/** JSON patch (RFC 6902). */
export function jsonPatch(document: unknown, operations: unknown): unknown {
  if (!Array.isArray(operations)) {
    throw badRequest('json: cannot unmarshal object into Go value of type jsonpatch.Patch');
  }
  let doc = clone(document);
  for (const operation of operations) {
    if (!isObj(operation)) throw badRequest('json: cannot unmarshal into Go value of type jsonpatch.Operation');
    const op = String(operation.op);
    const rawPath = String(operation.path);
    const path = parsePointer(operation.path, op);
    const needValue = (): unknown => {
      if (!Object.hasOwn(operation, 'value')) throw badRequest(`jsonpatch ${op} operation: missing value`);
      return clone(operation.value);
    };
    switch (op) {
      case 'add':
        doc = pointerAdd(doc, path, needValue(), rawPath);
        break;
      case 'remove':
        doc = pointerRemove(doc, path, 'remove', rawPath).doc;
        break;
      case 'replace': {
        const value = needValue();
        if (!pointerGet(doc, path).found) {
          throw badRequest(`jsonpatch replace operation does not apply: doc is missing key: ${rawPath}`);
        }
        if (path.length === 0) doc = value;
        else {
          const { parent, last } = pointerParent(doc, path, 'replace', rawPath);
          if (Array.isArray(parent)) parent[arrayIndex(last, parent.length, false, 'replace')] = value;
          else (parent as Obj)[last] = value;
        }
        break;
      }
      case 'move': {
        const rawFrom = String(operation.from);
        const from = parsePointer(operation.from, op);
        if (rawPath.startsWith(`${rawFrom}/`)) {
          throw badRequest(`jsonpatch move operation does not apply: cannot move ${rawFrom} into its own child ${rawPath}`);
        }
        const { doc: rest, removed } = pointerRemove(doc, from, 'move', rawFrom);
        doc = pointerAdd(rest, path, removed, rawPath);
        break;
      }
      case 'copy': {
        const rawFrom = String(operation.from);
        const source = pointerGet(doc, parsePointer(operation.from, op));
        if (!source.found) throw badRequest(`jsonpatch copy operation does not apply: doc is missing from path: ${rawFrom}`);
        doc = pointerAdd(doc, path, clone(source.value), rawPath);
        break;
      }
      case 'test': {
        const current = pointerGet(doc, path);
        const expected = Object.hasOwn(operation, 'value') ? operation.value : undefined;
        if (!current.found || !deepEqual(current.value, expected)) {
          throw new ApiError(422, 'Invalid', `the server rejected our request due to an error in our request: testing value ${rawPath} failed: test failed`);
        }
        break;
      }
      default:
        throw badRequest(`Unexpected kind: ${op}`);
    }
  }
  return doc;
}

function applyPatch(contentType: string | undefined, document: unknown, body: string): unknown {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  const known = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/strategic-merge-patch+json',
  ];
  if (!known.includes(type)) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${known.join(', ')}${
        type.startsWith('application/apply-patch') ? ' (this fake does not implement server-side apply)' : ''
      }`,
    );
  }
  let patch: unknown;
  try {
    patch = JSON.parse(body);
  } catch (error) {
    throw badRequest(`error decoding patch: ${(error as Error).message}`);
  }
  if (type === 'application/json-patch+json') return jsonPatch(document, patch);
  if (!isObj(patch)) {
    throw badRequest(`json: cannot unmarshal ${Array.isArray(patch) ? 'array' : typeof patch} into Go value of type map[string]interface {}`);
  }
  if (type === 'application/merge-patch+json') return jsonMergePatch(document, patch);
  return strategicMergePatch(document, patch);
}

// ---------------------------------------------------------------------------------------
// Validation and defaulting of Deployments written through the API
// ---------------------------------------------------------------------------------------

function defaultContainer(raw: Obj): Container {
  const c: Obj = { ...raw };
  const image = typeof c.image === 'string' ? c.image : '';
  if (c.imagePullPolicy === undefined) {
    const lastSegment = image.split('/').pop() ?? '';
    const tagged = lastSegment.includes(':') || image.includes('@');
    c.imagePullPolicy = !tagged || image.endsWith(':latest') ? 'Always' : 'IfNotPresent';
  }
  c.resources ??= {};
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  if (Array.isArray(c.ports)) c.ports = c.ports.map((p) => (isObj(p) && p.protocol === undefined ? { ...p, protocol: 'TCP' } : p));
  return c as Container;
}

function defaultPodSpec(raw: Obj): PodSpec {
  const spec: Obj = { ...raw };
  spec.containers = (Array.isArray(spec.containers) ? spec.containers : []).map((c) => defaultContainer(isObj(c) ? c : {}));
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  return spec as PodSpec;
}

/**
 * Turns a client-supplied Deployment (after a PUT body or a patch) into a stored one,
 * or throws the Status the API server would answer.
 */
function validateDeployment(input: unknown, urlName: string, current: Deployment): Deployment {
  if (!isObj(input)) throw badRequest('the body of the request was not a Deployment object');
  if (input.kind !== undefined && input.kind !== 'Deployment') {
    throw badRequest(`Deployment in version "v1" cannot be handled as a ${String(input.kind)}`);
  }
  if (input.apiVersion !== undefined && input.apiVersion !== 'apps/v1') {
    throw badRequest(`the API version in the data (${String(input.apiVersion)}) does not match the expected API version (apps/v1)`);
  }
  const meta = isObj(input.metadata) ? input.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : urlName;
  if (name !== urlName) {
    throw badRequest(`the name of the object (${name}) does not match the name on the URL (${urlName})`);
  }
  if (meta.namespace !== undefined && meta.namespace !== current.metadata.namespace) {
    throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
  }
  const labels = stringMap(meta.labels, 'ObjectMeta.metadata.labels');
  const annotations = stringMap(meta.annotations, 'ObjectMeta.metadata.annotations');
  const causes: StatusCause[] = [];
  const spec = isObj(input.spec) ? input.spec : {};
  const replicas = spec.replicas === undefined || spec.replicas === null ? 1 : spec.replicas;
  if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.replicas',
      message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
    });
  }
  const selector: LabelSelector = isObj(spec.selector) ? (spec.selector as LabelSelector) : {};
  const matchLabels = stringMap(selector.matchLabels, 'LabelSelector.spec.selector.matchLabels');
  if (!matchLabels && !selector.matchExpressions?.length) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' });
  }
  const template = isObj(spec.template) ? spec.template : {};
  const templateMeta = isObj(template.metadata) ? { ...template.metadata } : {};
  const templateLabels = stringMap(templateMeta.labels, 'ObjectMeta.spec.template.metadata.labels');
  const templateAnnotations = stringMap(templateMeta.annotations, 'ObjectMeta.spec.template.metadata.annotations');
  if ((matchLabels || selector.matchExpressions?.length) && !selectorMatches(selector, templateLabels)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.template.metadata.labels',
      message: `Invalid value: ${JSON.stringify(templateLabels ?? {})}: \`selector\` does not match template \`labels\``,
    });
  }
  const podSpec = isObj(template.spec) ? template.spec : {};
  const containers = Array.isArray(podSpec.containers) ? podSpec.containers : [];
  if (containers.length === 0) {
    causes.push({ reason: 'FieldValueRequired', field: 'spec.template.spec.containers', message: 'Required value' });
  }
  const seen = new Set<string>();
  containers.forEach((c, i) => {
    const field = `spec.template.spec.containers[${i}]`;
    if (!isObj(c) || typeof c.name !== 'string' || c.name === '') {
      causes.push({ reason: 'FieldValueRequired', field: `${field}.name`, message: 'Required value' });
      return;
    }
    if (seen.has(c.name)) {
      causes.push({ reason: 'FieldValueDuplicate', field: `${field}.name`, message: `Duplicate value: "${c.name}"` });
    }
    seen.add(c.name);
    if (typeof c.image !== 'string' || c.image.trim() === '') {
      causes.push({ reason: 'FieldValueRequired', field: `${field}.image`, message: 'Required value' });
    }
  });
  if (spec.paused !== undefined && spec.paused !== null && typeof spec.paused !== 'boolean') {
    throw badRequest('json: cannot unmarshal into Go struct field DeploymentSpec.spec.paused of type bool');
  }
  if (!semanticEqual(spec.selector, current.spec.selector)) {
    causes.push({
      reason: 'FieldValueInvalid',
      field: 'spec.selector',
      message: `Invalid value: ${JSON.stringify(spec.selector ?? null)}: field is immutable`,
    });
  }
  if (causes.length) throw invalid('deployments', urlName, causes);

  const nextSpec: Obj = { ...spec, replicas };
  if (!spec.paused) delete nextSpec.paused;
  nextSpec.selector = { ...selector, ...(matchLabels ? { matchLabels } : {}) };
  nextSpec.template = {
    metadata: {
      ...templateMeta,
      creationTimestamp: null,
      ...(templateLabels ? { labels: templateLabels } : {}),
      ...(templateAnnotations ? { annotations: templateAnnotations } : {}),
    },
    spec: defaultPodSpec(podSpec),
  };
  if (!isObj(nextSpec.strategy)) nextSpec.strategy = { type: 'RollingUpdate' };
  const strategy = nextSpec.strategy as Obj;
  strategy.type ??= 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    strategy.rollingUpdate = { maxSurge: '25%', maxUnavailable: '25%', ...(isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {}) };
  }
  nextSpec.revisionHistoryLimit ??= 10;
  nextSpec.progressDeadlineSeconds ??= 600;

  const metadata: ObjectMeta = {
    name: urlName,
    namespace: current.metadata.namespace,
    uid: current.metadata.uid,
    resourceVersion: typeof meta.resourceVersion === 'string' ? meta.resourceVersion : '',
    generation: current.metadata.generation ?? 1,
    creationTimestamp: current.metadata.creationTimestamp,
    ...(labels ? { labels } : {}),
    ...(annotations ? { annotations } : {}),
  };
  if (Array.isArray(meta.finalizers)) metadata.finalizers = meta.finalizers.map(String);
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata,
    spec: nextSpec as DeploymentSpec,
    // The main resource never writes status (the API server resets it to the stored one).
    status: clone(current.status),
  };
}

function parseReplicas(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ApiError(422, 'Invalid', `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(value ?? null)}: must be greater than or equal to 0`, {
      name,
      group: 'autoscaling',
      kind: 'Scale',
      causes: [{ reason: 'FieldValueInvalid', field: 'spec.replicas', message: `Invalid value: ${JSON.stringify(value ?? null)}: must be greater than or equal to 0` }],
    });
  }
  return value;
}

// ---------------------------------------------------------------------------------------
// WebSocket framing (server side, enough for the exec channel protocol)
// ---------------------------------------------------------------------------------------

function wsFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([0x80 | opcode, length]);
  } else if (length < 65536) {
    header = Buffer.alloc(4);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(126, 1);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(0x80 | opcode, 0);
    header.writeUInt8(127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}

function wsParse(buffer: Buffer): { opcode: number; payload: Buffer; size: number } | undefined {
  if (buffer.length < 2) return undefined;
  const opcode = buffer.readUInt8(0) & 0x0f;
  const second = buffer.readUInt8(1);
  const masked = (second & 0x80) !== 0;
  let length = second & 0x7f;
  let offset = 2;
  if (length === 126) {
    if (buffer.length < 4) return undefined;
    length = buffer.readUInt16BE(2);
    offset = 4;
  } else if (length === 127) {
    if (buffer.length < 10) return undefined;
    length = Number(buffer.readBigUInt64BE(2));
    offset = 10;
  }
  const maskAt = offset;
  if (masked) offset += 4;
  if (buffer.length < offset + length) return undefined;
  const payload = Buffer.from(buffer.subarray(offset, offset + length));
  if (masked) for (let i = 0; i < payload.length; i++) payload.writeUInt8(payload.readUInt8(i) ^ buffer.readUInt8(maskAt + (i % 4)), i);
  return { opcode, payload, size: offset + length };
}

function rawHttpResponse(socket: Duplex, code: number, body: string | Buffer, contentType = 'application/json'): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  socket.end(
    Buffer.concat([
      Buffer.from(
        `HTTP/1.1 ${code} ${STATUS_CODES[code] ?? ''}\r\nContent-Type: ${contentType}\r\nContent-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
      ),
      bytes,
    ]),
  );
}

// ---------------------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------------------

interface Watcher {
  resource: Resource;
  namespace: string | undefined;
  labels: Requirement[];
  fields: FieldRequirement[];
  res: ServerResponse;
}

interface PendingRollout {
  rsUid: string;
  fail: boolean;
  timer: NodeJS.Timeout;
}

type Reply = { status: number; json: unknown } | { status: number; text: string } | 'streaming';

export class KubeFake {
  readonly namespace: string;
  readonly token: string;
  /** Every request received, in order, for assertions. */
  readonly requests: RecordedRequest[] = [];

  private readonly server: Server;
  private readonly sockets = new Set<Duplex>();
  private readonly watchers = new Set<Watcher>();
  private readonly clock: () => Date;
  private readonly requireAuth: boolean;
  private port: number;
  private listening = false;
  private closed = false;
  private fault: Fault = 'none';
  private latencyMs = 0;
  private rolloutDelayMs: number;
  private failNext = false;
  private resourceVersion = 184_200;
  private podCounter = 0;
  private execHandler: ExecHandler;

  private readonly deployments = new Map<string, Deployment>();
  private readonly replicaSets = new Map<string, ReplicaSet>();
  private readonly podStore = new Map<string, Pod>();
  private readonly secrets = new Map<string, Secret>();
  private readonly logs = new Map<string, LogLine[]>();
  private readonly rsPodState = new Map<string, PodState>();
  private readonly rollouts = new Map<string, PendingRollout>();
  private readonly failedRollouts = new Map<string, string>();
  private readonly logVolumeUsage = new Map<string, number>();
  private defaultLogVolumeUsage = 78;

  constructor(opts: KubeFakeOptions = {}) {
    this.namespace = opts.namespace ?? 'dmp';
    this.token = opts.token ?? `fake-${randomBytes(16).toString('hex')}`;
    this.port = opts.port ?? 0;
    this.rolloutDelayMs = opts.rolloutDelayMs ?? 0;
    this.clock = opts.now ?? (() => new Date());
    this.requireAuth = opts.requireAuth ?? true;
    this.execHandler = this.defaultExecHandler;
    this.server = createServer((req, res) => {
      this.onRequest(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          this.send(res, 500, new ApiError(500, 'InternalError', `Internal error occurred: ${String(error)}`).toStatus());
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
    for (const w of this.watchers) w.res.end();
    this.watchers.clear();
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
    for (const r of this.rollouts.values()) clearTimeout(r.timer);
    this.rollouts.clear();
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
    this.rolloutDelayMs = ms;
  }

  /** The next rollout stalls: Progressing=False, reason ProgressDeadlineExceeded, new pods crash-looping. */
  failNextRollout(): void {
    this.failNext = true;
  }

  /** Replaces the exec handler; undefined restores the default one. */
  setExecHandler(handler: ExecHandler | undefined): void {
    this.execHandler = handler ?? this.defaultExecHandler;
  }

  /** Use% of /var/log reported by the default exec handler, for one pod or (no pod) all. */
  setLogVolumeUsage(percent: number, podName?: string): void {
    if (podName) this.logVolumeUsage.set(podName, percent);
    else {
      this.defaultLogVolumeUsage = percent;
      this.logVolumeUsage.clear();
    }
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  // ----- seeding and inspection -------------------------------------------------------

  addDeployment(opts: AddDeploymentOptions): Deployment {
    const key = this.key(this.namespace, opts.name);
    if (this.deployments.has(key)) throw new Error(`deployment ${opts.name} already exists`);
    const at = opts.createdAt ?? this.clock();
    const labels = opts.labels ?? { app: opts.name };
    const containers = (opts.containers ?? [{ name: opts.name }]).map((c) => defaultContainer({ ...c, image: c.image ?? opts.image }));
    const d: Deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: {
        name: opts.name,
        namespace: this.namespace,
        uid: randomUUID(),
        resourceVersion: this.nextResourceVersion(),
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
    this.deployments.set(key, d);
    this.emit('deployments', 'ADDED', d);
    this.sync(key, { at, immediate: true });
    return clone(d);
  }

  /**
   * Changes a deployment as a client's update would (generation, then the controller).
   * With `at`, the change is dated then and its rollout completes at once (history).
   */
  updateDeployment(name: string, mutate: (d: Deployment) => void, opts: { at?: Date } = {}): Deployment {
    const current = this.deployments.get(this.key(this.namespace, name));
    if (!current) throw new Error(`deployment ${name} not found`);
    const draft = clone(current);
    mutate(draft);
    draft.metadata.resourceVersion = current.metadata.resourceVersion;
    this.writeDeployment(name, draft, current, { at: opts.at, immediate: opts.at !== undefined });
    return clone(this.deployments.get(this.key(this.namespace, name)) as Deployment);
  }

  addSecret(opts: AddSecretOptions): Secret {
    const secret: Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: opts.name,
        namespace: this.namespace,
        uid: randomUUID(),
        resourceVersion: this.nextResourceVersion(),
        creationTimestamp: timestamp(opts.creationTimestamp ?? this.clock()),
        ...(opts.labels ? { labels: { ...opts.labels } } : {}),
        ...(opts.annotations ? { annotations: { ...opts.annotations } } : {}),
      },
      type: opts.type ?? 'Opaque',
      data: Object.fromEntries(Object.entries(opts.data).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')])),
    };
    this.secrets.set(this.key(this.namespace, opts.name), secret);
    this.emit('secrets', 'ADDED', secret);
    return clone(secret);
  }

  setPodLogs(podName: string, lines: LogLine[]): void {
    const sorted = [...lines].sort((a, b) => a.at.getTime() - b.at.getTime());
    this.logs.set(this.key(this.namespace, podName), sorted);
  }

  getDeployment(name: string): Deployment | undefined {
    const d = this.deployments.get(this.key(this.namespace, name));
    return d ? clone(d) : undefined;
  }

  /** The deployment's ReplicaSets, oldest revision first. */
  listReplicaSets(deploymentName: string): ReplicaSet[] {
    const d = this.deployments.get(this.key(this.namespace, deploymentName));
    if (!d) return [];
    return this.ownedReplicaSets(d)
      .sort((a, b) => revisionOf(a) - revisionOf(b))
      .map(clone);
  }

  /** Pods labelled `app=<app>` (all pods without an argument), by name. */
  pods(app?: string): Pod[] {
    return [...this.podStore.values()]
      .filter((p) => p.metadata.namespace === this.namespace && (app === undefined || p.metadata.labels?.app === app))
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
      .map(clone);
  }

  /** Changes a pod in place (e.g. its restartCount); the owning deployment's status follows. */
  updatePod(name: string, mutate: (pod: Pod) => void): Pod {
    const key = this.key(this.namespace, name);
    const pod = this.podStore.get(key);
    if (!pod) throw new Error(`pod ${name} not found`);
    const draft = clone(pod);
    mutate(draft);
    this.podStore.set(key, draft);
    this.touch('pods', draft);
    this.refreshOwners(draft);
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
      this.send(res, 500, new ApiError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out').toStatus());
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
      reply = this.route(req.method ?? 'GET', url, body.toString('utf8'), req.headers['content-type'], res);
    } catch (error) {
      const e = error instanceof ApiError ? error : new ApiError(500, 'InternalError', `Internal error occurred: ${String(error)}`);
      this.send(res, e.code, e.toStatus());
      return;
    }
    if (reply === 'streaming') return;
    if ('json' in reply) this.send(res, reply.status, reply.json);
    else {
      res.writeHead(reply.status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(reply.text) });
      res.end(reply.text);
    }
  }

  private authorized(req: IncomingMessage): boolean {
    return !this.requireAuth || req.headers.authorization === `Bearer ${this.token}`;
  }

  private send(res: ServerResponse, status: number, json: unknown): void {
    const text = JSON.stringify(json);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
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
      body: parsed,
      at: this.clock(),
    };
    this.requests.push(record);
    if (this.requests.length > MAX_RECORDED) this.requests.splice(0, this.requests.length - MAX_RECORDED);
    return record;
  }

  private route(method: string, url: URL, body: string, contentType: string | undefined, res: ServerResponse): Reply {
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const q = url.searchParams;
    if (path === '/version' && method === 'GET') {
      return {
        status: 200,
        json: { major: '1', minor: '30', gitVersion: 'v1.30.4', platform: 'linux/amd64', goVersion: 'go1.22.5', compiler: 'gc' },
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
        return { status: 200, json: this.namespaceObject(namespace) };
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
      return { status: 200, json: { kind: 'EventList', apiVersion: 'v1', metadata: { resourceVersion: String(this.resourceVersion) }, items: [] } };
    }
    if (name === undefined) {
      if (method !== 'GET') throw methodNotAllowed();
      if (q.get('watch') === 'true' || q.get('watch') === '1') {
        this.startWatch(resource, namespace, q, res);
        return 'streaming';
      }
      return { status: 200, json: this.list(resource, namespace, q) };
    }
    if (namespace === undefined) throw routeNotFound();
    const dryRun = q.get('dryRun') === 'All';
    switch (`${resource}/${sub ?? ''}`) {
      case 'pods/':
        if (method === 'GET') return { status: 200, json: this.getOrThrow('pods', namespace, name) };
        if (method === 'DELETE') return { status: 200, json: this.deletePod(namespace, name, dryRun) };
        throw methodNotAllowed();
      case 'pods/log':
        if (method !== 'GET') throw methodNotAllowed();
        return { status: 200, text: this.podLog(namespace, name, q) };
      case 'pods/exec':
        if (method !== 'GET' && method !== 'POST') throw methodNotAllowed();
        this.getOrThrow('pods', namespace, name);
        throw badRequest('Upgrade request required');
      case 'secrets/':
        if (method !== 'GET') throw methodNotAllowed();
        return { status: 200, json: this.getOrThrow('secrets', namespace, name) };
      case 'replicasets/':
        if (method !== 'GET') throw methodNotAllowed();
        return { status: 200, json: this.getOrThrow('replicasets', namespace, name) };
      case 'deployments/':
      case 'deployments/status': {
        const current = this.getOrThrow('deployments', namespace, name) as Deployment;
        if (method === 'GET') return { status: 200, json: current };
        if (sub === 'status') throw methodNotAllowed();
        if (method === 'PUT') return { status: 200, json: this.replaceDeployment(name, body, current, dryRun) };
        if (method === 'PATCH') {
          const patched = applyPatch(contentType, clone(current), body);
          return { status: 200, json: this.writeDeployment(name, patched, current, { dryRun }) };
        }
        throw methodNotAllowed();
      }
      case 'deployments/scale': {
        const current = this.getOrThrow('deployments', namespace, name) as Deployment;
        if (method === 'GET') return { status: 200, json: this.scaleOf(current) };
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
            throw badRequest(`the name of the object (${String(meta.name)}) does not match the name on the URL (${name})`);
          }
        } else {
          next = applyPatch(contentType, this.scaleOf(current), body);
        }
        const scale = isObj(next) ? next : {};
        const meta = isObj(scale.metadata) ? scale.metadata : {};
        if (typeof meta.resourceVersion === 'string' && meta.resourceVersion !== '' && meta.resourceVersion !== current.metadata.resourceVersion) {
          throw conflict('deployments', name);
        }
        const replicas = parseReplicas(isObj(scale.spec) ? scale.spec.replicas : undefined, name);
        const draft = clone(current);
        draft.spec.replicas = replicas;
        const written = this.writeDeployment(name, draft, current, { dryRun });
        return { status: 200, json: this.scaleOf(written) };
      }
      default:
        throw routeNotFound();
    }
  }

  private namespaceObject(name: string): unknown {
    const known = new Set([this.namespace, 'default', 'kube-system', 'kube-public']);
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

  // ----- generic reads ---------------------------------------------------------------

  private storeOf(resource: Resource): Map<string, { metadata: ObjectMeta }> {
    switch (resource) {
      case 'pods':
        return this.podStore;
      case 'secrets':
        return this.secrets;
      case 'deployments':
        return this.deployments;
      case 'replicasets':
        return this.replicaSets;
    }
    throw routeNotFound();
  }

  private getOrThrow(resource: Resource, namespace: string, name: string): { metadata: ObjectMeta } {
    const obj = this.storeOf(resource).get(this.key(namespace, name));
    if (!obj) throw notFound(resource, name);
    return obj;
  }

  private list(resource: Resource, namespace: string | undefined, q: URLSearchParams): unknown {
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
    const metadata: Obj = { resourceVersion: String(this.resourceVersion) };
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

  private startWatch(resource: Resource, namespace: string | undefined, q: URLSearchParams, res: ServerResponse): void {
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

  private watchMatches(w: Watcher, obj: { metadata: ObjectMeta }): boolean {
    return (
      (w.namespace === undefined || obj.metadata.namespace === w.namespace) &&
      matchesRequirements(obj.metadata.labels, w.labels) &&
      matchesFields(obj, w.fields)
    );
  }

  private emit(resource: Resource, type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: { metadata: ObjectMeta }): void {
    for (const w of this.watchers) {
      if (w.resource === resource && this.watchMatches(w, obj) && !w.res.writableEnded) {
        w.res.write(`${JSON.stringify({ type, object: obj })}\n`);
      }
    }
  }

  private touch(resource: Resource, obj: { metadata: ObjectMeta }): void {
    obj.metadata.resourceVersion = this.nextResourceVersion();
    this.emit(resource, 'MODIFIED', obj);
  }

  private nextResourceVersion(): string {
    this.resourceVersion += 1;
    return String(this.resourceVersion);
  }

  private key(namespace: string, name: string): string {
    return `${namespace}/${name}`;
  }

  // ----- deployments: writes -----------------------------------------------------------

  private replaceDeployment(name: string, body: string, current: Deployment, dryRun: boolean): Deployment {
    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch (error) {
      throw badRequest(`error decoding body: ${(error as Error).message}`);
    }
    return this.writeDeployment(name, input, current, { dryRun });
  }

  /**
   * The API server's update path: validate, keep server-owned fields, bump generation on
   * spec or annotation changes, store, then let the controller react. Answers with the
   * object as stored, before the controller acts (as the real server does).
   */
  private writeDeployment(
    name: string,
    input: unknown,
    current: Deployment,
    opts: { dryRun?: boolean; at?: Date | undefined; immediate?: boolean },
  ): Deployment {
    const next = validateDeployment(input, name, current);
    if (next.metadata.resourceVersion && next.metadata.resourceVersion !== current.metadata.resourceVersion) {
      throw conflict('deployments', name);
    }
    const specChanged = !semanticEqual(next.spec, current.spec);
    const annotationsChanged = !semanticEqual(next.metadata.annotations, current.metadata.annotations);
    const labelsChanged = !semanticEqual(next.metadata.labels, current.metadata.labels);
    if (!specChanged && !annotationsChanged && !labelsChanged) return clone(current);
    next.metadata.generation = (current.metadata.generation ?? 1) + (specChanged || annotationsChanged ? 1 : 0);
    if (opts.dryRun) {
      next.metadata.resourceVersion = current.metadata.resourceVersion;
      return next;
    }
    next.metadata.resourceVersion = this.nextResourceVersion();
    const key = this.key(current.metadata.namespace, name);
    this.deployments.set(key, next);
    this.emit('deployments', 'MODIFIED', next);
    const answer = clone(next);
    this.sync(key, { at: opts.at, immediate: opts.immediate });
    return answer;
  }

  private scaleOf(d: Deployment): unknown {
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: d.metadata.name,
        namespace: d.metadata.namespace,
        uid: d.metadata.uid,
        resourceVersion: d.metadata.resourceVersion,
        creationTimestamp: d.metadata.creationTimestamp,
      },
      spec: { replicas: d.spec.replicas },
      status: { replicas: d.status.replicas ?? 0, selector: formatSelector(d.spec.selector) },
    };
  }

  // ----- the deployment controller --------------------------------------------------

  private ownedReplicaSets(d: Deployment): ReplicaSet[] {
    return [...this.replicaSets.values()].filter(
      (rs) =>
        rs.metadata.namespace === d.metadata.namespace &&
        (rs.metadata.ownerReferences ?? []).some((o) => o.uid === d.metadata.uid),
    );
  }

  private podsOf(rs: ReplicaSet): Pod[] {
    return [...this.podStore.values()]
      .filter((p) => (p.metadata.ownerReferences ?? []).some((o) => o.uid === rs.metadata.uid))
      .sort((a, b) => a.metadata.creationTimestamp.localeCompare(b.metadata.creationTimestamp));
  }

  private sync(key: string, opts: { at?: Date | undefined; immediate?: boolean | undefined } = {}): void {
    const d = this.deployments.get(key);
    if (!d) return;
    const at = opts.at ?? this.clock();
    const owned = this.ownedReplicaSets(d);
    let newRS = owned.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    const progressing = d.status.conditions?.find((c) => c.type === 'Progressing');

    if (d.spec.paused) {
      // A paused deployment scales but never rolls out.
      const pending = this.rollouts.get(key);
      if (pending) {
        clearTimeout(pending.timer);
        this.rollouts.delete(key);
      }
      const active = newRS ?? [...owned].sort((a, b) => revisionOf(b) - revisionOf(a))[0];
      if (active && owned.every((rs) => rs === active || rs.spec.replicas === 0)) {
        this.scaleReplicaSet(active, d.spec.replicas, at);
      }
      setCondition(d.status, 'Progressing', 'Unknown', 'DeploymentPaused', 'Deployment is paused', at);
      this.refreshStatus(d, at);
      return;
    }
    if (progressing?.reason === 'DeploymentPaused') {
      setCondition(d.status, 'Progressing', 'Unknown', 'DeploymentResumed', 'Deployment is resumed', at);
    }

    const oldRSs = owned.filter((rs) => rs !== newRS);
    const newRevision = Math.max(0, ...oldRSs.map(revisionOf)) + 1;
    let started = false;
    if (!newRS) {
      newRS = this.createReplicaSet(d, newRevision, at);
      started = true;
      setCondition(d.status, 'Progressing', 'True', 'NewReplicaSetCreated', `Created new replica set "${newRS.metadata.name}"`, at);
    } else if (revisionOf(newRS) < newRevision) {
      // An old template is back (kubectl rollout undo): its ReplicaSet becomes the newest revision.
      const annotations = { ...newRS.metadata.annotations };
      const oldRevision = annotations[REVISION];
      annotations[REVISION] = String(newRevision);
      if (oldRevision) {
        annotations[REVISION_HISTORY] = annotations[REVISION_HISTORY]
          ? `${annotations[REVISION_HISTORY]},${oldRevision}`
          : oldRevision;
      }
      newRS.metadata.annotations = annotations;
      started = true;
      setCondition(d.status, 'Progressing', 'True', 'FoundNewReplicaSet', `Found new replica set "${newRS.metadata.name}"`, at);
    }
    const rsAnnotations = { ...newRS.metadata.annotations };
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (!ANNOTATIONS_NOT_COPIED.has(k)) rsAnnotations[k] = v;
    }
    newRS.metadata.annotations = rsAnnotations;
    this.touch('replicasets', newRS);
    d.metadata.annotations = { ...d.metadata.annotations, [REVISION]: String(revisionOf(newRS)) };

    const desired = d.spec.replicas;
    const failedUid = this.failedRollouts.get(key);
    if (failedUid !== undefined && failedUid !== newRS.metadata.uid) this.failedRollouts.delete(key);
    const pending = this.rollouts.get(key);
    if (pending && pending.rsUid !== newRS.metadata.uid) {
      clearTimeout(pending.timer);
      this.rollouts.delete(key);
    }
    const oldActive = oldRSs.some((rs) => rs.spec.replicas > 0 || this.podsOf(rs).length > 0);

    if (this.failedRollouts.has(key) || this.rollouts.has(key)) {
      // Stalled, or in progress: the timer finishes it with the replicas wanted by then.
    } else if ((started || oldActive) && desired > 0 && !opts.immediate && (this.rolloutDelayMs > 0 || this.failNext)) {
      const fail = this.failNext;
      this.failNext = false;
      const surge = Math.max(1, Math.min(desired, maxSurge(d)));
      // Pods created from here on start as ContainerCreating; a reused ReplicaSet's running pods stay up.
      this.rsPodState.set(newRS.metadata.uid, 'pending');
      this.scaleReplicaSet(newRS, Math.max(surge, this.podsOf(newRS).length), at);
      this.setReplicaAnnotations(d, newRS);
      setCondition(d.status, 'Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRS.metadata.name}" is progressing.`, at);
      if (fail && this.rolloutDelayMs === 0) {
        this.failRollout(key, d, newRS, at);
      } else {
        const rsUid = newRS.metadata.uid;
        const timer = setTimeout(() => this.finishRollout(key, rsUid), this.rolloutDelayMs);
        timer.unref();
        this.rollouts.set(key, { rsUid, fail, timer });
      }
    } else {
      this.completeRollout(d, newRS, oldRSs, at);
    }
    this.refreshStatus(d, at);
  }

  private finishRollout(key: string, rsUid: string): void {
    const pending = this.rollouts.get(key);
    this.rollouts.delete(key);
    const d = this.deployments.get(key);
    if (!d || !pending || d.spec.paused) return;
    const owned = this.ownedReplicaSets(d);
    const newRS = owned.find((rs) => rs.metadata.uid === rsUid);
    if (!newRS || !equalIgnoreHash(newRS.spec.template, d.spec.template)) return;
    const at = this.clock();
    if (pending.fail) {
      this.failRollout(key, d, newRS, at);
    } else {
      this.completeRollout(
        d,
        newRS,
        owned.filter((rs) => rs !== newRS),
        at,
      );
    }
    this.refreshStatus(d, at);
  }

  private completeRollout(d: Deployment, newRS: ReplicaSet, oldRSs: ReplicaSet[], at: Date): void {
    for (const rs of oldRSs) {
      if (rs.spec.replicas > 0 || this.podsOf(rs).length > 0) this.scaleReplicaSet(rs, 0, at);
    }
    this.rsPodState.set(newRS.metadata.uid, 'running');
    this.setPodState(newRS, 'running', at);
    this.scaleReplicaSet(newRS, d.spec.replicas, at);
    this.setReplicaAnnotations(d, newRS);
    setCondition(d.status, 'Progressing', 'True', 'NewReplicaSetAvailable', `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`, at);
    // Keep revisionHistoryLimit old ReplicaSets, as the controller's cleanup does.
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = oldRSs.filter((rs) => rs.spec.replicas === 0).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.replicaSets.delete(this.key(rs.metadata.namespace, rs.metadata.name));
      this.rsPodState.delete(rs.metadata.uid);
      this.emit('replicasets', 'DELETED', rs);
    }
  }

  private failRollout(key: string, d: Deployment, newRS: ReplicaSet, at: Date): void {
    this.rsPodState.set(newRS.metadata.uid, 'crashloop');
    this.setPodState(newRS, 'crashloop', at);
    this.failedRollouts.set(key, newRS.metadata.uid);
    setCondition(d.status, 'Progressing', 'False', 'ProgressDeadlineExceeded', `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`, at);
  }

  private setReplicaAnnotations(d: Deployment, rs: ReplicaSet): void {
    rs.metadata.annotations = {
      ...rs.metadata.annotations,
      [DESIRED_REPLICAS]: String(d.spec.replicas),
      [MAX_REPLICAS]: String(d.spec.replicas + maxSurge(d)),
    };
  }

  private createReplicaSet(d: Deployment, revision: number, at: Date): ReplicaSet {
    let collisions = d.status.collisionCount ?? 0;
    let hash = podTemplateHash(d.spec.template, collisions);
    while (this.replicaSets.has(this.key(d.metadata.namespace, `${d.metadata.name}-${hash}`))) {
      collisions += 1;
      hash = podTemplateHash(d.spec.template, collisions);
    }
    if (collisions > 0) d.status.collisionCount = collisions;
    const template = clone(d.spec.template);
    template.metadata.labels = { ...template.metadata.labels, [HASH_LABEL]: hash };
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata.name}-${hash}`,
        namespace: d.metadata.namespace,
        uid: randomUUID(),
        resourceVersion: this.nextResourceVersion(),
        generation: 1,
        creationTimestamp: timestamp(at),
        labels: { ...template.metadata.labels },
        annotations: {
          [DESIRED_REPLICAS]: String(d.spec.replicas),
          [MAX_REPLICAS]: String(d.spec.replicas + maxSurge(d)),
          [REVISION]: String(revision),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata.name,
            uid: d.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        replicas: 0,
        selector: { ...clone(d.spec.selector), matchLabels: { ...d.spec.selector.matchLabels, [HASH_LABEL]: hash } },
        template,
      },
      status: { replicas: 0, observedGeneration: 1 },
    };
    this.replicaSets.set(this.key(rs.metadata.namespace, rs.metadata.name), rs);
    this.emit('replicasets', 'ADDED', rs);
    return rs;
  }

  /** The ReplicaSet controller: bring the pod count to spec.replicas. */
  private scaleReplicaSet(rs: ReplicaSet, replicas: number, at: Date): void {
    if (rs.spec.replicas !== replicas) {
      rs.spec.replicas = replicas;
      rs.metadata.generation = (rs.metadata.generation ?? 1) + 1;
    }
    this.reconcilePods(rs, at);
  }

  private reconcilePods(rs: ReplicaSet, at: Date): void {
    const pods = this.podsOf(rs);
    const state = this.rsPodState.get(rs.metadata.uid) ?? 'running';
    for (let i = pods.length; i < rs.spec.replicas; i++) pods.push(this.createPod(rs, state, at));
    if (pods.length > rs.spec.replicas) {
      // Like the ReplicaSet controller: unready pods go first, then the youngest.
      const victims = [...pods]
        .sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp))
        .slice(0, pods.length - rs.spec.replicas);
      for (const pod of victims) this.removePod(pod);
    }
    const remaining = this.podsOf(rs);
    const ready = remaining.filter(isReady).length;
    rs.status = {
      replicas: remaining.length,
      ...(remaining.length ? { fullyLabeledReplicas: remaining.length } : {}),
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
      observedGeneration: rs.metadata.generation ?? 1,
    };
    this.touch('replicasets', rs);
  }

  private refreshStatus(d: Deployment, at: Date): void {
    const owned = this.ownedReplicaSets(d);
    const newRS = owned.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    const allPods = owned.flatMap((rs) => this.podsOf(rs));
    const updated = newRS ? this.podsOf(newRS).length : 0;
    const ready = allPods.filter(isReady).length;
    const total = owned.reduce((sum, rs) => sum + rs.spec.replicas, 0);
    const unavailable = Math.max(0, total - ready);
    const conditions = d.status.conditions ?? [];
    const status: DeploymentStatus = {
      observedGeneration: d.metadata.generation ?? 1,
      ...(allPods.length ? { replicas: allPods.length } : {}),
      ...(updated ? { updatedReplicas: updated } : {}),
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
      ...(unavailable ? { unavailableReplicas: unavailable } : {}),
      conditions,
      ...(d.status.collisionCount ? { collisionCount: d.status.collisionCount } : {}),
    };
    if (ready >= d.spec.replicas - maxUnavailable(d)) {
      setCondition(status, 'Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', at);
    } else {
      setCondition(status, 'Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.', at);
    }
    d.status = status;
    this.touch('deployments', d);
  }

  /** After a pod changed or went away outside the controller: recreate and recount. */
  private refreshOwners(pod: Pod): void {
    const rs = [...this.replicaSets.values()].find((r) => (pod.metadata.ownerReferences ?? []).some((o) => o.uid === r.metadata.uid));
    if (!rs) return;
    const at = this.clock();
    this.reconcilePods(rs, at);
    const d = [...this.deployments.values()].find((dep) => (rs.metadata.ownerReferences ?? []).some((o) => o.uid === dep.metadata.uid));
    if (d) this.refreshStatus(d, at);
  }

  // ----- pods ------------------------------------------------------------------------

  private createPod(rs: ReplicaSet, state: PodState, at: Date): Pod {
    let name: string;
    do name = `${rs.metadata.name}-${randomSuffix(5)}`;
    while (this.podStore.has(this.key(rs.metadata.namespace, name)));
    const n = this.podCounter++;
    const node = NODES[n % NODES.length] ?? 'node-1';
    const ip = `10.244.${(n % NODES.length) + 1}.${(n % 250) + 3}`;
    const template = rs.spec.template;
    const pod: Pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name,
        generateName: `${rs.metadata.name}-`,
        namespace: rs.metadata.namespace,
        uid: randomUUID(),
        resourceVersion: this.nextResourceVersion(),
        creationTimestamp: timestamp(at),
        labels: { ...template.metadata.labels },
        ...(template.metadata.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata.name,
            uid: rs.metadata.uid,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: {
        ...clone(template.spec),
        nodeName: node,
        serviceAccountName: 'default',
        serviceAccount: 'default',
        enableServiceLinks: true,
        priority: 0,
      },
      status: {
        phase: 'Pending',
        hostIP: `10.0.${(n % NODES.length) + 1}.${17 + (n % NODES.length) * 12}`,
        podIP: ip,
        podIPs: [{ ip }],
        startTime: timestamp(at),
        qosClass: 'BestEffort',
      },
    };
    applyPodState(pod, state, at);
    this.podStore.set(this.key(pod.metadata.namespace, name), pod);
    this.emit('pods', 'ADDED', pod);
    return pod;
  }

  private setPodState(rs: ReplicaSet, state: PodState, at: Date): void {
    for (const pod of this.podsOf(rs)) {
      if (podStateOf(pod) !== state) {
        applyPodState(pod, state, at);
        this.touch('pods', pod);
      }
    }
  }

  private removePod(pod: Pod): void {
    const key = this.key(pod.metadata.namespace, pod.metadata.name);
    this.podStore.delete(key);
    this.logs.delete(key);
    this.emit('pods', 'DELETED', pod);
  }

  private deletePod(namespace: string, name: string, dryRun: boolean): Pod {
    const pod = this.getOrThrow('pods', namespace, name) as Pod;
    const answer = clone(pod);
    answer.metadata.deletionTimestamp = timestamp(new Date(this.clock().getTime() + 30_000));
    answer.metadata.deletionGracePeriodSeconds = 30;
    if (dryRun) return answer;
    this.removePod(pod);
    this.refreshOwners(pod);
    return answer;
  }

  private containerOf(pod: Pod, requested: string | null): string {
    const names = pod.spec.containers.map((c) => c.name);
    if (requested) {
      if (!names.includes(requested)) {
        throw badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
      }
      return requested;
    }
    if (names.length !== 1) {
      throw badRequest(`a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`);
    }
    return names[0] as string;
  }

  private podLog(namespace: string, name: string, q: URLSearchParams): string {
    const pod = this.getOrThrow('pods', namespace, name) as Pod;
    const container = this.containerOf(pod, q.get('container'));
    const status = pod.status.containerStatuses?.find((c) => c.name === container);
    const waiting = status?.state.waiting;
    if (waiting && waiting.reason === 'ContainerCreating') {
      throw badRequest(`container "${container}" in pod "${name}" is waiting to start: ContainerCreating`);
    }
    if (q.get('previous') === 'true' && (status?.restartCount ?? 0) === 0) {
      throw badRequest(`previous terminated container "${container}" in pod "${name}" not found`);
    }
    const sinceSeconds = q.get('sinceSeconds');
    const sinceTime = q.get('sinceTime');
    if (sinceSeconds && sinceTime) throw badRequest('at most one of `sinceTime` or `sinceSeconds` may be specified');
    let lines = this.logs.get(this.key(namespace, name)) ?? [];
    if (sinceSeconds) {
      const seconds = Number(sinceSeconds);
      if (!Number.isFinite(seconds) || seconds < 1) throw invalidLogOption('sinceSeconds', sinceSeconds, 'must be greater than 0');
      const from = this.clock().getTime() - seconds * 1000;
      lines = lines.filter((l) => l.at.getTime() >= from);
    }
    if (sinceTime) {
      const from = Date.parse(sinceTime);
      if (Number.isNaN(from)) throw badRequest(`parsing time "${sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse`);
      lines = lines.filter((l) => l.at.getTime() >= from);
    }
    const tail = q.get('tailLines');
    if (tail !== null) {
      const n = Number(tail);
      if (!Number.isInteger(n) || n < 0) throw invalidLogOption('tailLines', tail, 'must be greater than or equal to 0');
      lines = n === 0 ? [] : lines.slice(-n);
    }
    const stamp = q.get('timestamps') === 'true';
    let text = lines.map((l) => `${stamp ? `${l.at.toISOString()} ` : ''}${l.text}\n`).join('');
    const limitBytes = q.get('limitBytes');
    if (limitBytes) text = Buffer.from(text).subarray(0, Number(limitBytes)).toString('utf8');
    return text;
  }

  // ----- exec over WebSocket -----------------------------------------------------------

  private async onUpgrade(req: IncomingMessage, socket: Duplex): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const record = this.record(req, url, Buffer.alloc(0));
    const answer = (code: number, error: ApiError): void => {
      record.status = code;
      rawHttpResponse(socket, code, JSON.stringify(error.toStatus()));
    };
    if (this.latencyMs > 0) await sleep(this.latencyMs);
    if (this.fault === 'hang') return;
    if (this.fault === 'error') return answer(500, new ApiError(500, 'InternalError', 'Internal error occurred: etcdserver: request timed out'));
    if (this.fault === 'garbage') {
      record.status = 200;
      rawHttpResponse(socket, 200, GARBAGE);
      return;
    }
    if (!this.authorized(req)) return answer(401, new ApiError(401, 'Unauthorized', 'Unauthorized'));
    const m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec\/?$/.exec(url.pathname);
    if (!m?.[1] || !m[2]) return answer(404, routeNotFound());
    const namespace = decodeURIComponent(m[1]);
    const podName = decodeURIComponent(m[2]);
    const pod = this.podStore.get(this.key(namespace, podName));
    if (!pod) return answer(404, notFound('pods', podName));
    let container: string;
    try {
      container = this.containerOf(pod, url.searchParams.get('container'));
    } catch (error) {
      return answer(400, error as ApiError);
    }
    const command = url.searchParams.getAll('command');
    if (command.length === 0) return answer(400, badRequest('you must specify at least 1 command'));
    if (!pod.status.containerStatuses?.find((c) => c.name === container)?.state.running) {
      return answer(400, badRequest(`unable to upgrade connection: container not found ("${container}")`));
    }
    const key = req.headers['sec-websocket-key'];
    if (typeof key !== 'string') return answer(400, badRequest('Upgrade request required'));
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const protocol = EXEC_PROTOCOLS.find((p) => offered.includes(p));
    const accept = createHash('sha1').update(key + WS_GUID).digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n${
        protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : ''
      }\r\n`,
    );
    record.status = 101;

    let closing = false;
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (let frame = wsParse(pending); frame; frame = wsParse(pending)) {
        pending = pending.subarray(frame.size);
        if (frame.opcode === 0x8) {
          if (!closing) socket.write(wsFrame(0x8, Buffer.from([0x03, 0xe8])));
          closing = true;
          socket.end();
          return;
        }
        if (frame.opcode === 0x9) socket.write(wsFrame(0xa, frame.payload));
      }
    });

    let result: ExecResult;
    let failure: Record<string, unknown> | undefined;
    try {
      result = await this.execHandler(podName, container, command);
    } catch (error) {
      result = { stdout: '', exitCode: -1 };
      failure = {
        metadata: {},
        status: 'Failure',
        message: `Internal error occurred: error executing command in container: ${String(error)}`,
        reason: 'InternalError',
        code: 500,
      };
    }
    if (socket.destroyed || closing) return;
    const channel = (n: number, data: string | Buffer): Buffer => wsFrame(0x2, Buffer.concat([Buffer.from([n]), Buffer.from(data)]));
    if (url.searchParams.get('stdout') !== 'false' && result.stdout) socket.write(channel(1, result.stdout));
    if (url.searchParams.get('stderr') !== 'false' && result.stderr) socket.write(channel(2, result.stderr));
    const status =
      failure ??
      (result.exitCode === 0
        ? { metadata: {}, status: 'Success' }
        : {
            metadata: {},
            status: 'Failure',
            message: `command terminated with non-zero exit code: error executing command [${command.join(' ')}], exit code ${result.exitCode}`,
            reason: 'NonZeroExitCode',
            details: { causes: [{ reason: 'ExitCode', message: String(result.exitCode) }] },
          });
    const v4 = protocol === 'v4.channel.k8s.io' || protocol === 'v5.channel.k8s.io';
    // Before v4 the error channel carried plain text, and nothing on success.
    if (v4) socket.write(channel(3, JSON.stringify(status)));
    else if (status.status !== 'Success') socket.write(channel(3, String(status.message)));
    socket.write(wsFrame(0x8, Buffer.from([0x03, 0xe8])));
    closing = true;
    setTimeout(() => socket.destroy(), 2000).unref();
  }

  /** Answers the runbook's commands believably; anything else is "not found". */
  readonly defaultExecHandler: ExecHandler = (pod, _container, command) => {
    const [program = '', ...args] = command;
    const base = program.split('/').pop() ?? program;
    if ((base === 'sh' || base === 'bash') && args[0] === '-c' && args[1] !== undefined) {
      return this.defaultExecHandler(pod, _container, args[1].trim().split(/\s+/));
    }
    switch (base) {
      case 'sh':
      case 'bash':
      case 'true':
        return { stdout: '', exitCode: 0 };
      case 'false':
        return { stdout: '', exitCode: 1 };
      case 'echo':
        return { stdout: `${args.join(' ')}\n`, exitCode: 0 };
      case 'hostname':
        return { stdout: `${pod}\n`, exitCode: 0 };
      case 'df': {
        const paths = args.filter((a) => !a.startsWith('-'));
        const path = paths[0] ?? '/var/log';
        if (path !== '/var/log' && path !== '/') {
          return { stdout: '', stderr: `df: ${path}: No such file or directory\n`, exitCode: 1 };
        }
        const usage = path === '/' ? 41 : (this.logVolumeUsage.get(pod) ?? this.defaultLogVolumeUsage);
        return { stdout: dfTable(path, usage, args.includes('-h')), exitCode: 0 };
      }
      case 'logrotate': {
        const config = args.filter((a) => !a.startsWith('-'))[0];
        if (!config) return { stdout: '', stderr: 'logrotate 3.21.0 - Copyright (C) 1995-2001 Red Hat, Inc.\nUsage: logrotate [OPTION...] <configfile>\n', exitCode: 1 };
        if (config !== '/etc/logrotate.conf') {
          return { stdout: '', stderr: `error: cannot stat ${config}: No such file or directory\n`, exitCode: 1 };
        }
        if (args.includes('-f') || args.includes('--force')) {
          const before = this.logVolumeUsage.get(pod) ?? this.defaultLogVolumeUsage;
          this.logVolumeUsage.set(pod, Math.min(before, 31));
        }
        return { stdout: '', exitCode: 0 };
      }
      default:
        return {
          stdout: '',
          stderr: `OCI runtime exec failed: exec failed: unable to start container process: exec: "${program}": executable file not found in $PATH: unknown\n`,
          exitCode: 127,
        };
    }
  };
}

// ---------------------------------------------------------------------------------------
// Pod status helpers
// ---------------------------------------------------------------------------------------

function isReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

function podStateOf(pod: Pod): PodState {
  const first = pod.status.containerStatuses?.[0];
  if (first?.state.waiting?.reason === 'CrashLoopBackOff') return 'crashloop';
  if (pod.status.phase === 'Pending') return 'pending';
  return 'running';
}

function applyPodState(pod: Pod, state: PodState, at: Date): void {
  const ts = timestamp(at);
  const ready = state === 'running';
  const previous = new Map((pod.status.containerStatuses ?? []).map((c) => [c.name, c]));
  const condition = (type: string, ok: boolean): PodCondition => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: ts,
    ...(ok ? {} : { reason: 'ContainersNotReady', message: `containers with unready status: [${pod.spec.containers.map((c) => c.name).join(' ')}]` }),
  });
  pod.status.phase = state === 'pending' ? 'Pending' : 'Running';
  pod.status.conditions = [
    { type: 'PodReadyToStartContainers', status: state === 'pending' ? 'False' : 'True', lastProbeTime: null, lastTransitionTime: ts },
    { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: pod.metadata.creationTimestamp },
    condition('Ready', ready),
    condition('ContainersReady', ready),
    { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: pod.metadata.creationTimestamp },
  ];
  pod.status.containerStatuses = pod.spec.containers.map((c): ContainerStatus => {
    const image = c.image;
    const imageID = `${image.split(':')[0]}@sha256:${sha256(image)}`;
    const containerID = `containerd://${sha256(`${pod.metadata.uid}/${c.name}/${ts}`)}`;
    const restarts = previous.get(c.name)?.restartCount ?? 0;
    if (state === 'pending') {
      return { name: c.name, image, imageID: '', ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } }, lastState: {} };
    }
    if (state === 'crashloop') {
      const restartCount = Math.max(restarts, 5);
      return {
        name: c.name,
        image,
        imageID,
        containerID,
        ready: false,
        started: false,
        restartCount,
        state: {
          waiting: {
            reason: 'CrashLoopBackOff',
            message: `back-off 2m40s restarting failed container=${c.name} pod=${pod.metadata.name}_${pod.metadata.namespace}(${pod.metadata.uid})`,
          },
        },
        lastState: { terminated: { exitCode: 1, reason: 'Error', startedAt: ts, finishedAt: ts, containerID } },
      };
    }
    return {
      name: c.name,
      image,
      imageID,
      containerID,
      ready: true,
      started: true,
      restartCount: restarts,
      state: { running: { startedAt: timestamp(new Date(at.getTime() + 2000)) } },
      lastState: {},
    };
  });
}

function invalidLogOption(field: string, value: string, message: string): ApiError {
  return new ApiError(422, 'Invalid', `PodLogOptions "" is invalid: ${field}: Invalid value: ${value}: ${message}`, {
    kind: 'PodLogOptions',
    causes: [{ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${message}` }],
  });
}

function dfTable(mount: string, usagePercent: number, human: boolean): string {
  const sizeGiB = mount === '/' ? 80 : 20;
  const used = (sizeGiB * usagePercent) / 100;
  const avail = sizeGiB - used;
  const fmt = (gib: number): string =>
    human ? (gib >= 10 ? `${Math.ceil(gib)}G` : `${(Math.ceil(gib * 10) / 10).toFixed(1)}G`) : String(Math.round(gib * 1024 * 1024));
  const device = mount === '/' ? '/dev/nvme0n1p1' : '/dev/nvme1n1';
  const header = human ? 'Filesystem      Size  Used Avail Use% Mounted on' : 'Filesystem     1K-blocks     Used Available Use% Mounted on';
  const widths = human ? [14, 5, 5, 5, 4] : [14, 10, 8, 9, 4];
  const cells = [device, fmt(sizeGiB), fmt(used), fmt(avail), `${usagePercent}%`];
  const row = cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[0] ?? 14) : cell.padStart(widths[i] ?? 5))).join(' ');
  return `${header}\n${row} ${mount}\n`;
}

// ---------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// The DMP platform's believable state
// ---------------------------------------------------------------------------------------

export interface SeedSummary {
  /** "auth error: invalid JWT signature" lines in the api pods' logs in the last 10 minutes. */
  authErrorsLast10m: number;
  /** ...and in the last hour. */
  authErrorsLastHour: number;
  /** "webhook delivery failed: 401 from github" lines in the last hour. */
  webhookFailuresLastHour: number;
}

let jwtKeys: { privateKey: string; publicKey: string } | undefined;

function jwtKeyPair(): { privateKey: string; publicKey: string } {
  jwtKeys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return jwtKeys;
}

/** Deterministic pseudo-random numbers, so the seeded logs read the same every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Builds the DMP platform: `api` (3 replicas, revisions 1.2.1 → 1.2.2 → 1.2.3),
 * `scan-workers` (3 replicas), secrets `jwt-keys` and `webhook-secrets`, and api logs for
 * the last hour with a few JWT signature and GitHub webhook failures among normal requests.
 */
export function seedPlatform(fake: KubeFake, now: Date = fake.now()): SeedSummary {
  const t = now.getTime();
  const minutes = (m: number): Date => new Date(t - m * 60_000);
  const days = (d: number): Date => new Date(t - d * 86_400_000);
  const apiContainer = (image: string): { name: string; [field: string]: unknown } => ({
    name: 'api',
    image,
    ports: [{ name: 'http', containerPort: 8080 }],
    env: [
      { name: 'DMP_ENV', value: 'production' },
      { name: 'LOG_LEVEL', value: 'info' },
      { name: 'JWT_KEYS_DIR', value: '/etc/dmp/jwt' },
    ],
    resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '1Gi' } },
    readinessProbe: { httpGet: { path: '/health', port: 8080, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 1, successThreshold: 1, failureThreshold: 3 },
  });

  fake.addDeployment({
    name: 'api',
    labels: { app: 'api' },
    replicas: 3,
    image: 'ghcr.io/dmp/api:1.2.1',
    containers: [apiContainer('ghcr.io/dmp/api:1.2.1')],
    annotations: { 'kubernetes.io/change-cause': 'release 1.2.1: graph query pagination (deploy #412)' },
    createdAt: days(41),
  });
  const release = (version: string, cause: string, at: Date): void => {
    fake.updateDeployment(
      'api',
      (d) => {
        const container = d.spec.template.spec.containers[0];
        if (container) container.image = `ghcr.io/dmp/api:${version}`;
        d.metadata.annotations = { ...d.metadata.annotations, 'kubernetes.io/change-cause': cause };
      },
      { at },
    );
  };
  release('1.2.2', 'release 1.2.2: webhook retry backoff (deploy #431)', days(9));
  release('1.2.3', 'release 1.2.3: JWT key rotation support (deploy #447)', minutes(26 * 60));

  fake.addDeployment({
    name: 'scan-workers',
    labels: { app: 'scan-workers' },
    replicas: 3,
    image: 'ghcr.io/dmp/scan-worker:1.2.3',
    containers: [
      {
        name: 'scan-worker',
        image: 'ghcr.io/dmp/scan-worker:1.2.3',
        env: [
          { name: 'DMP_ENV', value: 'production' },
          { name: 'WORKER_CONCURRENCY', value: '4' },
        ],
        resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { memory: '2Gi' } },
      },
    ],
    annotations: { 'kubernetes.io/change-cause': 'release 1.2.3 (deploy #447)' },
    createdAt: days(41),
  });

  const keys = jwtKeyPair();
  fake.addSecret({
    name: 'jwt-keys',
    data: { 'private.pem': keys.privateKey, 'public.pem': keys.publicKey },
    labels: { app: 'api' },
    creationTimestamp: days(88),
  });
  fake.addSecret({
    name: 'webhook-secrets',
    data: { github: createHash('sha256').update(`dmp-github-webhook-${fake.namespace}`).digest('hex').slice(0, 40) },
    labels: { app: 'api' },
    creationTimestamp: days(120),
  });

  // Logs: normal traffic for the last 65 minutes, plus the incidents the runbook greps for.
  const random = mulberry32(20240611);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const tenants = ['acme-corp', 'globex', 'initech', 'umbrella', 'hooli', 'stark-industries'];
  const routes = [
    'GET /api/v1/repositories',
    'GET /api/v1/graph/dependencies',
    'GET /api/v1/scans',
    'POST /api/v1/scans',
    'GET /api/v1/vulnerabilities',
    'GET /health',
  ];
  const repos = ['acme/payments-service', 'globex/web', 'initech/tps-reports', 'hooli/nucleus'];
  const apiPods = fake.pods('api').map((p) => p.metadata.name);
  const byPod = new Map<string, LogLine[]>(apiPods.map((name) => [name, []]));
  const line = (at: Date, level: string, text: string): LogLine => ({
    at,
    text: `${at.toISOString()} ${level.padEnd(5)} ${text}`,
  });
  const requestId = (): string => `req_${Math.floor(random() * 0xffffffff).toString(16).padStart(8, '0')}`;
  for (const podName of apiPods) {
    const lines = byPod.get(podName) ?? [];
    for (let ms = 65 * 60_000; ms > 0; ms -= 15_000 + Math.floor(random() * 30_000)) {
      const at = new Date(t - ms);
      const status = random() < 0.96 ? 200 : 404;
      lines.push(line(at, 'INFO', `[http] ${pick(routes)} ${status} ${5 + Math.floor(random() * 180)}ms tenant=${pick(tenants)} request_id=${requestId()}`));
    }
    byPod.set(podName, lines);
  }
  const podAt = (i: number): LogLine[] => byPod.get(apiPods[i % apiPods.length] ?? '') ?? [];
  const authErrorMinutes = [2, 4.5, 7, 8.5, 23, 41];
  authErrorMinutes.forEach((m, i) => {
    podAt(i).push(
      line(minutes(m), 'ERROR', `[auth] auth error: invalid JWT signature kid=dmp-2024-11 path=/api/v1/graph/dependencies tenant=${pick(tenants)} request_id=${requestId()}`),
    );
  });
  const webhookMinutes = [3, 12, 19, 34, 52];
  webhookMinutes.forEach((m, i) => {
    podAt(i + 1).push(
      line(minutes(m), 'WARN', `[webhooks] webhook delivery failed: 401 from github delivery=${randomUUID()} repo=${pick(repos)} attempt=${1 + (i % 3)}`),
    );
  });
  for (const [podName, lines] of byPod) fake.setPodLogs(podName, lines);

  return {
    authErrorsLast10m: authErrorMinutes.filter((m) => m < 10).length,
    authErrorsLastHour: authErrorMinutes.filter((m) => m < 60).length,
    webhookFailuresLastHour: webhookMinutes.filter((m) => m < 60).length,
  };
}
