// Files queued follow-ups as GitHub issues beside the incident worker's loop, one at a time for
// all replicas: each row is claimed in the store, a rate limit or an unreachable GitHub is
// retried with backoff (for a rate limit, from GitHub's reset time), and a follow-up GitHub
// refuses, or that never got through, is said in the incident's thread. Each issue's body holds a
// marker, so a retry after a crash between GitHub's answer and the store finds the issue it made.
import { backoff } from '../backoff.js';
import { mdText } from '../domain/markdown.js';
import { enqueuePost, OUTBOX_BACKOFF } from '../incidents/outbox.js';
import { refreshPostmortem } from '../incidents/postmortem.js';
import { getIncident } from '../incidents/store.js';
import { addTimeline } from '../incidents/timeline.js';
import type { Actor, Incident } from '../incidents/types.js';
import type { LaneHooks, WorkerEnv } from '../incidents/worker-env.js';
import { type GitHubIssues, githubFailure, githubIssues, type IssueRef } from './github.js';
import { type Followup, type FollowupRow, followupFrom, followupsConfigured, recordState } from './store.js';

/** Tries before a follow-up that GitHub keeps not answering is given up and said in the thread. */
export const FOLLOWUP_MAX_ATTEMPTS = 8;
export const FOLLOWUP_LABEL = 'incident';

export const followupMarker = (incidentId: string, rowId: number): string =>
  `<!-- dmp-bot follow-up ${incidentId}/${rowId} -->`;

export interface FollowupLane {
  start(): Promise<boolean>;
  inFlight(): Array<Promise<void>>;
}

async function claimOne(env: WorkerEnv): Promise<FollowupRow | undefined> {
  const now = env.deps.now();
  const [row] = await env.deps.store.query<FollowupRow>(
    `WITH next AS (
       SELECT id FROM incident_followups
        WHERE done_at IS NULL AND not_before <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
        ORDER BY id LIMIT 1
        FOR UPDATE SKIP LOCKED
     )
     UPDATE incident_followups f SET claimed_until = $2, attempts = f.attempts + 1
       FROM next WHERE f.id = next.id
     RETURNING f.*`,
    [now, new Date(now.getTime() + env.leaseMs)],
  );
  return row;
}

/** Follow-ups whose issue state was last read this long ago are read again by the lane. */
export const FOLLOWUP_STATE_MAX_AGE_MS = 24 * 3_600_000;

/** After a failed read-back, the issue is tried again this much later rather than a day later. */
export const FOLLOWUP_STATE_RETRY_MS = 3_600_000;

/**
 * Claims (by moving its state_at to now) one filed follow-up not checked for a day — closed ones
 * too, since an issue can be reopened on GitHub.
 */
async function claimStale(env: WorkerEnv): Promise<FollowupRow | undefined> {
  const now = env.deps.now();
  const [row] = await env.deps.store.query<FollowupRow>(
    `WITH next AS (
       SELECT id FROM incident_followups
        WHERE issue_number IS NOT NULL AND state_at < $2
        ORDER BY state_at LIMIT 1
        FOR UPDATE SKIP LOCKED
     )
     UPDATE incident_followups f SET state_at = $1 FROM next WHERE f.id = next.id
     RETURNING f.*`,
    [now, new Date(now.getTime() - FOLLOWUP_STATE_MAX_AGE_MS)],
  );
  return row;
}

async function refreshOne(env: WorkerEnv, gh: GitHubIssues, raw: FollowupRow): Promise<void> {
  const f = followupFrom(raw);
  const issue = await gh.get(f.issueNumber as number);
  if (issue.state === f.state) return;
  const now = env.deps.now();
  await env.deps.store.tx(async (q) => {
    await recordState(q, f.id, issue.state, now);
    const i = await getIncident(q, f.incidentId);
    if (i) await refreshPostmortem(q, i, now);
  });
}

export function followupLane(env: WorkerEnv, hooks: LaneHooks): FollowupLane {
  let running: Promise<void> | undefined;
  let client: GitHubIssues | undefined;
  return {
    async start() {
      const { config } = env.deps;
      if (running || hooks.stopped() || !followupsConfigured(config)) return false;
      client ??= githubIssues(config, env.log);
      const row = await claimOne(env);
      if (!row) {
        // Idle: read back one filed issue not checked for a day, so closed ones reach the document daily.
        const stale = await claimStale(env);
        if (!stale) return false;
        const f = followupFrom(stale);
        running = refreshOne(env, client, stale)
          .catch(async (err: unknown) => {
            const { reason } = githubFailure(err, f.repo, env.deps.now().getTime(), env.deps.redactor);
            env.log.warn({ followup: f.id, issue: f.issueNumber, reason }, 'could not read a follow-up issue back');
            // Read again within the hour, not a day later.
            await env.deps.store
              .query('UPDATE incident_followups SET state_at = $2 WHERE id = $1', [
                f.id,
                new Date(env.deps.now().getTime() - FOLLOWUP_STATE_MAX_AGE_MS + FOLLOWUP_STATE_RETRY_MS),
              ])
              .catch(() => {});
          })
          .finally(() => {
            running = undefined;
          });
        return true;
      }
      running = fileOne(env, client, row)
        .catch((err: unknown) => env.log.error({ err }, 'filing a follow-up failed; it is retried after its lease'))
        .finally(() => {
          running = undefined;
          if (!hooks.stopped()) hooks.runRound();
        });
      return true;
    },
    inFlight: () => (running ? [running] : []),
  };
}

