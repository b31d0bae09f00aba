/**
 * An in-process fake of the Kubernetes API server, speaking the real wire format (JSON
 * objects, Status errors, the three PATCH content types, the exec WebSocket channel
 * protocol, watch streams) so the real @kubernetes/client-node talks to it through an
 * ordinary kubeconfig. A tiny deployment controller keeps ReplicaSets, Pods and
 * Deployment status the way kube-controller-manager would. Used by tests and `npm run sandbox`.
 *
 * The code lives in ./k8s/; this module is its public face.
 */
export type { ExecHandler, ExecResult } from './k8s/exec.js';
export type {
  Condition,
  Container,
  ContainerStatus,
  Deployment,
  DeploymentSpec,
  DeploymentStatus,
  LabelSelector,
  Labels,
  LogLine,
  ManagedFieldsEntry,
  ObjectMeta,
  OwnerReference,
  Pod,
  PodCondition,
  PodSpec,
  PodStatus,
  PodTemplateSpec,
  ReplicaSet,
  Secret,
} from './k8s/objects.js';
export { jsonMergePatch, jsonPatch, strategicMergePatch } from './k8s/patch.js';
export { type SeedSummary, seedPlatform } from './k8s/seed.js';
export {
  type AddDeploymentOptions,
  type AddSecretOptions,
  type Fault,
  KubeFake,
  type KubeFakeOptions,
  type RecordedRequest,
  startKubeFake,
} from './k8s/server.js';
