// Reads the state of an incident's follow-up issues back from GitHub when the post-mortem is
// shown, so an issue closed on github.com shows as closed. GitHub not answering leaves the last
// known state (the post-mortem still shows, with the state as it was).
import type { Config } from '../config.js';
import { refreshPostmortem } from '../incidents/postmortem.js';
import { getIncident } from '../incidents/store.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../redact.js';
import type { Sql } from '../store/sql.js';
import { githubFailure, githubIssues } from './github.js';
import { followupsConfigured, followupsOf, recordState } from './store.js';

export interface RefreshDeps {
  config: Config;
  log: Logger;
  store: Sql;
  now(): Date;
  redactor: Redactor;
}

/** Returns how many follow-ups changed state. */
export async function refreshFollowupStates(deps: RefreshDeps, incidentId: string): Promise<number> {
  if (!followupsConfigured(deps.config)) return 0;
  const filed = (await followupsOf(deps.store, incidentId)).filter((f) => f.issueNumber !== undefined);
  if (!filed.length) return 0;
  const gh = githubIssues(deps.config, deps.log);
  let changed = 0;
  await Promise.all(
    filed.map(async (f) => {
      try {
        const issue = await gh.get(f.issueNumber as number);
        if (issue.state !== f.state) changed += 1;
        await recordState(deps.store, f.id, issue.state, deps.now());
      } catch (err) {
        const { reason } = githubFailure(err, f.repo, deps.now().getTime(), deps.redactor);
        deps.log.warn({ incident: incidentId, issue: f.issueNumber, reason }, 'could not read a follow-up issue back');
      }
    }),
  );
  if (changed) {
    await deps.store.tx(async (q) => {
      const i = await getIncident(q, incidentId);
      if (i) await refreshPostmortem(q, i, deps.now());
    });
  }
  return changed;
}