function issueBody(i: Incident, f: Followup, permalink: string | undefined, marker: string): string {
  const ref = i.number ?? i.id;
  const who = (a: Actor | undefined) => mdText(a?.name ?? (a?.slackId ? `@${a.slackId}` : 'someone'));
  return [
    f.source === 'thread'
      ? `Follow-up added in the Slack thread of incident ${i.number ? `#${i.number} ` : ''}**${mdText(i.title)}** (${i.severity}${i.serviceName ? `, ${mdText(i.serviceName)}` : ''}) by ${who(f.addedBy)}.`
      : `Follow-up from the post-mortem of incident ${i.number ? `#${i.number} ` : ''}**${mdText(i.title)}** (${i.severity}${i.serviceName ? `, ${mdText(i.serviceName)}` : ''}).`,
    '',
    `- PagerDuty: ${i.htmlUrl ?? mdText(i.id)}`,
    `- Slack thread: ${permalink ?? 'not known'}`,
    `- Post-mortem: \`/dmp postmortem ${ref}\` in Slack, and the \`postmortem-${ref}.md\` file in the thread`,
    ...(f.owner ? [`- Owner: ${who(f.owner)} (Slack)`] : []),
    ...(f.dueOn ? [`- Due: ${f.dueOn}`] : []),
    '',
    f.source === 'thread'
      ? '_Filed by dmp-bot from the incident thread._'
      : '_Filed by dmp-bot from the post-mortem action items._',
    marker,
  ].join('\n');
}

async function fileOne(env: WorkerEnv, gh: GitHubIssues, raw: FollowupRow): Promise<void> {
  const { deps, log } = env;
  const f = followupFrom(raw);
  const i = await getIncident(deps.store, f.incidentId);
  if (!i) {
    await deps.store.query(
      'UPDATE incident_followups SET done_at = $2, failed = true, error = $3, claimed_until = NULL WHERE id = $1',
      [f.id, deps.now(), 'the incident is gone'],
    );
    return;
  }
  const marker = followupMarker(i.id, f.id);
  let issue: IssueRef;
  try {
    // A retry may follow a try whose issue GitHub made but whose answer was lost.
    const earlier = f.attempts > 1 ? await gh.findByMarker(FOLLOWUP_LABEL, marker) : undefined;
    issue =
      earlier ??
      (await gh.create({
        title: f.title,
        body: issueBody(i, f, await env.slack.permalink?.(i), marker),
        labels: [FOLLOWUP_LABEL, i.severity],
      }));
  } catch (err) {
    const failure = githubFailure(err, f.repo, deps.now().getTime(), deps.redactor);
    log.warn({ incident: i.id, followup: f.id, reason: failure.reason }, 'GitHub did not take a follow-up');
    if (failure.retry && f.attempts < FOLLOWUP_MAX_ATTEMPTS) {
      await deps.store.query(
        'UPDATE incident_followups SET not_before = $2, claimed_until = NULL, error = $3 WHERE id = $1',
        [
          f.id,
          new Date(deps.now().getTime() + backoff(f.attempts, { ...OUTBOX_BACKOFF, atLeast: failure.afterMs })),
          failure.reason,
        ],
      );
      return;
    }
    const now = deps.now();
    await deps.store.tx(async (q) => {
      await q.query(
        'UPDATE incident_followups SET done_at = $2, failed = true, error = $3, claimed_until = NULL WHERE id = $1',
        [f.id, now, failure.reason],
      );
      await enqueuePost(
        q,
        i,
        {
          type: 'warning',
          text: `The follow-up “${f.title}” could not be filed in GitHub (${f.repo}): ${failure.reason}${failure.retry ? ` after ${f.attempts} tries` : ''}. It stays in the post-mortem's action items.`,
        },
        now,
      );
    });
    return;
  }
  const now = deps.now();
  await deps.store.tx(async (q) => {
    await q.query(
      `UPDATE incident_followups SET done_at = $2, issue_number = $3, issue_url = $4, state = $5, state_at = $2,
         claimed_until = NULL, error = NULL WHERE id = $1`,
      [f.id, now, issue.number, issue.url, issue.state],
    );
    await addTimeline(q, i.id, {
      at: now,
      kind: 'postmortem',
      actor: { source: 'bot' },
      text: `Follow-up filed: ${f.title} (${issue.url})`,
      source: 'bot',
    });
    // The batch of this submission is told in one reply once its last item is filed.
    const [left] = await q.query<{ n: string }>(
      'SELECT count(*) AS n FROM incident_followups WHERE incident_id = $1 AND done_at IS NULL',
      [i.id],
    );
    if (Number(left?.n ?? 0) > 0) return;
    const fresh = await q.query<{
      title: string;
      issue_url: string;
      issue_number: number;
      owner: Actor | null;
      due_on: string | null;
      added_by: Actor | null;
    }>(
      `UPDATE incident_followups SET announced_at = $2
        WHERE incident_id = $1 AND announced_at IS NULL AND issue_url IS NOT NULL
        RETURNING title, issue_url, issue_number, owner, due_on::text AS due_on, added_by`,
      [i.id, now],
    );
    if (fresh.length) {
      await enqueuePost(
        q,
        i,
        {
          type: 'followups_filed',
          issues: fresh
            .sort((a, b) => a.issue_number - b.issue_number)
            .map((r) => ({
              title: r.title,
              url: r.issue_url,
              number: r.issue_number,
              ...(r.owner?.slackId ? { owner: r.owner.slackId } : {}),
              ...(r.due_on ? { dueOn: r.due_on } : {}),
              ...(r.added_by?.slackId ? { addedBy: r.added_by.slackId } : {}),
            })),
        },
        now,
      );
    }
    // The stored document lists the issues from now on.
    await refreshPostmortem(q, i, now);
  });
}
