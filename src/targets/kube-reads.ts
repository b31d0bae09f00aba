// Read-only Kubernetes reads that several procedures (and remediations) share: an app's pods,
// their recent logs, and a secret's metadata. A secret's values never reach the bot at all.
import type { ConfigurationOptions, V1ManagedFieldsEntry, V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { TargetError } from '../errors.js';
import type { Kube, KubeApis } from './kube.js';

/** The platform's deployments and their `app` labels (interface.md). */
export const PLATFORM_APPS = ['api', 'scan-workers'] as const;

/** A label value or object name as Kubernetes accepts it (RFC 1123 label, 63 characters). */
export const K8S_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The client's ApiException carries the whole response (headers included) in its message;
 * this keeps the one line a person needs: what was asked, the status and the API's reason.
 */
export function kubeApiError(what: string, err: unknown): unknown {
  const e = err as { code?: unknown; body?: unknown };
  if (typeof e?.code !== 'number' || e.code < 400) return err;
  let reason = '';
  try {
    const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as
      | { message?: string; reason?: string }
      | undefined;
    reason = body?.message ?? body?.reason ?? '';
  } catch {
    reason = '';
  }
  const hint = e.code === 401 || e.code === 403 ? ' (the bot’s service account may lack the permission)' : '';
  return new TargetError('kubernetes', 'failed', `${what} answered ${e.code}${reason ? `: ${reason}` : ''}${hint}`);
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown })?.code === 404;
}

/** Runs one API call and turns its HTTP errors into a readable TargetError. */
export async function kubeRead<T>(
  kube: Kube,
  what: string,
  fn: (apis: KubeApis) => Promise<T>,
  timeoutMs?: number,
): Promise<T> {
  return kube.run(async (apis) => {
    try {
      return await fn(apis);
    } catch (err) {
      throw kubeApiError(what, err);
    }
  }, timeoutMs);
}

export interface PodSummary {
  name: string;
  app: string;
  phase: string;
  ready: boolean;
  /** "1/1": ready containers of all containers. */
  readyContainers: string;
  restarts: number;
  created?: Date;
  node?: string;
  /** Why a container is not running: CrashLoopBackOff, ImagePullBackOff, OOMKilled… */
  reason?: string;
  containers: string[];
  /** The container `kubectl logs` picks by default. */
  defaultContainer?: string;
}

export function summarizePod(pod: V1Pod, app: string): PodSummary {
  const statuses = pod.status?.containerStatuses ?? [];
  const containers = (pod.spec?.containers ?? []).map((c) => c.name);
  const readyCount = statuses.filter((s) => s.ready).length;
  const total = containers.length || statuses.length;
  const waiting = statuses.map((s) => s.state?.waiting?.reason ?? s.state?.terminated?.reason).find(Boolean);
  const lastTerminated = statuses.map((s) => s.lastState?.terminated?.reason).find(Boolean);
  const deleting = pod.metadata?.deletionTimestamp ? 'Terminating' : undefined;
  const readyCondition = pod.status?.conditions?.find((c) => c.type === 'Ready');
  return {
    name: pod.metadata?.name ?? '(unnamed)',
    app,
    phase: deleting ?? pod.status?.phase ?? 'Unknown',
    ready: readyCondition ? readyCondition.status === 'True' : total > 0 && readyCount === total,
    readyContainers: `${readyCount}/${total}`,
    restarts: statuses.reduce((n, s) => n + (s.restartCount ?? 0), 0),
    created: pod.metadata?.creationTimestamp ? new Date(pod.metadata.creationTimestamp) : undefined,
    node: pod.spec?.nodeName,
    reason: waiting ?? (pod.status?.reason || undefined) ?? (lastTerminated ? `last: ${lastTerminated}` : undefined),
    containers,
    defaultContainer: pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? containers[0],
  };
}

/** `kubectl get pods -l app=<app>`, oldest first. */
export async function listAppPods(kube: Kube, app: string, timeoutMs?: number): Promise<PodSummary[]> {
  const list = await kubeRead(
    kube,
    `listing pods with app=${app}`,
    ({ core, namespace }) => core.listNamespacedPod({ namespace, labelSelector: `app=${app}` }),
    timeoutMs,
  );
  return list.items
    .map((p) => summarizePod(p, app))
    .sort((a, b) => (a.created?.getTime() ?? 0) - (b.created?.getTime() ?? 0) || a.name.localeCompare(b.name));
}

export interface PodLogs {
  pod: string;
  lines: string[];
  /** Set when this pod's log could not be read; the others still count. */
  error?: string;
}

export interface AppLogOptions {
  sinceSeconds: number;
  /** Bounds on what one pod may send, so a chatty pod cannot flood the bot. */
  tailLines?: number;
  limitBytes?: number;
  /** At most this many pods are read (the oldest first). */
  maxPods?: number;
  timeoutMs?: number;
}

export const LOG_TAIL_LINES = 5_000;
export const LOG_LIMIT_BYTES = 1_000_000;

/** `kubectl logs -l app=<app> --since=…`: each pod's recent lines, read in parallel. */
export async function readAppLogs(
  kube: Kube,
  app: string,
  opts: AppLogOptions,
): Promise<{ pods: PodSummary[]; logs: PodLogs[] }> {
  const pods = await listAppPods(kube, app, opts.timeoutMs);
  const chosen = pods.slice(0, opts.maxPods ?? 20);
  const logs = await Promise.all(
    chosen.map(async (p): Promise<PodLogs> => {
      try {
        const text = await kubeRead(
          kube,
          `reading the log of ${p.name}`,
          ({ core, namespace }) =>
            core.readNamespacedPodLog({
              name: p.name,
              namespace,
              container: p.containers.length > 1 ? p.defaultContainer : undefined,
              sinceSeconds: Math.max(1, Math.round(opts.sinceSeconds)),
              tailLines: opts.tailLines ?? LOG_TAIL_LINES,
              limitBytes: opts.limitBytes ?? LOG_LIMIT_BYTES,
            }),
          opts.timeoutMs,
        );
        // Redacted as read, from the first line on: a line never reaches a procedure, a log or Slack raw.
        return { pod: p.name, lines: kube.redactor.redactLines(splitLog(text)) };
      } catch (err) {
        return {
          pod: p.name,
          lines: [],
          error: err instanceof TargetError ? err.sentence() : String((err as Error)?.message ?? err),
        };
      }
    }),
  );
  return { pods, logs };
}

