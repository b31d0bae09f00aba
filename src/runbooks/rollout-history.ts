// Runbook: Incident Response › Rollback Procedure, "kubectl rollout history" and "rollout
// status": a deployment's revisions read from its ReplicaSets, and whether its rollout is
// healthy. readRolloutHistory() is shared with the rollback remediation.
import type { V1Deployment } from '@kubernetes/client-node';
import { z } from 'zod';
import { code } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { UserError } from '../errors.js';
import type { Kube } from '../targets/kube.js';
import { isNotFound, K8S_NAME, kubeApiError, PLATFORM_APPS } from '../targets/kube-reads.js';
import { REVISION_ANNOTATION, type Revision, revisionHistory } from '../targets/rollout.js';
import { assertPlatformApp } from './app-scope.js';
import { plural } from './lines.js';
import { type Check, type Finding, factsOf, type NextStep, type Procedure, type Status } from './types.js';

export { CHANGE_CAUSE_ANNOTATION, REVISION_ANNOTATION } from '../targets/rollout.js';

export interface RolloutRevision {
  revision: number;
  replicaSet: string;
  changeCause?: string;
  images: string[];
  created?: Date;
  replicas: number;
  readyReplicas: number;
  /** The ReplicaSet the deployment currently runs. */
  current: boolean;
}

export interface RolloutState {
  desired: number;
  updated: number;
  ready: number;
  available: number;
  unavailable: number;
  paused: boolean;
  /** The Progressing condition's reason, e.g. NewReplicaSetAvailable or ProgressDeadlineExceeded. */
  progressing?: string;
  message?: string;
}

export interface RolloutHistory {
  deployment: string;
  namespace: string;
  /** The deployment's own revision annotation. */
  currentRevision?: number;
  images: string[];
  state: RolloutState;
  /** Newest first. */
  revisions: RolloutRevision[];
}

/**
 * `kubectl rollout history deployment/<name>`: one entry per ReplicaSet the deployment owns,
 * with its revision, change cause and images; undefined when the deployment does not exist.
 */
