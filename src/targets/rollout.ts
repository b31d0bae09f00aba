// A deployment's revisions as `kubectl rollout history` reads them: from the ReplicaSets it
// controls, with their revision and change-cause annotations. Shared by the rollout-history
// diagnosis and the rollback remediation.
import type { V1Deployment, V1PodTemplateSpec, V1ReplicaSet } from '@kubernetes/client-node';
import type { KubeApis } from './kube.js';

export const REVISION_ANNOTATION = 'deployment.kubernetes.io/revision';
export const CHANGE_CAUSE_ANNOTATION = 'kubernetes.io/change-cause';

export interface Revision {
  revision: number;
  replicaSet: string;
  changeCause?: string;
  images: string[];
  created?: Date;
  rs: V1ReplicaSet;
}

/** The deployment's revisions from its own ReplicaSets, newest first (as `kubectl rollout history`). */
export async function revisionHistory(apis: KubeApis, d: V1Deployment): Promise<Revision[]> {
  const matchLabels = d.spec?.selector?.matchLabels ?? {};
  const labelSelector = Object.entries(matchLabels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const list = await apis.apps.listNamespacedReplicaSet({
    namespace: apis.namespace,
    ...(labelSelector ? { labelSelector } : {}),
  });
  const uid = d.metadata?.uid;
  const owned = list.items.filter((rs) =>
    (rs.metadata?.ownerReferences ?? []).some(
      (o) => o.controller && (uid ? o.uid === uid : o.name === d.metadata?.name),
    ),
  );
  const out: Revision[] = [];
  for (const rs of owned) {
    const revision = Number(rs.metadata?.annotations?.[REVISION_ANNOTATION]);
    if (!Number.isInteger(revision) || revision < 0) continue;
    out.push({
      revision,
      replicaSet: rs.metadata?.name ?? '?',
      changeCause: rs.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION],
      images: imagesOf(rs.spec?.template),
      created: rs.metadata?.creationTimestamp ? new Date(rs.metadata.creationTimestamp) : undefined,
      rs,
    });
  }
  return out.sort((a, b) => b.revision - a.revision);
}

export function imagesOf(t: V1PodTemplateSpec | undefined): string[] {
  return (t?.spec?.containers ?? []).map((c) => c.image ?? '?');
}
