/** The pods/log subresource: a pod's log lines filtered by since, tail and byte limits as kubelet does. */
import { ApiError, badRequest } from './errors.js';
import type { Pod } from './objects.js';
import { containerOf } from './pods.js';
import { type Store, storeKey } from './store.js';

export function podLog(store: Store, clock: () => Date, namespace: string, name: string, q: URLSearchParams): string {
  const pod = store.getOrThrow('pods', namespace, name) as Pod;
  const container = containerOf(pod, q.get('container'));
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
  let lines = store.logs.get(storeKey(namespace, name)) ?? [];
  if (sinceSeconds) {
    const seconds = Number(sinceSeconds);
    if (!Number.isFinite(seconds) || seconds < 1)
      throw invalidLogOption('sinceSeconds', sinceSeconds, 'must be greater than 0');
    const from = clock().getTime() - seconds * 1000;
    lines = lines.filter((l) => l.at.getTime() >= from);
  }
  if (sinceTime) {
    const from = Date.parse(sinceTime);
    if (Number.isNaN(from))
      throw badRequest(`parsing time "${sinceTime}" as "2006-01-02T15:04:05Z07:00": cannot parse`);
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

function invalidLogOption(field: string, value: string, message: string): ApiError {
  return new ApiError(422, 'Invalid', `PodLogOptions "" is invalid: ${field}: Invalid value: ${value}: ${message}`, {
    kind: 'PodLogOptions',
    causes: [{ reason: 'FieldValueInvalid', field, message: `Invalid value: ${value}: ${message}` }],
  });
}
