// Kubernetes helpers shared by the deployment remediations, following kubectl's own logic:
// a deployment's history is its own ReplicaSets (by controller owner reference), templates are
// compared ignoring pod-template-hash, and rollout status reads as `kubectl rollout status`.
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import { z } from 'zod';
import { code } from '../domain/text.js';
import { formatDuration } from '../duration.js';
import { UserError } from '../errors.js';
import type { ActionContext } from './types.js';

export { type Revision, revisionHistory } from '../targets/rollout.js';

import { REVISION_ANNOTATION, type Revision } from '../targets/rollout.js';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';

/** A Kubernetes object name (DNS-1123 label): what a deployment or pod may be called. */
export const objectName = z
  .string()
  .trim()
  .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a Kubernetes name such as scan-workers');

/** Only the platform's own deployments (DMP_DEPLOYMENTS) may be changed. */
export function assertPlatformDeployment(ctx: ActionContext, name: string): void {
  const allowed = ctx.config.DMP_DEPLOYMENTS;
  if (!allowed.includes(name)) {
    throw new UserError([
      code(name),
      ` is not one of the platform's deployments (${allowed.join(', ')}); nothing was changed.`,
    ]);
  }
}

export function isNotFound(err: unknown): boolean {
  return isApiException(err) && err.code === 404;
}

export async function readDeployment(ctx: ActionContext, name: string): Promise<V1Deployment> {
  // Inside run(): its deadline wrapper turns every error into a TargetError, 404 included.
  const d = await ctx.targets.kube.run(async ({ apps, namespace }) => {
    try {
      return await apps.readNamespacedDeployment({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  });
  if (!d)
    throw new UserError([
      'There is no deployment ',
      code(name),
      ' in namespace ',
      code(ctx.targets.kube.namespace),
      '.',
    ]);
  return d;
}

/** The deployment's current revision: its own annotation, else the newest ReplicaSet's. */
export function currentRevision(d: V1Deployment, history: Revision[]): number | undefined {
  const own = Number(d.metadata?.annotations?.[REVISION_ANNOTATION]);
  if (Number.isInteger(own) && own > 0) return own;
  return history[0]?.revision;
}

/**
 * Normalises a JSON value the way apimachinery's semantic equality sees it: nil and empty
 * maps and lists are equal, and key order does not matter.
 */
function normalise(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) {
    const items = v.map(normalise).filter((x) => x !== undefined);
    return items.length ? items : undefined;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const n = normalise((v as Record<string, unknown>)[k]);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === null ? undefined : v;
}

/** The template as JSON, without the pod-template-hash label (kubectl removes it before patching back). */
export function templateWithoutHash(t: V1PodTemplateSpec | undefined): Record<string, unknown> {
  const copy = JSON.parse(JSON.stringify(t ?? {})) as { metadata?: { labels?: Record<string, string> } };
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH];
  return copy as Record<string, unknown>;
}

/** kubectl's equalIgnoreHash: the same template apart from the pod-template-hash label. */
export function equalIgnoreHash(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return JSON.stringify(normalise(templateWithoutHash(a))) === JSON.stringify(normalise(templateWithoutHash(b)));
}

export interface RolloutState {
  done: boolean;
  failed: boolean;
  message: string;
}

/** `kubectl rollout status` for a deployment, one look. */
export function rolloutStatus(d: V1Deployment): RolloutState {
  const name = d.metadata?.name ?? '?';
  const generation = d.metadata?.generation ?? 0;
  const status = d.status ?? {};
  if (generation > (status.observedGeneration ?? 0)) {
    return { done: false, failed: false, message: 'Waiting for deployment spec update to be observed…' };
  }
  const progressing = (status.conditions ?? []).find((c) => c.type === 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return {
      done: false,
      failed: true,
      message: `deployment "${name}" exceeded its progress deadline (ProgressDeadlineExceeded)`,
    };
  }
  const want = d.spec?.replicas;
  const updated = status.updatedReplicas ?? 0;
  const replicas = status.replicas ?? 0;
  const available = status.availableReplicas ?? 0;
  if (want !== undefined && updated < want) {
    return {
      done: false,
      failed: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${updated} out of ${want} new replicas have been updated…`,
    };
  }
  if (replicas > updated) {
    return {
      done: false,
      failed: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${replicas - updated} old replicas are pending termination…`,
    };
  }
  if (available < updated) {
    return {
      done: false,
      failed: false,
      message: `Waiting for deployment "${name}" rollout to finish: ${available} of ${updated} updated replicas are available…`,
    };
  }
  return { done: true, failed: false, message: `deployment "${name}" successfully rolled out` };
}

export interface FollowResult {
  ok: boolean;
  /** completed, failed (ProgressDeadlineExceeded) or timed out */
  end: 'completed' | 'failed' | 'timed_out';
  message: string;
  ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Follows the rollout in the thread until it completes, fails or times out (ROLLOUT_TIMEOUT),
 * posting each new status line once, polling every ROLLOUT_POLL_INTERVAL.
 */
export async function followRollout(ctx: ActionContext, name: string): Promise<FollowResult> {
  const started = ctx.now().getTime();
  const timeout = ctx.config.ROLLOUT_TIMEOUT;
  const every = Math.max(50, ctx.config.ROLLOUT_POLL_INTERVAL);
  let last = '';
  let posts = 0;
  for (;;) {
    let state: RolloutState;
    try {
      state = rolloutStatus(await readDeployment(ctx, name));
    } catch (err) {
      ctx.log.warn({ err, deployment: name }, 'rollout status read failed; retrying');
      state = { done: false, failed: false, message: last || 'Waiting for the rollout status…' };
    }
    const ms = ctx.now().getTime() - started;
    if (state.done) return { ok: true, end: 'completed', message: state.message, ms };
    if (state.failed) return { ok: false, end: 'failed', message: state.message, ms };
    if (ms >= timeout) {
      return {
        ok: false,
        end: 'timed_out',
        message: `rollout of "${name}" not finished after ${formatDuration(timeout)}: ${state.message}`,
        ms,
      };
    }
    // Each new status once, and never more than a screenful in the thread.
    if (state.message !== last && posts < 20) {
      await ctx.progress({ status: 'running', text: [state.message] });
      posts += 1;
    }
    last = state.message;
    await sleep(Math.min(every, Math.max(0, timeout - ms)));
  }
}

/** RFC 3339 without fractions, as Go's time.RFC3339 writes it (kubectl's restartedAt). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * client-node's ApiException (an HTTP answer: numeric `code`, the `body`), told by its shape: the
 * client is loaded only once a cluster is configured (targets/kube.ts), so no class to test against.
 */
function isApiException(err: unknown): err is Error & { code: number; body: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err;
}

/** Kubernetes' own words for a refused call ("… is invalid: spec.replicas …"), not the client's wrapper text. */
export function kubeMessage(err: unknown): Error {
  if (!isApiException(err)) return err instanceof Error ? err : new Error(String(err));
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      // plain text body: used as is below
    }
  }
  const message =
    body && typeof body === 'object' && 'message' in body
      ? String((body as { message: unknown }).message)
      : String(body ?? '');
  return new Error(`Kubernetes answered ${err.code}${message ? `: ${message}` : ''}`);
}
