// A fake of GitHub's REST API for issues (https://docs.github.com/rest/issues/issues), at the
// wire level: a token in `Authorization` (`token …` or `Bearer …`, else 401 "Bad credentials"),
// a User-Agent (else 403), JSON bodies (else 400 "Problems parsing JSON"), create / get / update
// of a repository's issues with GitHub's 201/200/404/422 answers, and the primary rate limit
// (403 with `x-ratelimit-remaining: 0`) or a secondary one (429 with `retry-after`) on demand.
// `GET /` answers like api.github.com, so the runbooks' reachability checks work against it too.

import type { IncomingMessage } from 'node:http';
import type { FakeHttpServer } from './http-server.js';
import { header, headerRecord, json, parseJson, splitUrl, startHttpServer } from './http-server.js';

export interface GitHubIssue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  labels: string[];
  state: 'open' | 'closed';
  state_reason: string | null;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
}

export interface GitHubRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface GitHubFake {
  url: string;
  http: FakeHttpServer;
  readonly requests: GitHubRequest[];
  /** Issues of `owner/name`, in order of creation. */
  issues(repo: string): GitHubIssue[];
  /** Closes an issue as a person would on github.com. */
  closeIssue(repo: string, number: number): void;
  /** Someone reopens it on github.com. */
  reopenIssue(repo: string, number: number): void;
  /** The next `count` API calls answer the primary (403, remaining 0) or secondary (429) rate limit. */
  rateLimit(kind: 'primary' | 'secondary', count?: number, resetInSec?: number): void;
  close(): Promise<void>;
}

export interface GitHubFakeOptions {
  /** The tokens GitHub accepts. */
  tokens: string[];
  /** Repositories that exist (`owner/name`); others answer 404. */
  repos: string[];
  port?: number;
}

const DOCS = 'https://docs.github.com/rest';
const nowSec = (): number => Math.floor(Date.now() / 1000);

