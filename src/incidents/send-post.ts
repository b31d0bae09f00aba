// Sends one claimed Slack outbox post according to its intent: the root message (or the storm
// digest standing in for it), thread replies, diagnoses run on the spot, post-mortems.
import { findProcedure } from '../runbooks/index.js';
import { runProcedure } from '../runbooks/run.js';
import { contactFor, contactsFor } from './contacts.js';
import { DeliveryError } from './delivery.js';
import { sendDigest } from './digest-posting.js';
import { specialistRoles } from './match.js';
import { completePost, laterRootUpdate, type OutboxRow } from './outbox.js';
import { refreshPostmortem } from './postmortem.js';
import { withRecentDeployments } from './recent-deploys.js';
import { incidentsInDigest, setRootTs } from './store.js';
import { addTimeline, timelineOf } from './timeline.js';
import type { Incident, Mention } from './types.js';
import { recordDiagnosis } from './verification.js';
import { sendVerification } from './verification-run.js';
import type { WorkerEnv } from './worker-env.js';

/** Sends the post; throws a DeliveryError (or anything else, taken as `failed`) when Slack did not take it. */
export async function sendPost(env: WorkerEnv, row: OutboxRow, i: Incident): Promise<void> {
  const { deps, slack } = env;
  const intent = row.intent;
  const done = (result: Record<string, unknown> = {}) => completePost(deps.store, row.id, deps.now(), result);
  const ref = { outboxId: row.id };
  if (intent.type === 'root') {
    if (i.digestId !== undefined) {
      await sendDigest(env, row, i, i.digestId);
      return;
    }
    let ts = i.rootTs ?? (row.tried ? await slack.findRoot(i) : undefined);
    if (!ts) ts = await slack.postRoot(i, ref);
    const rootTs = ts;
    await deps.store.tx(async (q) => {
      await setRootTs(q, i.id, rootTs);
      await completePost(q, row.id, deps.now(), { ts: rootTs });
    });
    return;
  }
  if (!i.rootTs) throw new DeliveryError('the incident has no root message to reply to', 'permanent');
  // An earlier try may have reached Slack before its process died or its answer was lost: a
  // reply found in the thread under this row's id is recorded, not posted again.
  if (intent.type !== 'update_root' && intent.type !== 'role_dm' && row.tried) {
    const ts = await slack.findReply(i, ref);
    if (ts) {
      await done({ ts, found: true });
      return;
    }
  }
  switch (intent.type) {
    case 'update_root':
      if (i.digestId !== undefined) {
        if (!(await laterRootUpdate(deps.store, row, i.digestId)))
          await slack.updateDigest(
            i.channel as string,
            i.rootTs,
            i.digestId,
            await incidentsInDigest(deps.store, i.digestId),
          );
      } else if (!(await laterRootUpdate(deps.store, row))) await slack.updateRoot(i);
      break;
    case 'diagnosis': {
      const procedure = findProcedure(intent.procedureId) ?? findProcedure('health');
      if (!procedure) throw new DeliveryError(`no procedure ${intent.procedureId}`, 'permanent');
      const ran = await runProcedure(procedure, deps.targets, [], deps.config.CHECK_DEADLINE);
      // A new thread's automatic diagnosis reviews the recent deployments too (runbook: investigate).
      const report = intent.actor
        ? ran
        : await withRecentDeployments(ran, deps.targets, deps.config.DMP_DEPLOYMENTS, i, deps.config.CHECK_DEADLINE);
      await slack.postReport(i, report, intent.actor, ref);
      // The baseline the next verification compares with; the report is out, so a failure here must not repost it.
      await recordDiagnosis(deps.store, i.id, ran, deps.now()).catch((err: unknown) =>
        env.log.warn({ err, incident: i.id }, 'could not record the diagnosis for verification'),
      );
      const counts = ['critical', 'warn', 'unknown']
        .map((s) => [s, report.findings.filter((f) => f.status === s).length] as const)
        .filter(([, n]) => n > 0);
      // In a storm one automatic diagnosis serves every incident of the digest it fits.
      const served =
        i.digestId !== undefined && !intent.actor
          ? (await incidentsInDigest(deps.store, i.digestId)).filter(
              (m) => m.id === i.id || m.procedureId === intent.procedureId,
            )
          : [i];
      // The timeline and the row's completion together: a retry that finds the report posted
      // has nothing left to write.
      await deps.store.tx(async (q) => {
        for (const m of served) {
          await addTimeline(q, m.id, {
            at: deps.now(),
            kind: 'diagnosis',
            actor: intent.actor ?? { source: 'bot' },
            text: `Diagnosis ${procedure.title}: ${report.verdict}${counts.length ? ` (${counts.map(([s, n]) => `${n} ${s}`).join(', ')})` : ''}${m.id === i.id ? '' : ' (one report for the storm digest)'}`,
            source: 'bot',
          });
        }
        await completePost(q, row.id, deps.now(), {});
      });
      return;
    }
    case 'postmortem':
    case 'postmortem_updated': {
      const pm = await refreshPostmortem(deps.store, i, deps.now());
      if (!pm) throw new DeliveryError('no post-mortem stored', 'permanent');
      await slack.postPostmortem(
        i,
        pm,
        await timelineOf(deps.store, i.id),
        intent.type === 'postmortem_updated' ? intent.actor : undefined,
        ref,
      );
      break;
    }
    case 'verification':
      await sendVerification(env, row, i, intent);
      return;
    case 'ack_reminder':
    case 'commander_nudge':
      await slack.postReply(i, { ...intent, onCall: await onCallMentions(env, i) }, ref);
      break;
    case 'role_dm':
      await slack.notifyUser(intent.to, intent.text);
      break;
    case 'storm_opened': {
      const members = i.digestId !== undefined ? await incidentsInDigest(deps.store, i.digestId) : [i];
      await slack.postReply(i, { type: 'storm_opened', members: members.length }, ref);
      break;
    }
    case 'bringing_in': {
      if (!intent.forDigest) {
        await slack.postReply(i, intent, ref);
        break;
      }
      // A storm's specialists: those its incidents call for, as the digest stands now.
      const members = i.digestId !== undefined ? await incidentsInDigest(deps.store, i.digestId) : [i];
      const roles = [...new Set(members.flatMap((m) => specialistRoles(m.title, m.serviceName)))];
      const contacts = contactsFor(deps.config.ESCALATION_CONTACTS, roles);
      if (contacts.length) await slack.postReply(i, { type: 'bringing_in', contacts, forDigest: true }, ref);
      break;
    }
    default:
      await slack.postReply(i, intent, ref);
  }
  await done();
}

/** Who is on call: ESCALATION_CONTACTS.on_call, else the PagerDuty assignees found in Slack by email. */
async function onCallMentions(env: WorkerEnv, i: Incident): Promise<Mention[]> {
  const { deps, slack, pd, log } = env;
  const configured = contactFor(deps.config.ESCALATION_CONTACTS, 'on_call');
  if (configured) return [configured];
  const out: Mention[] = [];
  for (const a of i.assignees.slice(0, 5)) {
    let slackId: string | undefined;
    try {
      if (pd.configured) {
        const res = await pd.request('GET', `/users/${encodeURIComponent(a.id)}`);
        const email = (res.body as { user?: { email?: string } } | undefined)?.user?.email;
        if (email) slackId = await slack.userByEmail(email);
      }
    } catch (err) {
      log.warn({ err, user: a.id }, 'could not find the on-call in Slack; naming them instead');
    }
    out.push(slackId ? { slackId, name: a.summary } : { name: a.summary });
  }
  return out;
}
