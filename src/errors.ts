// Coded errors: users see a sentence, logs see the cause, nobody sees a secret.
import { redact } from './redact.js';

export type TargetName =
  | 'platform-api'
  | 'postgres'
  | 'redis'
  | 'kubernetes'
  | 'pagerduty'
  | 'slack'
  | 'github'
  | 'bot-store';

export const TARGET_LABEL: Record<TargetName, string> = {
  'platform-api': 'Platform API',
  postgres: 'PostgreSQL',
  redis: 'Redis',
  kubernetes: 'Kubernetes',
  pagerduty: 'PagerDuty',
  slack: 'Slack',
  github: 'GitHub',
  'bot-store': 'Bot store',
};

export type TargetErrorCode = 'not_configured' | 'unreachable' | 'timed_out' | 'failed';

export class TargetError extends Error {
  constructor(
    readonly target: TargetName,
    readonly code: TargetErrorCode,
    detail: string,
    readonly hint?: string,
  ) {
    super(redact(detail));
    this.name = 'TargetError';
  }

  /** The one line a person reads: "PostgreSQL: unreachable: connect ECONNREFUSED 127.0.0.1:5999". */
  sentence(): string {
    const label = TARGET_LABEL[this.target];
    switch (this.code) {
      case 'not_configured':
        return `${label}: not configured${this.hint ? ` (${this.hint})` : ''}`;
      case 'unreachable':
        return `${label}: unreachable: ${this.message}`;
      case 'timed_out':
        return `${label}: timed out: ${this.message}`;
      case 'failed':
        return `${label}: ${this.message}`;
    }
  }
}

export class NotConfigured extends TargetError {
  constructor(target: TargetName, hint: string) {
    super(target, 'not_configured', 'not configured', hint);
  }
}

/** A user's request the bot refuses or cannot parse: shown as is. */
export class UserError extends Error {
  override name = 'UserError';
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EPIPE',
  'EAI_AGAIN',
  // undici: the server closed the connection (a pooled socket to a server that went away).
  'UND_ERR_SOCKET',
]);

/** Classifies any error thrown by a client library into a TargetError for `target`. */
export function toTargetError(target: TargetName, err: unknown): TargetError {
  if (err instanceof TargetError) return err;
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  // client-node's ApiException: a numeric HTTP code and the body, perhaps a Kubernetes Status.
  const http = (err as { code?: unknown; body?: unknown })?.code;
  if (typeof http === 'number') {
    const body = (err as { body?: unknown }).body;
    let reason = '';
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      reason = status?.message ? `: ${status.message}` : '';
    } catch {
      reason = ': the answer was not JSON';
    }
    return new TargetError(target, 'failed', `answered HTTP ${http}${reason.slice(0, 300)}`);
  }
  const code = e?.code ?? e?.cause?.code;
  const message = String(e?.message ?? err);
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError' || /timeout|timed out/i.test(message)) {
    return new TargetError(target, 'timed_out', message);
  }
  if (code && UNREACHABLE_CODES.has(code)) {
    return new TargetError(target, 'unreachable', e.cause?.message ?? message);
  }
  if (e?.name === 'MaxRetriesPerRequestError' || /ECONNREFUSED|connect|socket hang up|closed|max retries|isn't writeable/i.test(message)) {
    return new TargetError(target, 'unreachable', e?.name === 'MaxRetriesPerRequestError' ? 'connection refused, retrying in the background' : message);
  }
  return new TargetError(target, 'failed', message);
}

/** Rejects with a timed_out TargetError after `ms`, so a hung target cannot hold a reply. */
export async function withDeadline<T>(target: TargetName, ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new TargetError(target, 'timed_out', `no answer within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), deadline]);
  } catch (err) {
    throw toTargetError(target, err);
  } finally {
    clearTimeout(timer);
  }
}
