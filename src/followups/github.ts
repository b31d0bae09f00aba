// GitHub's issues API through Octokit (the official, well-kept client), pointed at
// GITHUB_API_URL so the tests' fake and GitHub Enterprise work unchanged. Octokit's errors are
// sorted here into what to retry (rate limits, 5xx, no answer) and what to tell people (401,
// 403, 404, 422), always without the token. Octokit is loaded on the first call (dynamic
// import), so a bot that files no follow-up never loads it.
import type { Octokit } from '@octokit/rest';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../redact.js';

/** How long one GitHub call may take before it counts as no answer. */
const CALL_TIMEOUT_MS = 10_000;

export interface IssueRef {
  number: number;
  url: string;
  state: 'open' | 'closed';
}

export type GitHubFailure =
  | { retry: true; reason: string; afterMs?: number }
  | { retry: false; reason: string; notFound?: boolean };

export interface GitHubIssues {
  create(args: { title: string; body: string; labels: string[] }): Promise<IssueRef>;
  get(number: number): Promise<IssueRef>;
  /** Issues with this label whose body holds `marker` (finding one filed before a crash). */
  findByMarker(label: string, marker: string): Promise<IssueRef | undefined>;
}

export function githubIssues(
  config: Pick<Config, 'GITHUB_TOKEN' | 'FOLLOWUP_REPO' | 'GITHUB_API_URL'>,
  log: Logger,
): GitHubIssues {
  const [owner, repo] = (config.FOLLOWUP_REPO ?? '/').split('/') as [string, string];
  let client: Promise<Octokit> | undefined;
  const octokit = (): Promise<Octokit> => {
    client ??= import('@octokit/rest').then(
      ({ Octokit }) =>
        new Octokit({
          auth: config.GITHUB_TOKEN,
          baseUrl: config.GITHUB_API_URL.replace(/\/+$/, ''),
          userAgent: 'dmp-bot',
          // The logger scrubs what it is given with the bot's Redactor.
          log: {
            debug: () => {},
            info: () => {},
            warn: (message: string) => log.warn({ github: message }, 'GitHub client warning'),
            error: (message: string) => log.warn({ github: message }, 'GitHub client error'),
          },
        }),
    );
    return client;
  };
  const ref = (d: { number: number; html_url: string; state: string }): IssueRef => ({
    number: d.number,
    url: d.html_url,
    state: d.state === 'closed' ? 'closed' : 'open',
  });
  const timed = () => ({ signal: AbortSignal.timeout(CALL_TIMEOUT_MS) });
  return {
    async create({ title, body, labels }) {
      const res = await (await octokit()).rest.issues.create({ owner, repo, title, body, labels, request: timed() });
      return ref(res.data);
    },
    async get(number) {
      const res = await (await octokit()).rest.issues.get({ owner, repo, issue_number: number, request: timed() });
      return ref(res.data);
    },
    async findByMarker(label, marker) {
      const res = await (await octokit()).rest.issues.listForRepo({
        owner,
        repo,
        labels: label,
        state: 'all',
        per_page: 100,
        request: timed(),
      });
      const hit = res.data.find((i) => (i.body ?? '').includes(marker));
      return hit ? ref(hit) : undefined;
    },
  };
}

interface OctokitError {
  status?: number;
  message?: string;
  response?: { headers?: Record<string, string | undefined>; data?: unknown };
}

/** What a failed GitHub call means for the follow-up: retry later, or tell people why not. */
export function githubFailure(err: unknown, repo: string, nowMs: number, redactor: Redactor): GitHubFailure {
  const e = (err ?? {}) as OctokitError;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const headers = e.response?.headers ?? {};
  const message = redactor
    .redact(String((e.response?.data as { message?: string } | undefined)?.message ?? e.message ?? err))
    .slice(0, 300);
  if (status === undefined || status >= 500)
    return { retry: true, reason: `GitHub did not answer (${status ? `HTTP ${status}` : message})` };
  const retryAfter = Number(headers['retry-after']);
  if (status === 429 || (status === 403 && (headers['x-ratelimit-remaining'] === '0' || retryAfter > 0))) {
    const reset = Number(headers['x-ratelimit-reset']);
    const afterMs = retryAfter > 0 ? retryAfter * 1000 : reset > 0 ? Math.max(0, reset * 1000 - nowMs) : undefined;
    return {
      retry: true,
      reason: `GitHub's rate limit was reached (HTTP ${status})`,
      ...(afterMs !== undefined ? { afterMs } : {}),
    };
  }
  if (status === 401)
    return { retry: false, reason: 'GitHub refused the token (401 Bad credentials): check GITHUB_TOKEN' };
  if (status === 404)
    return {
      retry: false,
      notFound: true,
      reason: `GitHub has no repository ${repo} that the token can see (404): check FOLLOWUP_REPO and the token's access`,
    };
  if (status === 422) {
    const errors = (e.response?.data as { errors?: Array<{ field?: string; code?: string; message?: string }> })
      ?.errors;
    const detail = errors?.map((x) => x.message ?? `${x.field ?? '?'} ${x.code ?? 'invalid'}`).join('; ');
    return {
      retry: false,
      reason: `GitHub refused the issue (422 ${message}${detail ? `: ${redactor.redact(detail)}` : ''})`,
    };
  }
  return { retry: false, reason: `GitHub refused the call (HTTP ${status}: ${message})` };
}
