/**
 * Pods as the kubelet would show them: a new pod built from its ReplicaSet's template,
 * the status of the three states the fake models, and which container a request means.
 */
import { randomUUID } from 'node:crypto';
import { badRequest } from './errors.js';
import { clone } from './json.js';
import { type ContainerStatus, type Pod, type PodCondition, type ReplicaSet, sha256, timestamp } from './objects.js';

export type PodState = 'running' | 'pending' | 'crashloop';

const NODES = ['ip-10-0-1-17.ec2.internal', 'ip-10-0-2-41.ec2.internal', 'ip-10-0-3-8.ec2.internal'];

/** The `n`th pod the fake creates, named `name`, owned by `rs`, still without a state. */
export function newPod(rs: ReplicaSet, name: string, n: number, resourceVersion: string, at: Date): Pod {
  const node = NODES[n % NODES.length] ?? 'node-1';
  const ip = `10.244.${(n % NODES.length) + 1}.${(n % 250) + 3}`;
  const template = rs.spec.template;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: `${rs.metadata.name}-`,
      namespace: rs.metadata.namespace,
      uid: randomUUID(),
      resourceVersion,
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
}

export function isReady(pod: Pod): boolean {
  return pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

export function podStateOf(pod: Pod): PodState {
  const first = pod.status.containerStatuses?.[0];
  if (first?.state.waiting?.reason === 'CrashLoopBackOff') return 'crashloop';
  if (pod.status.phase === 'Pending') return 'pending';
  return 'running';
}

export function applyPodState(pod: Pod, state: PodState, at: Date): void {
  const ts = timestamp(at);
  const ready = state === 'running';
  const previous = new Map((pod.status.containerStatuses ?? []).map((c) => [c.name, c]));
  const condition = (type: string, ok: boolean): PodCondition => ({
    type,
    status: ok ? 'True' : 'False',
    lastProbeTime: null,
    lastTransitionTime: ts,
    ...(ok
      ? {}
      : {
          reason: 'ContainersNotReady',
          message: `containers with unready status: [${pod.spec.containers.map((c) => c.name).join(' ')}]`,
        }),
  });
  pod.status.phase = state === 'pending' ? 'Pending' : 'Running';
  pod.status.conditions = [
    {
      type: 'PodReadyToStartContainers',
      status: state === 'pending' ? 'False' : 'True',
      lastProbeTime: null,
      lastTransitionTime: ts,
    },
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
      return {
        name: c.name,
        image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason: 'ContainerCreating' } },
        lastState: {},
      };
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

/** The container a log or exec request names, or the pod's only one. */
export function containerOf(pod: Pod, requested: string | null): string {
  const names = pod.spec.containers.map((c) => c.name);
  if (requested) {
    if (!names.includes(requested)) {
      throw badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
    }
    return requested;
  }
  if (names.length !== 1) {
    throw badRequest(
      `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
    );
  }
  return names[0] as string;
}
