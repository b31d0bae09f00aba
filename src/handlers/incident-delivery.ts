// Slack glue for the incident worker: renders the outbox's intents with blocks/incident*.ts and
// sends them through the Web API (SLACK_API_URL); maps Slack's failures to retry-or-give-up.
// startIncidents() runs the worker in a bot process and wakes it when webhooks arrive.
import { type WebClient, WebAPIPlatformError, WebAPIRateLimitedError } from '@slack/web-api';
import { incidentReply, incidentRoot } from '../blocks/incident.js';
import { postmortemMessage } from '../blocks/incident-postmortem.js';
import { fitBlocks } from '../blocks/limits.js';
import { context, type Message } from '../blocks/message.js';
import { reportMessage } from '../blocks/report.js';
import type { Deps } from '../deps.js';
import { registerWaker, unregisterWaker } from '../incidents/wake.js';
import { DeliveryError, type IncidentSlack, type IncidentWorker, startIncidentWorker, type WorkerOptions } from '../incidents/worker.js';
import type { Incident } from '../incidents/types.js';
import { redactDeep } from '../redact.js';
import { createPagerDuty } from '../targets/pagerduty.js';

/** Slack answers that retrying cannot fix. */
const PERMANENT = new Set([
  'channel_not_found',
  'is_archived',
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_too_long',
  'no_text',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'missing_scope',
  'restricted_action',
  'message_not_found',
  'cant_update_message',
  'invalid_arguments',
]);

function deliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof WebAPIRateLimitedError) return new DeliveryError('rate limited by Slack', false, err.retryAfter * 1000);
  if (err instanceof WebAPIPlatformError) return new DeliveryError(`Slack answered ${err.data.error}`, PERMANENT.has(err.data.error));
  return new DeliveryError(String((err as Error)?.message ?? err), false);
}

export const INCIDENT_METADATA_TYPE = 'dmp_incident';

export function createIncidentSlack(deps: Pick<Deps, 'slack' | 'log' | 'config' | 'now'>): IncidentSlack {
  const client: WebClient = deps.slack;
  const opts = { statusPageUrl: deps.config.STATUS_PAGE_URL };

  async function post(channel: string, m: Message, threadTs?: string, metadata?: { event_type: string; event_payload: Record<string, string> }): Promise<string> {
    const args = redactDeep({ channel, text: m.text, blocks: m.blocks, unfurl_links: false, unfurl_media: false, ...(threadTs ? { thread_ts: threadTs } : {}) });
    const send = () => client.chat.postMessage({ ...args, ...(metadata ? { metadata } : {}) });
    try {
      const res = await send().catch(async (err: unknown) => {
        // The bot was never invited: join the public channel once and try again.
        if (!(err instanceof WebAPIPlatformError && err.data.error === 'not_in_channel')) throw err;
        await client.conversations.join({ channel });
        return send();
      });
      return String(res.ts);
    } catch (err) {
      throw deliveryError(err);
    }
  }

  async function upload(i: Incident, files: Message['files']): Promise<void> {
    for (const f of files ?? []) {
      try {
        await client.filesUploadV2({ channel_id: i.channel as string, thread_ts: i.rootTs as string, filename: f.filename, title: f.title, content: redactDeep(f.content) });
      } catch (err) {
        throw deliveryError(err);
      }
    }
  }

  return {
    async postRoot(i) {
      return post(i.channel as string, incidentRoot(i, deps.now()), undefined, { event_type: INCIDENT_METADATA_TYPE, event_payload: { incident_id: i.id } });
    },
    async findRoot(i) {
      try {
        const res = await client.conversations.history({ channel: i.channel as string, limit: 200, include_all_metadata: true });
        const found = (res.messages ?? []).find((m) => {
          const md = m.metadata as { event_type?: string; event_payload?: { incident_id?: string } } | undefined;
          return md?.event_type === INCIDENT_METADATA_TYPE && md.event_payload?.incident_id === i.id && !m.thread_ts;
        });
        return found?.ts;
      } catch (err) {
        deps.log.warn({ err, incident: i.id }, 'could not look for an earlier root post; posting one');
        return undefined;
      }
    },
    async updateRoot(i) {
      const m = incidentRoot(i, deps.now());
      try {
        await client.chat.update(redactDeep({ channel: i.channel as string, ts: i.rootTs as string, text: m.text, blocks: m.blocks }));
      } catch (err) {
        throw deliveryError(err);
      }
    },
    async postReply(i, intent) {
      await post(i.channel as string, incidentReply(i, intent, opts), i.rootTs);
    },
    async postReport(i, report, actor) {
      const m = reportMessage(report, { grafanaUrl: deps.config.GRAFANA_URL });
      const intro = actor?.slackId ? `Diagnosis requested by <@${actor.slackId}>` : 'Automatic diagnosis for this incident, from the runbook';
      await post(i.channel as string, { ...m, blocks: fitBlocks([context(intro), ...m.blocks]) }, i.rootTs);
      await upload(i, m.files);
    },
    async postPostmortem(i, pm, timeline, updatedBy) {
      const m = postmortemMessage(i, pm, timeline, { updatedBy });
      await post(i.channel as string, m, i.rootTs);
      await upload(i, m.files);
    },
    async userByEmail(email) {
      try {
        const res = await client.users.lookupByEmail({ email });
        return res.user?.id;
      } catch {
        return undefined;
      }
    },
    async notifyUser(slackId, text) {
      await client.chat.postMessage(redactDeep({ channel: slackId, text }));
    },
  };
}

export interface IncidentsHandle {
  worker: IncidentWorker;
  stop(): Promise<void>;
}

/** Starts the incident worker of a bot process (called by startBot). */
export function startIncidents(deps: Deps, opts: WorkerOptions = {}): IncidentsHandle {
  const pd = createPagerDuty({ token: deps.config.PAGERDUTY_API_TOKEN, baseUrl: deps.config.PAGERDUTY_API_URL, timeoutMs: deps.config.PAGERDUTY_TIMEOUT });
  const worker = startIncidentWorker(deps, createIncidentSlack(deps), pd, opts);
  registerWaker(deps, () => worker.wake());
  return {
    worker,
    async stop() {
      unregisterWaker(deps);
      await worker.stop();
    },
  };
}
