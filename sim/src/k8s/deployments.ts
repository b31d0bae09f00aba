/**
 * Deployments written through the API: validation and defaulting as the API server does
 * them, the update path that hands a changed Deployment to the controller, and the Scale
 * subresource's view of a Deployment.
 */
import type { DeploymentController } from './controller.js';
import { ApiError, badRequest, conflict, invalid, type StatusCause } from './errors.js';
import { clone, isObj, type Obj, semanticEqual } from './json.js';
import type { Container, Deployment, DeploymentSpec, LabelSelector, Labels, ObjectMeta, PodSpec } from './objects.js';
import { formatSelector, selectorMatches } from './selectors.js';
import { type Store, storeKey } from './store.js';

function stringMap(value: unknown, field: string): Labels | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObj(value))
    throw badRequest(`json: cannot unmarshal ${typeof value} into Go struct field ${field} of type map[string]string`);
  const out: Labels = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw badRequest(
        `json: cannot unmarshal ${v === null ? 'null' : typeof v} into Go struct field ${field} of type string`,
      );
    }
    out[k] = v;
  }
  return out;
}

export function defaultContainer(raw: Obj): Container {
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
  if (Array.isArray(c.ports))
    c.ports = c.ports.map((p) => (isObj(p) && p.protocol === undefined ? { ...p, protocol: 'TCP' } : p));
  return c as Container;
}

export function defaultPodSpec(raw: Obj): PodSpec {
  const spec: Obj = { ...raw };
  spec.containers = (Array.isArray(spec.containers) ? spec.containers : []).map((c) =>
    defaultContainer(isObj(c) ? c : {}),
  );
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
    throw badRequest(
      `the API version in the data (${String(input.apiVersion)}) does not match the expected API version (apps/v1)`,
    );
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
    strategy.rollingUpdate = {
      maxSurge: '25%',
      maxUnavailable: '25%',
      ...(isObj(strategy.rollingUpdate) ? strategy.rollingUpdate : {}),
    };
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

export function parseReplicas(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new ApiError(
      422,
      'Invalid',
      `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(value ?? null)}: must be greater than or equal to 0`,
      {
        name,
        group: 'autoscaling',
        kind: 'Scale',
        causes: [
          {
            reason: 'FieldValueInvalid',
            field: 'spec.replicas',
            message: `Invalid value: ${JSON.stringify(value ?? null)}: must be greater than or equal to 0`,
          },
        ],
      },
    );
  }
  return value;
}

/**
 * The API server's update path: validate, keep server-owned fields, bump generation on
 * spec or annotation changes, store, then let the controller react. Answers with the
 * object as stored, before the controller acts (as the real server does).
 */
export function writeDeployment(
  store: Store,
  controller: DeploymentController,
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
  next.metadata.resourceVersion = store.nextResourceVersion();
  const key = storeKey(current.metadata.namespace, name);
  store.deployments.set(key, next);
  store.emit('deployments', 'MODIFIED', next);
  const answer = clone(next);
  controller.sync(key, { at: opts.at, immediate: opts.immediate });
  return answer;
}

export function scaleOf(d: Deployment): unknown {
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
