// The periodic sweep that keeps remediations from hanging in `running`: it renews the heartbeat
// of this replica's running actions, and at start-up and every REMEDIATION_HEARTBEAT claims the
// actions of replicas that stopped beating (died, or handed them over on SIGTERM), follows or
// reports each in its thread, and updates its confirmation message.
import type { WebClient } from '@slack/web-api';
import { finishedMessage, outcomeMessage, progressMessage } from '../blocks/remediation.js';
import type { Deps } from '../deps.js';
import { plainText } from '../domain/text.js';
import { type Recovered, recoverAction } from '../remediations/recovery.js';
import type { ProgressNote } from '../remediations/types.js';
import { beatFor, claimOrphans, handOver } from '../store/remediation-owners.js';
import type { ActionRow } from '../store/remediations.js';
import { post, recordInIncident, update } from './remediation-kit.js';

/** A replica that missed this many heartbeats in a row is taken for gone. */
const MISSED_BEATS = 3;

export interface RemediationRecovery {
  /** Recoveries under way (following a rollout). */
  readonly active: number;
  /** Resolves when no recovery is under way, or after `timeoutMs`; true when none is. */
  drain(timeoutMs: number): Promise<boolean>;
  /** Stops sweeping and gives this replica's running actions up for another replica to take over. */
  stop(): Promise<number>;
}

export function startRemediationRecovery(deps: Deps, slack: WebClient, replicaId: string): RemediationRecovery {
  const every = deps.config.REMEDIATION_HEARTBEAT;
  const active = new Set<Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  let failing = false;

  const report = async (row: ActionRow, r: Recovered): Promise<void> => {
    if (r.kind === 'settled') return;
    const label = deps.remediations.labelOf(row);
    const thread = row.threadTs ?? row.messageTs;
    const told = outcomeMessage(r.action, label, r.outcome);
    await post(deps, slack, row.channelId, thread, told);
    // The timeline keeps plain words (rendered, and escaped, when shown), not the posted mrkdwn.
    await recordInIncident(deps, row.channelId, thread, row.requestedBy, `${label}: ${plainText(r.outcome.summary)}`);
    if (row.messageTs)
      await update(deps, slack, row.channelId, row.messageTs, finishedMessage(r.action, label, r.outcome));
  };

  const recover = async (row: ActionRow): Promise<void> => {
    const thread = row.threadTs ?? row.messageTs;
    const progress = async (note: ProgressNote) => {
      await post(deps, slack, row.channelId, thread, progressMessage(note));
    };
    try {
      const r = await recoverAction(
        {
          store: deps.store,
          log: deps.log,
          redactor: deps.redactor,
          context: (p) => deps.remediations.context(p),
          labelOf: (a) => deps.remediations.labelOf(a),
        },
        row,
        progress,
      );
      deps.log.info({ id: row.id, remedy: row.remedy, result: r.kind }, 'recovered a remediation left running');
      await report(row, r);
    } catch (err) {
      // The row stays claimed by this replica; if it is still running, the next owner's sweep tries again.
      deps.log.warn({ err, id: row.id }, 'could not recover a remediation left running');
    }
  };

  const sweep = async (): Promise<void> => {
    try {
      await beatFor(deps.store, replicaId);
      const orphans = await claimOrphans(deps.store, replicaId, every * MISSED_BEATS);
      for (const row of orphans) {
        const p = recover(row).finally(() => active.delete(p));
        active.add(p);
      }
      if (failing) deps.log.info('remediation heartbeat works again');
      failing = false;
    } catch (err) {
      // The store is down: the next round tries again; one warning per outage is enough.
      if (!failing) deps.log.warn({ err }, 'remediation heartbeat failed; retrying');
      failing = true;
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      round = sweep().finally(schedule);
    }, every);
    timer.unref();
  };
  round = sweep().finally(schedule);

  return {
    get active() {
      return active.size;
    },
    async drain(timeoutMs) {
      const until = Date.now() + timeoutMs;
      while (active.size > 0 && Date.now() < until)
        await Promise.race([Promise.allSettled([...active]), new Promise((r) => setTimeout(r, 100))]);
      return active.size === 0;
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await round.catch(() => {});
      try {
        return await handOver(deps.store, replicaId);
      } catch (err) {
        deps.log.warn({ err }, 'could not hand over running remediations; their heartbeat will lapse instead');
        return 0;
      }
    },
  };
}
