// Posts a storm digest (storm.ts) as the one top-level message of every incident in it, once
// across replicas, and re-renders it when an incident joins after it went out.
import { DeliveryError } from './delivery.js';
import type { OutboxRow } from './outbox.js';
import { incidentsInDigest } from './store.js';
import { claimDigestPosting, digestPosted, getDigest, releaseDigestPosting } from './storm.js';
import type { Incident } from './types.js';
import type { WorkerEnv } from './worker-env.js';

/**
 * The root row of an incident in a storm digest: the first one due posts the digest naming
 * every incident in it, which completes all their root rows at once; one that joined after the
 * digest went out re-renders it so it names that incident too.
 */
export async function sendDigest(env: WorkerEnv, row: OutboxRow, i: Incident, digestId: number): Promise<void> {
  const { deps, slack, leaseMs } = env;
  const d = await getDigest(deps.store, digestId);
  if (!d) throw new DeliveryError(`storm digest ${digestId} not found`, 'permanent');
  if (d.rootTs) {
    const rootTs = d.rootTs;
    let listed = d.listed;
    if (!listed.includes(i.id)) {
      const members = await incidentsInDigest(deps.store, digestId);
      await slack.updateDigest(d.channel, rootTs, digestId, members);
      listed = members.map((m) => m.id);
    }
    await deps.store.tx((q) => digestPosted(q, digestId, rootTs, listed, deps.now()));
    return;
  }
  const claim = await claimDigestPosting(deps.store, digestId, deps.now(), leaseMs, env.claims.id());
  if (!claim.ok) throw new DeliveryError('the storm digest is being posted by another worker', 'busy', 1000);
  try {
    const members = await incidentsInDigest(deps.store, digestId);
    // A try that failed may have posted it all the same (a timeout after Slack took it).
    let ts = claim.triedBefore || row.tried ? await slack.findDigest(d.channel, digestId) : undefined;
    ts ??= await slack.postDigest(d.channel, digestId, members);
    const rootTs = ts;
    await deps.store.tx((q) =>
      digestPosted(
        q,
        digestId,
        rootTs,
        members.map((m) => m.id),
        deps.now(),
      ),
    );
  } catch (err) {
    await releaseDigestPosting(deps.store, digestId, deps.now()).catch(() => undefined);
    throw err;
  }
}