export function splitLog(text: unknown): string[] {
  if (typeof text !== 'string' || text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface SecretMetadata {
  name: string;
  exists: boolean;
  /** Names of the `data` entries only, from the fields the managers set (`f:data`). */
  keys: string[];
  created?: Date;
  /** The latest of managedFields times and rotation annotations; the creation time when none. */
  lastChanged?: Date;
  /** Which field manager (kubectl, a controller) made the last change. */
  changedBy?: string;
  /** Rotation annotations whose values are timestamps, by name. */
  rotationAnnotations: Record<string, string>;
}

// Annotations are not shown wholesale: kubectl's last-applied-configuration holds the data itself.
const ROTATION_ANNOTATION = /rotat|changed|updated|restartedat|renewed/i;
const NEVER_SHOWN = 'kubectl.kubernetes.io/last-applied-configuration';

/** The Accept that makes the API server send an object's metadata and nothing else. */
export const METADATA_ONLY = 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1';
/** The same for a list. */
export const METADATA_LIST_ONLY = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

/** Per-request client options that replace the generated Accept with `accept`. */
export function acceptOnly(lib: KubeApis['lib'], accept: string): ConfigurationOptions {
  const { Observable } = lib;
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setHeaderParam('Accept', accept);
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp) => new Observable(Promise.resolve(rsp)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** Data key names from managedFields: every manager's `f:data` (and `f:stringData`) entries. */
export function dataKeysOf(fields: V1ManagedFieldsEntry[] | undefined): string[] {
  const keys = new Set<string>();
  for (const f of fields ?? []) {
    const v1 = f.fieldsV1 as Record<string, unknown> | undefined;
    for (const section of ['f:data', 'f:stringData']) {
      const set = v1?.[section];
      if (!set || typeof set !== 'object') continue;
      for (const k of Object.keys(set)) if (k.startsWith('f:')) keys.add(k.slice(2));
    }
  }
  return [...keys].sort();
}

/**
 * `kubectl get secret <name>` without the values: whether it exists, its key names, when it
 * was created and last changed. Asked as PartialObjectMetadata, so the API server sends the
 * metadata alone and no value ever reaches the bot.
 */
export async function readSecretMetadata(kube: Kube, name: string, timeoutMs?: number): Promise<SecretMetadata> {
  const answer = await kube.run(async ({ core, namespace, lib }) => {
    try {
      // The generated client types the answer as V1Secret; asked this way it is PartialObjectMetadata.
      const got: { kind?: string; metadata?: V1ObjectMeta } = await core.readNamespacedSecret(
        { name, namespace },
        acceptOnly(lib, METADATA_ONLY),
      );
      return got;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw kubeApiError(`reading secret ${name}`, err);
    }
  }, timeoutMs);
  if (!answer) return { name, exists: false, keys: [], rotationAnnotations: {} };
  if (answer.kind !== 'PartialObjectMetadata')
    throw new TargetError(
      'kubernetes',
      'failed',
      `reading secret ${name} answered ${answer.kind ?? 'no kind'}, not its metadata`,
    );
  const meta = answer.metadata ?? {};
  const created = meta.creationTimestamp ? new Date(meta.creationTimestamp) : undefined;
  let lastChanged = created;
  let changedBy: string | undefined;
  for (const f of meta.managedFields ?? []) {
    if (!f.time) continue;
    const at = new Date(f.time);
    if (!lastChanged || at > lastChanged) {
      lastChanged = at;
      changedBy = f.manager;
    }
  }
  const rotationAnnotations: Record<string, string> = {};
  for (const [key, value] of Object.entries(meta.annotations ?? {})) {
    if (key === NEVER_SHOWN || !ROTATION_ANNOTATION.test(key)) continue;
    const at = new Date(value);
    if (Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(value)) continue;
    rotationAnnotations[key] = at.toISOString();
    if (!lastChanged || at > lastChanged) {
      lastChanged = at;
      changedBy = `annotation ${key}`;
    }
  }
  return {
    name,
    exists: true,
    keys: dataKeysOf(meta.managedFields),
    created,
    lastChanged,
    changedBy,
    rotationAnnotations,
  };
}

export interface LogMatch {
  pod: string;
  line: string;
}

export interface LogSearch {
  pods: number;
  /** Matching lines in pod order, each pod's in log order. */
  matches: LogMatch[];
  /** Pods whose log could not be read, with why. */
  errors: string[];
}

/** `kubectl logs -l app=<app> --since=… | grep <pattern>`. */
export async function searchAppLogs(
  kube: Kube,
  app: string,
  sinceSeconds: number,
  pattern: RegExp,
  timeoutMs?: number,
): Promise<LogSearch> {
  const { pods, logs } = await readAppLogs(kube, app, { sinceSeconds, timeoutMs });
  const matches: LogMatch[] = [];
  for (const l of logs) for (const line of l.lines) if (pattern.test(line)) matches.push({ pod: l.pod, line });
  return { pods: pods.length, matches, errors: logs.filter((l) => l.error).map((l) => `${l.pod}: ${l.error}`) };
}
