// PagerDuty's REST API through @pagerduty/pdjs, PagerDuty's own client, each call under a
// deadline and, when a limiter is given, within the token's shared budget (960 calls a minute).
// Answers come back with their status (the caller decides what to retry); only the network
// failing, the deadline or the budget throws. pdjs itself retries a 429 up to three times,
// `retryTimeout` apart; when it still answers 429 the limiter pauses every replica for the
// wait PagerDuty names (Retry-After / ratelimit-reset on pdjs's `response`).
// pdjs is loaded on the first call (dynamic import): a bot without a token never loads it.
import { deadline } from '../async.js';
import { NotConfigured, TargetError } from '../errors.js';

/** A call the shared budget held back: it never left this process, so PagerDuty cannot have applied it. */
export class PagerDutyHeldBack extends TargetError {
  constructor(code: TargetError['code'], detail: string) {
    super('pagerduty', code, detail);
  }
}

/** How long pdjs waits before each of its own retries of a 429. */
const PDJS_RETRY_TIMEOUT_MS = 1_000;

export interface PdAnswer {
  status: number;
  body: unknown;
  /** From Retry-After or ratelimit-reset on a 429. */
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

/** Paces calls against a budget shared by every replica (incidents/pace.ts). */
export interface RequestLimiter {
  acquire(maxWaitMs: number): Promise<void>;
  pause(retryAfterMs: number): Promise<void>;
}

export interface PagerDutyOptions {
  token: string | undefined;
  baseUrl: string;
  timeoutMs: number;
  limiter?: RequestLimiter;
  /** Told of every call: its route (`PUT /incidents/:id`) and its HTTP status or error code. */
  observe?: (route: string, result: string) => void;
  /** The clock an HTTP-date Retry-After is measured against. */
  now?: () => Date;
}

export function createPagerDuty(opts: PagerDutyOptions): PagerDutyClient {
  const now = opts.now ?? (() => new Date());
  const base = opts.baseUrl.replace(/\/+$/, '');
  const observe = (route: string, result: string) => {
    try {
      opts.observe?.(route, result);
    } catch {
      // Counting must never break a call.
    }
  };
  return {
    configured: Boolean(opts.token),
    async request(method, path, ro = {}) {
      if (!opts.token) throw new NotConfigured('pagerduty', 'set PAGERDUTY_API_TOKEN');
      const route = routeOf(method, path);
      if (opts.limiter) {
        try {
          await opts.limiter.acquire(opts.timeoutMs);
        } catch (err) {
          observe(route, 'held_back');
          const e = TargetError.from('pagerduty', err);
          throw new PagerDutyHeldBack(e.code, e.message);
        }
      }
      const headers: Record<string, string> = {};
      if (ro.from) headers.From = ro.from;
      const { api } = await import('@pagerduty/pdjs');
      let answer: PdAnswer;
      try {
        answer = await deadline(
          opts.timeoutMs,
          async (signal) => {
            try {
              const res = await api({
                token: opts.token,
                tokenType: 'token',
                url: `${base}${path}`,
                method,
                headers,
                signal,
                // Our deadline bounds the call; pdjs's own timer would only hold the event loop.
                requestTimeout: 0,
                retryTimeout: PDJS_RETRY_TIMEOUT_MS,
                ...(ro.data ? { data: ro.data } : {}),
                ...(ro.query ? { queryParameters: ro.query } : {}),
              });
              return answerOf(res.response ?? (res as unknown as Response), res.data, now);
            } catch (err) {
              // pdjs rejects with the Response itself when the body is not JSON (a proxy's page, garbage).
              if (err && typeof err === 'object' && 'status' in err && typeof (err as Response).status === 'number') {
                const r = err as Response & { response?: Response };
                return answerOf(r.response ?? r, undefined, now);
              }
              throw err;
            }
          },
          () => {
            throw TargetError.timedOut('pagerduty', opts.timeoutMs);
          },
        );
      } catch (err) {
        const e = TargetError.from('pagerduty', err);
        observe(route, e.code);
        throw e;
      }
      observe(route, String(answer.status));
      if (answer.status === 429 && opts.limiter) {
        await opts.limiter.pause(answer.retryAfterMs ?? 1000).catch(() => undefined);
      }
      return answer;
    },
  };
}

/** `PUT /incidents/:id/notes`: the path with its ids taken out, a label of few values for /metrics. */
function routeOf(method: string, path: string): string {
  const parts = path
    .split('?')[0]
    ?.split('/')
    .filter(Boolean)
    .map((p) =>
      /^(incidents|notes|users|services|priorities|oncalls|me|escalation_policies|log_entries)$/.test(p) ? p : ':id',
    );
  return `${method} /${(parts ?? []).join('/')}`;
}

function seconds(v: string | null, now: () => Date): number | undefined {
  if (v === null) return undefined;
  const n = Number(v);
  if (Number.isFinite(n) && n >= 0) return n * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now().getTime());
}

function answerOf(res: Response, body: unknown, now: () => Date): PdAnswer {
  // PagerDuty names the wait in ratelimit-reset (seconds); Retry-After where a proxy answered.
  const waits = [seconds(res.headers.get('retry-after'), now), seconds(res.headers.get('ratelimit-reset'), now)].filter(
    (n): n is number => n !== undefined,
  );
  const retryAfterMs = waits.length ? Math.max(...waits) : undefined;
  return {
    status: res.status,
    body,
    ...((res.status === 429 || res.status >= 500) && retryAfterMs !== undefined && retryAfterMs > 0
      ? { retryAfterMs }
      : {}),
  };
}

/** PagerDuty's error sentence from an error answer: `Invalid Input Provided: Incident Already Resolved`. */
export function pdErrorText(a: PdAnswer): string {
  const e = (a.body as { error?: { message?: string; errors?: string[] } } | undefined)?.error;
  if (!e) return `HTTP ${a.status}`;
  return [e.message, ...(e.errors ?? [])].filter(Boolean).join(': ') || `HTTP ${a.status}`;
}