export async function startGitHubFake(opts: GitHubFakeOptions): Promise<GitHubFake> {
  const requests: GitHubRequest[] = [];
  const repos = new Map<string, GitHubIssue[]>(opts.repos.map((r) => [r.toLowerCase(), []]));
  let nextId = 1_000_001;
  let limited: { kind: 'primary' | 'secondary'; left: number; resetAt: number } | undefined;
  let used = 0;

  const rateHeaders = (remaining: number, resetAt = nowSec() + 3600): Record<string, string> => ({
    server: 'github.com',
    'x-github-media-type': 'github.v3; format=json',
    'x-github-request-id': `FAKE:${Date.now().toString(16)}`,
    'x-ratelimit-limit': '5000',
    'x-ratelimit-remaining': String(remaining),
    'x-ratelimit-used': String(5000 - remaining),
    'x-ratelimit-reset': String(resetAt),
    'x-ratelimit-resource': 'core',
  });

  const base = (u: string): string => u.replace(/\/+$/, '');
  let selfUrl = '';
  const issueJson = (repo: string, i: GitHubIssue): Record<string, unknown> => ({
    id: i.id,
    node_id: `I_fake${i.id}`,
    url: `${base(selfUrl)}/repos/${repo}/issues/${i.number}`,
    html_url: `https://github.com/${repo}/issues/${i.number}`,
    number: i.number,
    title: i.title,
    body: i.body,
    state: i.state,
    state_reason: i.state_reason,
    labels: i.labels.map((name, n) => ({ id: n + 1, name, color: 'ededed', default: false })),
    user: { login: 'dmp-bot', id: 1, type: 'Bot' },
    locked: false,
    comments: 0,
    created_at: i.created_at,
    updated_at: i.updated_at,
    closed_at: i.closed_at,
  });

  const http = await startHttpServer(
    (req: IncomingMessage, res, raw) => {
      const { path } = splitUrl(req);
      const method = req.method ?? 'GET';
      const body = parseJson(raw);
      requests.push({ method, path, headers: headerRecord(req), body });
      if (path === '/' && (method === 'GET' || method === 'HEAD')) {
        json(res, 200, { current_user_url: `${base(selfUrl)}/user` }, rateHeaders(60));
        return;
      }
      // GitHub refuses requests without a User-Agent before anything else.
      if (!header(req, 'user-agent')) {
        json(
          res,
          403,
          {
            message: 'Request forbidden by administrative rules. Please make sure your request has a User-Agent header',
          },
          {},
        );
        return;
      }
      const auth = header(req, 'authorization') ?? '';
      const token = /^(?:token|bearer)\s+(\S+)$/i.exec(auth)?.[1];
      if (!token || !opts.tokens.includes(token)) {
        json(res, 401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' }, rateHeaders(59));
        return;
      }
      if (limited && limited.left > 0) {
        limited.left -= 1;
        const l = limited;
        if (l.left === 0) limited = undefined;
        if (l.kind === 'primary') {
          json(
            res,
            403,
            {
              message: 'API rate limit exceeded for user ID 1.',
              documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
              status: '403',
            },
            rateHeaders(0, l.resetAt),
          );
        } else {
          json(
            res,
            429,
            {
              message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
              documentation_url: DOCS,
              status: '429',
            },
            { ...rateHeaders(4000), 'retry-after': String(Math.max(1, l.resetAt - nowSec())) },
          );
        }
        return;
      }
      used += 1;
      const headers = rateHeaders(5000 - used);
      const m = /^\/repos\/([^/]+)\/([^/]+)\/issues(?:\/(\d+))?$/.exec(path);
      const repo = m ? `${decodeURIComponent(m[1] as string)}/${decodeURIComponent(m[2] as string)}` : '';
      const list = m ? repos.get(repo.toLowerCase()) : undefined;
      if (!m || !list) {
        json(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, headers);
        return;
      }
      if ((method === 'POST' || method === 'PATCH') && raw.length > 0 && body === undefined) {
        json(res, 400, { message: 'Problems parsing JSON', documentation_url: DOCS, status: '400' }, headers);
        return;
      }
      const b = (body ?? {}) as Record<string, unknown>;
      const number = m[3] ? Number(m[3]) : undefined;
      if (number === undefined && method === 'POST') {
        const invalid = validate(b, true);
        if (invalid) return json(res, 422, invalid, headers);
        const at = new Date().toISOString();
        const issue: GitHubIssue = {
          id: nextId++,
          number: list.length + 1,
          title: String(b.title),
          body: typeof b.body === 'string' ? b.body : null,
          labels: Array.isArray(b.labels)
            ? b.labels.map((l) => String(typeof l === 'object' ? (l as { name?: string }).name : l))
            : [],
          state: 'open',
          state_reason: null,
          created_at: at,
          updated_at: at,
          closed_at: null,
        };
        list.push(issue);
        json(res, 201, issueJson(repo, issue), { ...headers, location: issueJson(repo, issue).url as string });
        return;
      }
      const issue = number === undefined ? undefined : list[number - 1];
      if (number === undefined && method === 'GET') {
        // `?labels=a,b` keeps issues with every label; `?state=open|closed|all` (default open).
        const q = splitUrl(req).query;
        const labels = (q.get('labels') ?? '').split(',').filter(Boolean);
        const state = q.get('state') ?? 'open';
        const hits = list.filter(
          (i) => labels.every((l) => i.labels.includes(l)) && (state === 'all' || i.state === state),
        );
        return json(
          res,
          200,
          hits.slice(0, Number(q.get('per_page') ?? 30)).map((i) => issueJson(repo, i)),
          headers,
        );
      }
      if (!issue) return json(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, headers);
      if (method === 'GET') return json(res, 200, issueJson(repo, issue), headers);
      if (method === 'PATCH') {
        const invalid = validate(b, false);
        if (invalid) return json(res, 422, invalid, headers);
        if (typeof b.title === 'string') issue.title = b.title;
        if (b.state === 'closed' && issue.state === 'open') setClosed(issue, String(b.state_reason ?? 'completed'));
        if (b.state === 'open') Object.assign(issue, { state: 'open', state_reason: 'reopened', closed_at: null });
        issue.updated_at = new Date().toISOString();
        return json(res, 200, issueJson(repo, issue), headers);
      }
      json(res, 404, { message: 'Not Found', documentation_url: DOCS, status: '404' }, headers);
    },
    opts.port === undefined ? {} : { port: opts.port },
  );
  selfUrl = http.url;

  function setClosed(issue: GitHubIssue, reason: string): void {
    const at = new Date().toISOString();
    Object.assign(issue, { state: 'closed', state_reason: reason, closed_at: at, updated_at: at });
  }

  const fake: GitHubFake = {
    url: http.url,
    http,
    requests,
    issues: (repo) => repos.get(repo.toLowerCase()) ?? [],
    closeIssue(repo, number) {
      const issue = repos.get(repo.toLowerCase())?.[number - 1];
      if (!issue) throw new Error(`no issue ${repo}#${number}`);
      setClosed(issue, 'completed');
    },
    reopenIssue(repo, number) {
      const issue = repos.get(repo.toLowerCase())?.[number - 1];
      if (!issue) throw new Error(`no issue ${repo}#${number}`);
      Object.assign(issue, {
        state: 'open',
        state_reason: 'reopened',
        closed_at: null,
        updated_at: new Date().toISOString(),
      });
    },
    rateLimit(kind, count = 1, resetInSec = 1) {
      limited = { kind, left: count, resetAt: nowSec() + resetInSec };
    },
    close: () => http.close(),
  };
  return fake;
}

/** GitHub's 422 "Validation Failed" for an issue's fields. */
function validate(b: Record<string, unknown>, creating: boolean): Record<string, unknown> | undefined {
  const errors: Array<Record<string, string>> = [];
  if (creating && (typeof b.title !== 'string' || b.title.trim() === ''))
    errors.push({ resource: 'Issue', code: 'missing_field', field: 'title' });
  if (typeof b.title === 'string' && b.title.length > 256)
    errors.push({
      resource: 'Issue',
      code: 'custom',
      field: 'title',
      message: 'title is too long (maximum is 256 characters)',
    });
  if (b.state !== undefined && b.state !== 'open' && b.state !== 'closed')
    errors.push({ resource: 'Issue', code: 'invalid', field: 'state' });
  if (b.labels !== undefined && !Array.isArray(b.labels))
    errors.push({ resource: 'Issue', code: 'invalid', field: 'labels' });
  return errors.length
    ? {
        message: 'Validation Failed',
        errors,
        documentation_url: 'https://docs.github.com/rest/issues/issues',
        status: '422',
      }
    : undefined;
}
