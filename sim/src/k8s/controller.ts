/**
 * A tiny kube-controller-manager: the deployment controller (new ReplicaSets, rollouts that
 * take time or stall, rollback to an old template, history cleanup) and the ReplicaSet
 * controller (pods to spec.replicas), keeping Deployment and ReplicaSet status as upstream.
 */
import { randomUUID } from 'node:crypto';
import { canonical, clone, semanticEqual } from './json.js';
import {
  type Condition,
  type Deployment,
  type DeploymentStatus,
  type ObjectMeta,
  type Pod,
  type PodTemplateSpec,
  type ReplicaSet,
  randomSuffix,
  safeEncode,
  timestamp,
} from './objects.js';
import { applyPodState, isReady, newPod, type PodState, podStateOf } from './pods.js';
import { type Store, storeKey } from './store.js';

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

export function revisionOf(obj: { metadata: ObjectMeta }): number {
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

interface PendingRollout {
  rsUid: string;
  fail: boolean;
  timer: NodeJS.Timeout;
}

export class DeploymentController {
  /** A rollout completes only after this delay; meanwhile updatedReplicas < replicas. */
  rolloutDelayMs: number;
  /** The next rollout stalls: Progressing=False, reason ProgressDeadlineExceeded, new pods crash-looping. */
  failNext = false;
  private podCounter = 0;
  private readonly rsPodState = new Map<string, PodState>();
  private readonly rollouts = new Map<string, PendingRollout>();
  private readonly failedRollouts = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly clock: () => Date,
    rolloutDelayMs: number,
  ) {
    this.rolloutDelayMs = rolloutDelayMs;
  }

  /** Drops the rollouts still waiting on their timers. */
  close(): void {
    for (const r of this.rollouts.values()) clearTimeout(r.timer);
    this.rollouts.clear();
  }

  /** Reconciles the deployment stored under `key`, as the controller's sync loop does after a change. */
  sync(key: string, opts: { at?: Date | undefined; immediate?: boolean | undefined } = {}): void {
    const d = this.store.deployments.get(key);
    if (!d) return;
    const at = opts.at ?? this.clock();
    const owned = this.store.ownedReplicaSets(d);
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
      setCondition(
        d.status,
        'Progressing',
        'True',
        'NewReplicaSetCreated',
        `Created new replica set "${newRS.metadata.name}"`,
        at,
      );
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
      setCondition(
        d.status,
        'Progressing',
        'True',
        'FoundNewReplicaSet',
        `Found new replica set "${newRS.metadata.name}"`,
        at,
      );
    }
    const rsAnnotations = { ...newRS.metadata.annotations };
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
      if (!ANNOTATIONS_NOT_COPIED.has(k)) rsAnnotations[k] = v;
    }
    newRS.metadata.annotations = rsAnnotations;
    this.store.touch('replicasets', newRS);
    d.metadata.annotations = { ...d.metadata.annotations, [REVISION]: String(revisionOf(newRS)) };

    const desired = d.spec.replicas;
    const failedUid = this.failedRollouts.get(key);
    if (failedUid !== undefined && failedUid !== newRS.metadata.uid) this.failedRollouts.delete(key);
    const pending = this.rollouts.get(key);
    if (pending && pending.rsUid !== newRS.metadata.uid) {
      clearTimeout(pending.timer);
      this.rollouts.delete(key);
    }
    const oldActive = oldRSs.some((rs) => rs.spec.replicas > 0 || this.store.podsOf(rs).length > 0);

    if (this.failedRollouts.has(key) || this.rollouts.has(key)) {
      // Stalled, or in progress: the timer finishes it with the replicas wanted by then.
    } else if ((started || oldActive) && desired > 0 && !opts.immediate && (this.rolloutDelayMs > 0 || this.failNext)) {
      const fail = this.failNext;
      this.failNext = false;
      const surge = Math.max(1, Math.min(desired, maxSurge(d)));
      // Pods created from here on start as ContainerCreating; a reused ReplicaSet's running pods stay up.
      this.rsPodState.set(newRS.metadata.uid, 'pending');
      this.scaleReplicaSet(newRS, Math.max(surge, this.store.podsOf(newRS).length), at);
      this.setReplicaAnnotations(d, newRS);
      setCondition(
        d.status,
        'Progressing',
        'True',
        'ReplicaSetUpdated',
        `ReplicaSet "${newRS.metadata.name}" is progressing.`,
        at,
      );
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
    const d = this.store.deployments.get(key);
    if (!d || !pending || d.spec.paused) return;
    const owned = this.store.ownedReplicaSets(d);
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
      if (rs.spec.replicas > 0 || this.store.podsOf(rs).length > 0) this.scaleReplicaSet(rs, 0, at);
    }
    this.rsPodState.set(newRS.metadata.uid, 'running');
    this.setPodState(newRS, 'running', at);
    this.scaleReplicaSet(newRS, d.spec.replicas, at);
    this.setReplicaAnnotations(d, newRS);
    setCondition(
      d.status,
      'Progressing',
      'True',
      'NewReplicaSetAvailable',
      `ReplicaSet "${newRS.metadata.name}" has successfully progressed.`,
      at,
    );
    // Keep revisionHistoryLimit old ReplicaSets, as the controller's cleanup does.
    const limit = d.spec.revisionHistoryLimit ?? 10;
    const idle = oldRSs.filter((rs) => rs.spec.replicas === 0).sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.store.replicaSets.delete(storeKey(rs.metadata.namespace, rs.metadata.name));
      this.rsPodState.delete(rs.metadata.uid);
      this.store.emit('replicasets', 'DELETED', rs);
    }
  }

  private failRollout(key: string, d: Deployment, newRS: ReplicaSet, at: Date): void {
    this.rsPodState.set(newRS.metadata.uid, 'crashloop');
    this.setPodState(newRS, 'crashloop', at);
    this.failedRollouts.set(key, newRS.metadata.uid);
    setCondition(
      d.status,
      'Progressing',
      'False',
      'ProgressDeadlineExceeded',
      `ReplicaSet "${newRS.metadata.name}" has timed out progressing.`,
      at,
    );
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
    while (this.store.replicaSets.has(storeKey(d.metadata.namespace, `${d.metadata.name}-${hash}`))) {
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
        resourceVersion: this.store.nextResourceVersion(),
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
    this.store.replicaSets.set(storeKey(rs.metadata.namespace, rs.metadata.name), rs);
    this.store.emit('replicasets', 'ADDED', rs);
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
    const pods = this.store.podsOf(rs);
    const state = this.rsPodState.get(rs.metadata.uid) ?? 'running';
    for (let i = pods.length; i < rs.spec.replicas; i++) pods.push(this.createPod(rs, state, at));
    if (pods.length > rs.spec.replicas) {
      // Like the ReplicaSet controller: unready pods go first, then the youngest.
      const victims = [...pods]
        .sort(
          (a, b) =>
            Number(isReady(a)) - Number(isReady(b)) ||
            b.metadata.creationTimestamp.localeCompare(a.metadata.creationTimestamp),
        )
        .slice(0, pods.length - rs.spec.replicas);
      for (const pod of victims) this.store.removePod(pod);
    }
    const remaining = this.store.podsOf(rs);
    const ready = remaining.filter(isReady).length;
    rs.status = {
      replicas: remaining.length,
      ...(remaining.length ? { fullyLabeledReplicas: remaining.length } : {}),
      ...(ready ? { readyReplicas: ready, availableReplicas: ready } : {}),
      observedGeneration: rs.metadata.generation ?? 1,
    };
    this.store.touch('replicasets', rs);
  }

  private refreshStatus(d: Deployment, at: Date): void {
    const owned = this.store.ownedReplicaSets(d);
    const newRS = owned.find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
    const allPods = owned.flatMap((rs) => this.store.podsOf(rs));
    const updated = newRS ? this.store.podsOf(newRS).length : 0;
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
      setCondition(
        status,
        'Available',
        'False',
        'MinimumReplicasUnavailable',
        'Deployment does not have minimum availability.',
        at,
      );
    }
    d.status = status;
    this.store.touch('deployments', d);
  }

  /** After a pod changed or went away outside the controller: recreate and recount. */
  refreshOwners(pod: Pod): void {
    const rs = [...this.store.replicaSets.values()].find((r) =>
      (pod.metadata.ownerReferences ?? []).some((o) => o.uid === r.metadata.uid),
    );
    if (!rs) return;
    const at = this.clock();
    this.reconcilePods(rs, at);
    const d = [...this.store.deployments.values()].find((dep) =>
      (rs.metadata.ownerReferences ?? []).some((o) => o.uid === dep.metadata.uid),
    );
    if (d) this.refreshStatus(d, at);
  }

  private createPod(rs: ReplicaSet, state: PodState, at: Date): Pod {
    let name: string;
    do name = `${rs.metadata.name}-${randomSuffix(5)}`;
    while (this.store.pods.has(storeKey(rs.metadata.namespace, name)));
    const n = this.podCounter++;
    const pod = newPod(rs, name, n, this.store.nextResourceVersion(), at);
    applyPodState(pod, state, at);
    this.store.pods.set(storeKey(pod.metadata.namespace, name), pod);
    this.store.emit('pods', 'ADDED', pod);
    return pod;
  }

  private setPodState(rs: ReplicaSet, state: PodState, at: Date): void {
    for (const pod of this.store.podsOf(rs)) {
      if (podStateOf(pod) !== state) {
        applyPodState(pod, state, at);
        this.store.touch('pods', pod);
      }
    }
  }
}
