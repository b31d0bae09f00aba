/** Errors as Kubernetes Status objects, worded as the API server words them. */
import type { Resource } from './objects.js';

export interface StatusCause {
  reason?: string;
  message: string;
  field?: string;
}

export class ApiError extends Error {
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

export const badRequest = (message: string): ApiError => new ApiError(400, 'BadRequest', message);

export const RESOURCE_INFO: Record<Resource, { group: string; kind: string }> = {
  pods: { group: '', kind: 'Pod' },
  secrets: { group: '', kind: 'Secret' },
  deployments: { group: 'apps', kind: 'Deployment' },
  replicasets: { group: 'apps', kind: 'ReplicaSet' },
};

function qualified(resource: Resource): string {
  const { group } = RESOURCE_INFO[resource];
  return group ? `${resource}.${group}` : resource;
}

export function notFound(resource: Resource, name: string): ApiError {
  const { group } = RESOURCE_INFO[resource];
  return new ApiError(404, 'NotFound', `${qualified(resource)} "${name}" not found`, {
    name,
    ...(group ? { group } : {}),
    kind: resource,
  });
}

export function conflict(resource: Resource, name: string): ApiError {
  const { group } = RESOURCE_INFO[resource];
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(resource)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(group ? { group } : {}), kind: resource },
  );
}

export function invalid(resource: Resource, name: string, causes: StatusCause[]): ApiError {
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

export const routeNotFound = (): ApiError =>
  new ApiError(404, 'NotFound', 'the server could not find the requested resource', {});

export const methodNotAllowed = (): ApiError =>
  new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {});