export async function readRolloutHistory(
  kube: Kube,
  deployment: string,
  timeoutMs?: number,
): Promise<RolloutHistory | undefined> {
  return kube.run(async (apis) => {
    const { apps, namespace } = apis;
    let d: V1Deployment;
    try {
      d = await apps.readNamespacedDeployment({ name: deployment, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw kubeApiError(`reading deployment ${deployment}`, err);
    }
    let history: Revision[];
    try {
      history = await revisionHistory(apis, d);
    } catch (err) {
      throw kubeApiError(`listing the replica sets of ${deployment}`, err);
    }
    const currentRevision = Number(d.metadata?.annotations?.[REVISION_ANNOTATION] ?? Number.NaN);
    const revisions = history.map(
      (h): RolloutRevision => ({
        revision: h.revision,
        replicaSet: h.replicaSet,
        changeCause: h.changeCause || undefined,
        images: h.images,
        created: h.created,
        replicas: h.rs.status?.replicas ?? h.rs.spec?.replicas ?? 0,
        readyReplicas: h.rs.status?.readyReplicas ?? 0,
        current: Number.isFinite(currentRevision) && h.revision === currentRevision,
      }),
    );
    const progressing = d.status?.conditions?.find((c) => c.type === 'Progressing');
    return {
      deployment,
      namespace,
      currentRevision: Number.isFinite(currentRevision) ? currentRevision : revisions[0]?.revision,
      images: (d.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '?'),
      state: {
        desired: d.spec?.replicas ?? 0,
        updated: d.status?.updatedReplicas ?? 0,
        ready: d.status?.readyReplicas ?? 0,
        available: d.status?.availableReplicas ?? 0,
        unavailable: d.status?.unavailableReplicas ?? 0,
        paused: Boolean(d.spec?.paused),
        progressing: progressing?.reason,
        message: progressing?.message,
      },
      revisions,
    };
  }, timeoutMs);
}

const USAGE = code('/dmp rollout history <deployment>');

const deploymentName = z.string().max(253).regex(K8S_NAME);

export function parseRolloutArgs(args: string[], apps: readonly string[]): { deployment: string } {
  const [raw, ...rest] = args;
  if (raw === undefined)
    throw new UserError([
      'Which deployment? ',
      code(`/dmp rollout history ${PLATFORM_APPS[0]}`),
      ' or ',
      code(`/dmp rollout history ${PLATFORM_APPS[1]}`),
      '.',
    ]);
  if (rest.length) throw new UserError([USAGE, ' takes one deployment.']);
  const name = raw.replace(/^(deployment|deploy|deployments)\//, '');
  const parsed = deploymentName.safeParse(name);
  if (!parsed.success)
    throw new UserError(
      `"${name.slice(0, 40)}" is not a deployment name: use lowercase letters, digits and dashes, e.g. ${PLATFORM_APPS.join(' or ')}.`,
    );
  assertPlatformApp(parsed.data, apps, [USAGE, '.']);
  return { deployment: parsed.data };
}

const history: Check = {
  id: 'history',
  title: 'Revisions',
  async run({ targets, args, now }): Promise<Finding[]> {
    const { deployment } = parseRolloutArgs(args, targets.config.DMP_DEPLOYMENTS);
    const h = await readRolloutHistory(targets.kube, deployment);
    if (!h)
      return [
        {
          check: this.title,
          status: 'critical',
          summary: `no deployment ${deployment} in namespace ${targets.kube.namespace}`,
          facts: { found: false },
        },
      ];
    const current = h.revisions.find((r) => r.current);
    const previous = h.revisions.find(
      (r) => !r.current && r.revision < (h.currentRevision ?? Number.POSITIVE_INFINITY),
    );
    const s = h.state;
    const failed = s.progressing === 'ProgressDeadlineExceeded';
    const rolling = s.updated < s.desired || s.available < s.desired || s.unavailable > 0;
    const rolloutStatus: Status = failed || (s.desired > 0 && s.available === 0) ? 'critical' : rolling ? 'warn' : 'ok';
    const rollout: Finding = {
      check: 'Rollout status',
      status: rolloutStatus,
      summary: failed
        ? `${deployment}: rollout failed (ProgressDeadlineExceeded): ${s.message ?? ''}`.trim()
        : rolling
          ? `${deployment}: ${s.updated} of ${s.desired} updated, ${s.available} available${s.paused ? ', paused' : ''}: rollout in progress or stuck`
          : `${deployment}: successfully rolled out, ${s.available} of ${s.desired} available${s.paused ? ', paused' : ''}`,
      facts: { failing: rolloutStatus === 'critical', previous: previous?.revision ?? 0 },
    };
    const revisions: Finding = {
      check: this.title,
      status: 'ok',
      summary: h.revisions.length
        ? `${deployment} at revision ${h.currentRevision ?? '?'} (${(current?.images ?? h.images).join(', ')}); ${plural(h.revisions.length, 'revision')} kept`
        : `${deployment} at revision ${h.currentRevision ?? '?'}; no ReplicaSet found`,
      details: h.revisions.map(
        (r) =>
          `revision ${r.revision}${r.current ? ' (current)' : ''}  ${r.replicaSet}  ${r.images.join(', ')}  created ${r.created ? `${formatDuration(now.getTime() - r.created.getTime())} ago` : '?'}  ${r.readyReplicas}/${r.replicas} ready  ${r.changeCause ?? '(no change cause)'}`,
      ),
      facts: { found: true, current: h.currentRevision ?? 0, deployment },
    };
    return [revisions, rollout];
  },
};

export function adviseRollout(findings: Finding[], args: string[]): NextStep[] {
  const status = factsOf(findings, 'Rollout status');
  if (!status?.failing) return [];
  // The arguments were checked before the checks ran: the deployment is the one they read.
  const deployment = String(factsOf(findings, 'Revisions')?.deployment ?? args[0] ?? '');
  const previous = Number(status.previous ?? 0);
  return [
    {
      remedy: 'rollback-deployment',
      label: previous ? `Roll back ${deployment} to ${previous}` : `Roll back ${deployment}`,
      reason: `the rollout of ${deployment} is failing: roll back (kubectl rollout undo deployment/${deployment}${previous ? ` --to-revision=${previous}` : ''})`,
      params: previous ? { deployment, revision: previous } : { deployment },
    },
  ];
}

export const rolloutHistory: Procedure = {
  id: 'rollout-history',
  words: ['rollout', 'history'],
  usage: '<deployment>',
  title: 'Rollout history',
  section: 'Incident Response › Rollback Procedure (history and status)',
  group: 'Diagnosis',
  summary: 'a deployment’s revisions (change cause, image, age, the current one) and its rollout status',
  dashboard: '/grafana/d/health',
  validateArgs: (args, apps) => void parseRolloutArgs(args, apps),
  checks: [history],
  remedies: [
    {
      id: 'rollback-deployment',
      title: 'Roll back the deployment',
      risk: 'high',
      section: 'Incident Response › Rollback Procedure',
    },
  ],
  advise: adviseRollout,
};
