// The Statuspage REST API v1 over fetch: `Authorization: OAuth <key>`, JSON in and out, an answer
// as status, body and Retry-After. Only reachability throws; every HTTP answer is returned, so
// the outbox decides what to retry. The key never leaves this module.
import type { Config } from '../config.js';

export interface SpAnswer {
  status: number;
  body: unknown;
  retryAfterMs?: number;
}

export function statuspageConfigured(config: Config): boolean {
  return Boolean(config.STATUSPAGE_API_KEY && config.STATUSPAGE_PAGE_ID);
}

export async function statuspageRequest(
  config: Config,
  method: 'GET' | 'POST' | 'PATCH',
  path: string,
  body?: unknown,
  timeoutMs = 10_000,
): Promise<SpAnswer> {
  const res = await fetch(new URL(path, config.STATUSPAGE_API_URL), {
    method,
    headers: {
      authorization: `OAuth ${config.STATUSPAGE_API_KEY ?? ''}`,
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // Not JSON (a proxy's error page): kept as text for the error line.
  }
  const retry = Number(res.headers.get('retry-after'));
  return {
    status: res.status,
    body: parsed,
    ...(Number.isFinite(retry) && retry > 0 ? { retryAfterMs: retry * 1000 } : {}),
  };
}

/** One line saying what Statuspage answered, for the thread and the log. */
export function spErrorText(a: SpAnswer): string {
  const err = (a.body as { error?: unknown } | undefined)?.error;
  const detail = Array.isArray(err) ? err.join('; ') : typeof err === 'string' ? err : '';
  const what =
    a.status === 401
      ? 'the API key was refused (STATUSPAGE_API_KEY)'
      : a.status === 404
        ? 'no such page or incident (STATUSPAGE_PAGE_ID)'
        : a.status === 429
          ? 'rate limited'
          : '';
  return `Statuspage answered HTTP ${a.status}${what ? `: ${what}` : ''}${detail ? ` (${detail.slice(0, 200)})` : ''}`;
}
