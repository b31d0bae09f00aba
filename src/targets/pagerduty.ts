// PagerDuty's REST API through @pagerduty/pdjs, each call under a deadline. Answers come back
// with their status (the caller decides what to retry); only the network failing throws.
import { api } from '@pagerduty/pdjs';
import { NotConfigured, TargetError, toTargetError } from '../errors.js';

export interface PdAnswer {
  status: number;
  body: unknown;
  /** From Retry-After on a 429. */
  retryAfterMs?: number;
}

export interface PdRequestOptions {
  /** The `From:` header PagerDuty requires for changes: the acting user's email. */
  from?: string;
  data?: object;
  query?: Record<string, string | string[]>;
}

export interface PagerDutyClient {
  readonly configured: boolean;
  request(method: 'GET' | 'POST' | 'PUT', path: string, opts?: PdRequestOptions): Promise<PdAnswer>;
}

export interface PagerDutyOptions {
  token: string | undefined;
  baseUrl: string;
  timeoutMs: number;
}

export function createPagerDuty(opts: PagerDutyOptions): PagerDutyClient {
  const base = opts.baseUrl.replace(/\/+$/, '');
  return {
    configured: Boolean(opts.token),
    async request(method, path, ro = {}) {
      if (!opts.token) throw new NotConfigured('pagerduty', 'set PAGERDUTY_API_TOKEN');
      const controller = new AbortController();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          controller.abort();
          reject(new TargetError('pagerduty', 'timed_out', `no answer within ${opts.timeoutMs} ms`));
        }, opts.timeoutMs);
      });
      const headers: Record<string, string> = {};
      if (ro.from) headers.From = ro.from;
      try {
        const call = api({
          token: opts.token,
          tokenType: 'token',
          url: `${base}${path}`,
          method,
          headers,
          ...(ro.data ? { data: ro.data } : {}),
          ...(ro.query ? { queryParameters: ro.query } : {}),
          signal: controller.signal,
          // pdjs waits this long before each of its own three retries of a 429; ours back off further.
          retryTimeout: 500,
        }).then(
          (res) => answerOf(res.response ?? res, res.data),
          // pdjs rejects with the Response itself when the body is not JSON.
          (err: unknown) => {
            if (err && typeof err === 'object' && 'status' in err && typeof (err as Response).status === 'number') return answerOf(err as Response, undefined);
            throw err;
          },
        );
        return await Promise.race([call, deadline]);
      } catch (err) {
        throw toTargetError('pagerduty', err);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

function answerOf(res: Response, body: unknown): PdAnswer {
  const retryAfter = Number(res.headers?.get?.('retry-after'));
  return { status: res.status, body, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterMs: retryAfter * 1000 } : {}) };
}

/** PagerDuty's error sentence from an error answer: `Invalid Input Provided: Incident Already Resolved`. */
export function pdErrorText(a: PdAnswer): string {
  const e = (a.body as { error?: { message?: string; errors?: string[] } } | undefined)?.error;
  if (!e) return `HTTP ${a.status}`;
  return [e.message, ...(e.errors ?? [])].filter(Boolean).join(': ') || `HTTP ${a.status}`;
}
