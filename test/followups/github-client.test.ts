// The follow-ups' GitHub client (real Octokit) against the GitHub fake: what each of GitHub's
// refusals means for a follow-up (retry or tell), and that the token never shows in the reason.
import { type GitHubFake, startGitHubFake } from '@dmp-bot/sim/github-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { githubFailure, githubIssues } from '../../src/followups/github.js';
import { createLogger } from '../../src/log.js';
import { Redactor } from '../../src/redact.js';

const TOKEN = 'ghp_clienttesttoken00000000000000000000';
const REPO = 'dmp/platform';
const log = createLogger('silent');

describe('the GitHub issues client', () => {
  let gh: GitHubFake;
  const client = (over: { token?: string; repo?: string } = {}) =>
    githubIssues(
      { GITHUB_TOKEN: over.token ?? TOKEN, FOLLOWUP_REPO: over.repo ?? REPO, GITHUB_API_URL: `${gh.url}/` },
      log,
    );
  const failureOf = async (p: Promise<unknown>, repo = REPO) => {
    try {
      await p;
    } catch (err) {
      return githubFailure(err, repo, Date.now(), new Redactor());
    }
    throw new Error('the call did not fail');
  };

  beforeAll(async () => {
    gh = await startGitHubFake({ tokens: [TOKEN], repos: [REPO] });
  });
  afterAll(async () => {
    await gh?.close();
  });

  it('creates an issue and reads its state back, open then closed', async () => {
    const made = await client().create({ title: 'Add an alert', body: 'see the incident', labels: ['incident', 'P1'] });
    expect(made).toEqual({ number: 1, url: `https://github.com/${REPO}/issues/1`, state: 'open' });
    const sent = gh.requests.find((r) => r.method === 'POST');
    expect(sent?.body).toEqual({ title: 'Add an alert', body: 'see the incident', labels: ['incident', 'P1'] });
    expect(sent?.headers['user-agent']).toContain('dmp-bot');
    gh.closeIssue(REPO, 1);
    expect((await client().get(1)).state).toBe('closed');
  });

  it('a wrong token is told (not retried) and the reason never holds the token', async () => {
    const bad = 'ghp_wrongtoken0000000000000000000000000';
    const f = await failureOf(client({ token: bad }).create({ title: 'x', body: '', labels: [] }));
    expect(f).toMatchObject({ retry: false });
    expect(f.reason).toContain('401');
    expect(f.reason).toContain('GITHUB_TOKEN');
    expect(f.reason).not.toContain(bad);
  });

  it('an unknown repository and an invalid issue are told with GitHub’s reasons', async () => {
    const missing = await failureOf(
      client({ repo: 'dmp/nope' }).create({ title: 'x', body: '', labels: [] }),
      'dmp/nope',
    );
    expect(missing).toMatchObject({ retry: false, notFound: true });
    expect(missing.reason).toContain('dmp/nope');
    const invalid = await failureOf(client().create({ title: ' ', body: '', labels: [] }));
    expect(invalid).toMatchObject({ retry: false });
    expect(invalid.reason).toContain('422 Validation Failed');
    expect(invalid.reason).toContain('title missing_field');
  });

  it('the primary rate limit is retried at its reset, the secondary after retry-after', async () => {
    gh.rateLimit('primary', 1, 30);
    const primary = await failureOf(client().get(1));
    expect(primary).toMatchObject({ retry: true });
    expect(primary.reason).toContain('403');
    expect(primary.retry && primary.afterMs).toBeGreaterThan(20_000);
    expect(primary.retry && primary.afterMs).toBeLessThanOrEqual(31_000);
    gh.rateLimit('secondary', 1, 5);
    const secondary = await failureOf(client().get(1));
    expect(secondary).toMatchObject({ retry: true });
    expect(secondary.reason).toContain('429');
    expect(secondary.retry && secondary.afterMs).toBeGreaterThanOrEqual(4_000);
    // The limit is over: the next call goes through.
    expect((await client().get(1)).number).toBe(1);
  });

  it('GitHub refuses a request without a User-Agent and a body that is not JSON', async () => {
    const noAgent = await fetch(`${gh.url}/repos/${REPO}/issues/1`, {
      headers: { authorization: `token ${TOKEN}`, 'user-agent': '' },
    });
    expect(noAgent.status).toBe(403);
    const garbage = await fetch(`${gh.url}/repos/${REPO}/issues`, {
      method: 'POST',
      headers: { authorization: `token ${TOKEN}`, 'user-agent': 'x', 'content-type': 'application/json' },
      body: '{not json',
    });
    expect(garbage.status).toBe(400);
    expect(gh.issues(REPO)).toHaveLength(1);
  });
});
