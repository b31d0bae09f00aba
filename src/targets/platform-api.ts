// The platform API's health endpoints over fetch, each call under a deadline.
import { NotConfigured, TargetError, type TargetName } from '../errors.js';

export interface HttpAnswer {
  status: number;
  body: unknown;
  ms: number;
}

export interface PlatformApi {
  readonly configured: boolean;
  readonly hasAdminToken: boolean;
  get(path: string, opts: { admin?: boolean; signal?: AbortSignal; timeoutMs?: number }): Promise<HttpAnswer>;
}

export type FetchFn = typeof fetch;

/** GET a URL and parse JSON when the answer is JSON; any failure becomes a TargetError. */
export async function getJson(
  target: TargetName,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  fetchFn: FetchFn,
): Promise<HttpAnswer> {
  const started = performance.now();
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (init.signal) signals.push(init.signal);
  let res: Response;
  try {
    res = await fetchFn(url, { ...init, signal: AbortSignal.any(signals) });
  } catch (err) {
    throw TargetError.from(target, err);
  }
  let text: string;
  try {
    text = await res.text();
  } catch (err) {
    throw TargetError.from(target, err);
  }
  let body: unknown = text;
  // A HEAD answer (curl -I) declares JSON but carries no body.
  if (text !== '' && (res.headers.get('content-type') ?? '').includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      throw new TargetError(target, 'failed', `answered ${res.status} with a body that is not JSON`);
    }
  }
  return { status: res.status, body, ms: Math.round(performance.now() - started) };
}

export function createPlatformApi(
  baseUrl: string | undefined,
  adminToken: string | undefined,
  fetchFn: FetchFn = fetch,
  defaultTimeoutMs = 2_000,
): PlatformApi {
  return {
    configured: Boolean(baseUrl),
    hasAdminToken: Boolean(adminToken),
    async get(path, opts) {
      if (!baseUrl)
        throw new NotConfigured('platform-api', 'set DMP_API_URL (and DMP_ADMIN_TOKEN for /health/detailed)');
      if (opts.admin && !adminToken)
        throw new NotConfigured('platform-api', 'set DMP_ADMIN_TOKEN for /health/detailed');
      const headers: Record<string, string> = { accept: 'application/json' };
      if (opts.admin && adminToken) headers.authorization = `Bearer ${adminToken}`;
      const url = new URL(path.replace(/^\//, ''), baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`).toString();
      return getJson(
        'platform-api',
        url,
        { headers, signal: opts.signal },
        opts.timeoutMs ?? defaultTimeoutMs,
        fetchFn,
      );
    },
  };
}

/** Outbound reachability of an outside service (GitHub), as `curl -I` would show it. */
export interface Reachability {
  probe(
    url: string,
    opts: { method?: 'GET' | 'HEAD' | 'POST'; signal?: AbortSignal; timeoutMs?: number },
  ): Promise<HttpAnswer>;
}

export function createReachability(fetchFn: FetchFn = fetch, defaultTimeoutMs = 2_000): Reachability {
  return {
    probe: (url, opts) =>
      getJson(
        'github',
        url,
        { method: opts.method ?? 'HEAD', signal: opts.signal },
        opts.timeoutMs ?? defaultTimeoutMs,
        fetchFn,
      ),
  };
}
