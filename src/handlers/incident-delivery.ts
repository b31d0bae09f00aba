// Slack glue for the incident worker: renders the outbox's intents with blocks/incident*.ts and
// sends them through the Web API (SLACK_API_URL) with a client of its own; maps Slack's failures
// to retry-or-give-up. startIncidents() runs the worker in a bot process; bot.ts hands its
// wake() to the webhook route and the incident listeners (deps.wakeIncidents).
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
} from '@slack/web-api';
import { incidentReply, incidentRoot, type RootOptions } from '../blocks/incident.js';
import { digestMessage, labelForDigest } from '../blocks/incident-digest.js';
import { postmortemMessage } from '../blocks/incident-postmortem.js';
import { fitBlocks } from '../blocks/limits.js';
import { context, esc, type Message } from '../blocks/message.js';
import { renderRich } from '../blocks/mrkdwn.js';
import { reportMessage } from '../blocks/report.js';
import { postmortemChartFile } from '../charts/postmortem-chart.js';
import { followupsConfigured } from '../followups/store.js';
import { collectQueues } from '../incidents/metrics.js';
import { type RootOnCall, type ServiceOnCall, serviceOnCall } from '../incidents/oncall.js';
import { CHANNEL_UNREACHABLE } from '../incidents/outbox.js';
import { pacedPagerDuty } from '../incidents/pagerduty-client.js';
import type { Incident } from '../incidents/types.js';
import {
  DeliveryError,
  type IncidentSlack,
  type IncidentWorker,
  type PostRef,
  startIncidentWorker,
  type WorkerOptions,
} from '../incidents/worker.js';
import { statuspageConfigured } from '../statuspage/client.js';
import { boltLogger } from './bolt-logger.js';
import { type SlackDeps, slackClientOptions } from './slack-client.js';

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

/** Slack answers that mean Slack is having trouble, not that the post is wrong. */
const UNAVAILABLE = new Set([
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

function deliveryError(err: unknown): DeliveryError {
  if (err instanceof DeliveryError) return err;
  if (err instanceof WebAPIRateLimitedError)
    return new DeliveryError('rate limited by Slack', 'rate_limited', err.retryAfter * 1000);
  if (err instanceof WebAPIPlatformError) {
    const code = String(err.data.error);
    if (code === 'ratelimited' || code === 'rate_limited')
      return new DeliveryError('rate limited by Slack', 'rate_limited', 1000);
    if (PERMANENT.has(code)) return new DeliveryError(`Slack answered ${code}`, 'permanent');
    // An answer that is not JSON comes back as a platform error carrying the body itself.
    if (UNAVAILABLE.has(code) || !/^[a-z_]{2,64}$/.test(code))
      return new DeliveryError(
        `Slack answered ${/^[a-z_]{2,64}$/.test(code) ? code : 'something that is not JSON'}`,
        'unavailable',
      );
    return new DeliveryError(`Slack answered ${code}`, 'failed');
  }
  if (err instanceof WebAPIRequestError)
    return new DeliveryError(`Slack unreachable: ${err.original?.message ?? err.message}`, 'unavailable');
  if (err instanceof WebAPIHTTPError)
    return new DeliveryError(`Slack answered HTTP ${err.statusCode}`, err.statusCode >= 500 ? 'unavailable' : 'failed');
  return new DeliveryError(String((err as Error)?.message ?? err), 'failed');
}

const slackCode = (err: unknown): string | undefined =>
  err instanceof WebAPIPlatformError ? String(err.data.error) : undefined;

/**
 * The bot is not in the channel and cannot join it. Slack's own refusals say so; anything else
 * from conversations.join (Slack down, rate limited) is taken as it comes.
 */
function unreachable(channel: string, code: string | undefined, err: unknown): DeliveryError {
  if (
    code === undefined ||
    !['method_not_supported_for_channel_type', 'channel_not_found', 'not_in_channel', 'is_archived'].includes(code)
  )
    return deliveryError(err);
  const why =
    code === 'method_not_supported_for_channel_type'
      ? 'it is private and the bot is not a member: invite the bot to it'
      : code === 'is_archived'
        ? 'it is archived'
        : 'the bot cannot see it (a private channel it is not in, or a wrong INCIDENTS_CHANNEL)';
  return new DeliveryError(`${CHANNEL_UNREACHABLE}: ${channel}: ${why} (Slack answered ${code})`, 'unreachable');
}

/**
 * A failure of a call in the incident's channel. A private channel the bot is not in looks to it
 * like no channel at all (channel_not_found), for reading its history as for posting in it.
 */
function channelFailure(channel: string, err: unknown): DeliveryError {
  const code = slackCode(err);
  return code === 'channel_not_found' || code === 'not_in_channel'
    ? unreachable(channel, code, err)
    : deliveryError(err);
}

export const INCIDENT_METADATA_TYPE = 'dmp_incident';
export const DIGEST_METADATA_TYPE = 'dmp_incident_digest';
/** A thread reply the outbox made: its payload names the incident and the outbox row. */
export const POST_METADATA_TYPE = 'dmp_incident_post';

/**
 * The outbox's own Web API client. A 429 comes back at once (rejectRateLimitedCalls) so the
 * worker pauses only that channel's bucket; by default the client would pause its whole request
 * queue, every channel and method, inside the call. No retries inside: the outbox retries by
 * itself, durably and paced, and a retry in here would hold the channel's lane.
 */
export function outboxClient(deps: Pick<SlackDeps, 'slack' | 'log' | 'metrics'>): WebClient {
  return new WebClient(deps.slack.token, {
    ...slackClientOptions(deps.slack.slackApiUrl, deps.metrics, deps.log),
    logger: boltLogger(deps.log),
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 0 },
  });
}

export function createIncidentSlack(
  deps: Pick<SlackDeps, 'slack' | 'log' | 'config' | 'now' | 'redactor'>,
  client: WebClient = deps.slack,
  /** The on-call the root shows (its service's escalation policy); unset: no on-call line. */
  onCall?: ServiceOnCall,
): IncidentSlack {
  const opts = { statusPageUrl: deps.config.STATUS_PAGE_URL };
  const statusPage = statuspageConfigured(deps.config);
  const followups = followupsConfigured(deps.config);
  /** What the root shows beside the incident; the on-call as PagerDuty says now (remembered briefly). */
  const rootOptsOf = async (i: Incident): Promise<RootOptions> => {
    if (!onCall || !i.serviceId || i.pdStatus === 'resolved') return { statusPage, followups };
    const shown = await onCall.forService(i.serviceId).catch((err: unknown): RootOnCall => {
      deps.log.warn({ err, incident: i.id }, 'could not tell who is on call for the root');
      return { known: false };
    });
    return { statusPage, followups, ...(shown ? { onCall: shown } : {}) };
  };

  async function post(
    channel: string,
    m: Message,
    threadTs?: string,
    metadata?: { event_type: string; event_payload: Record<string, string | number> },
  ): Promise<string> {
    const args = deps.redactor.redactDeep({
      channel,
      text: m.text,
      blocks: m.blocks,
      unfurl_links: false,
      unfurl_media: false,
      ...(threadTs ? { thread_ts: threadTs } : {}),
    });
    const send = () => client.chat.postMessage({ ...args, ...(metadata ? { metadata } : {}) });
    try {
      const res = await send().catch(async (err: unknown) => {
        // The bot was never invited: join the public channel once and try again.
        if (slackCode(err) !== 'not_in_channel') throw err;
        await client.conversations.join({ channel }).catch((joinErr: unknown) => {
          throw unreachable(channel, slackCode(joinErr), joinErr);
        });
        return send();
      });
      return String(res.ts);
    } catch (err) {
      throw channelFailure(channel, err);
    }
  }

  async function upload(i: Incident, files: Message['files']): Promise<void> {
    for (const f of files ?? []) {
      try {
        await client.filesUploadV2({
          channel_id: i.channel as string,
          thread_ts: i.rootTs as string,
          filename: f.filename,
          title: f.title,
          ...(f.data ? { file: f.data } : { content: deps.redactor.redactDeep(f.content) }),
        });
      } catch (err) {
        throw channelFailure(i.channel as string, err);
      }
    }
  }

  const replyMetadata = (i: Incident, ref: PostRef | undefined) =>
    ref ? { event_type: POST_METADATA_TYPE, event_payload: { incident_id: i.id, outbox_id: ref.outboxId } } : undefined;

  /** A reply in a storm digest's shared thread names its incident. */
  const labelled = (i: Incident, m: Message): Message => (i.digestId === undefined ? m : labelForDigest(i, m));

  async function findByMetadata(
    channel: string,
    type: string,
    key: string,
    value: string,
  ): Promise<string | undefined> {
    try {
      const res = await client.conversations.history({ channel, limit: 200, include_all_metadata: true });
      const found = (res.messages ?? []).find((m) => {
        const md = m.metadata as { event_type?: string; event_payload?: Record<string, unknown> } | undefined;
        // A parent with replies carries thread_ts equal to its own ts; only replies differ.
        return (
          md?.event_type === type && String(md.event_payload?.[key]) === value && (!m.thread_ts || m.thread_ts === m.ts)
        );
      });
      return found?.ts;
    } catch (err) {
      deps.log.warn({ err, channel, [key]: value }, 'could not look for an earlier top-level post; posting one');
      return undefined;
    }
  }

  return {
    async postDigest(channel, digestId, members) {
      return post(channel, digestMessage(digestId, members, deps.now()), undefined, {
        event_type: DIGEST_METADATA_TYPE,
        event_payload: { digest_id: String(digestId) },
      });
    },
    async findDigest(channel, digestId) {
      return findByMetadata(channel, DIGEST_METADATA_TYPE, 'digest_id', String(digestId));
    },
    async updateDigest(channel, ts, digestId, members) {
      const m = digestMessage(digestId, members, deps.now());
      try {
        await client.chat.update(deps.redactor.redactDeep({ channel, ts, text: m.text, blocks: m.blocks }));
      } catch (err) {
        throw channelFailure(channel, err);
      }
    },
    async postRoot(i, ref) {
      return post(i.channel as string, incidentRoot(i, deps.now(), await rootOptsOf(i)), undefined, {
        event_type: INCIDENT_METADATA_TYPE,
        event_payload: { incident_id: i.id, ...(ref ? { outbox_id: ref.outboxId } : {}) },
      });
    },
    async findReply(i, ref) {
      // Read the whole thread back with its metadata: a post is ours for this row by outbox_id.
      let cursor: string | undefined;
      try {
        for (let page = 0; page < 50; page++) {
          const res = await client.conversations.replies({
            channel: i.channel as string,
            ts: i.rootTs as string,
            include_all_metadata: true,
            limit: 200,
            ...(cursor ? { cursor } : {}),
          });
          const found = (res.messages ?? []).find((m) => {
            const md = m.metadata as { event_type?: string; event_payload?: Record<string, unknown> } | undefined;
            return (
              md?.event_type === POST_METADATA_TYPE &&
              String(md.event_payload?.outbox_id) === String(ref.outboxId) &&
              m.ts !== i.rootTs
            );
          });
          if (found?.ts) return found.ts;
          cursor = res.response_metadata?.next_cursor || undefined;
          if (!res.has_more || !cursor) return undefined;
        }
        return undefined;
      } catch (err) {
        // Not knowing is no reason to post twice: the row is retried later.
        throw channelFailure(i.channel as string, err);
      }
    },
    async findRoot(i) {
      return findByMetadata(i.channel as string, INCIDENT_METADATA_TYPE, 'incident_id', i.id);
    },
    async updateRoot(i) {
      const m = incidentRoot(i, deps.now(), await rootOptsOf(i));
      try {
        await client.chat.update(
          deps.redactor.redactDeep({
            channel: i.channel as string,
            ts: i.rootTs as string,
            text: m.text,
            blocks: m.blocks,
          }),
        );
      } catch (err) {
        throw channelFailure(i.channel as string, err);
      }
    },
    async postReply(i, intent, ref) {
      // The storm's opening post speaks for the whole digest, not one of its incidents.
      const m = incidentReply(i, intent, opts);
      await post(
        i.channel as string,
        intent.type === 'storm_opened' || (intent.type === 'bringing_in' && intent.forDigest) ? m : labelled(i, m),
        i.rootTs,
        replyMetadata(i, ref),
      );
    },
    async postReport(i, report, actor, ref) {
      const m = reportMessage(report, { grafanaUrl: deps.config.GRAFANA_URL });
      const intro = actor?.slackId
        ? `Diagnosis requested by <@${actor.slackId}>`
        : i.digestId === undefined
          ? 'Automatic diagnosis for this incident, from the runbook'
          : 'Automatic diagnosis for the incidents of this storm it fits, from the runbook';
      const out = { ...m, blocks: fitBlocks([context(intro), ...m.blocks]) };
      await post(i.channel as string, actor?.slackId ? labelled(i, out) : out, i.rootTs, replyMetadata(i, ref));
      await upload(i, m.files);
    },
    async postPostmortem(i, pm, timeline, updatedBy, ref) {
      const m = postmortemMessage(i, pm, timeline, { updatedBy, addFollowup: followupsConfigured(deps.config) });
      await post(i.channel as string, labelled(i, m), i.rootTs, replyMetadata(i, ref));
      await upload(i, m.files);
      // The key signal's chart goes beside the document that links it; without it the post-mortem still stands.
      const chart = await postmortemChartFile(i, pm).catch((err: unknown) => {
        deps.log.warn({ err, incident: i.id }, 'could not draw the post-mortem chart');
        return undefined;
      });
      if (chart) await upload(i, [chart]);
    },
    async permalink(i) {
      if (!i.channel || !i.rootTs) return undefined;
      try {
        return (await client.chat.getPermalink({ channel: i.channel, message_ts: i.rootTs })).permalink;
      } catch {
        return undefined;
      }
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
      await client.chat.postMessage(
        deps.redactor.redactDeep({ channel: slackId, text: typeof text === 'string' ? text : renderRich(text) }),
      );
    },
    async notifyUnreachable(slackId, i) {
      const which = i.number === undefined ? esc(i.title) : `#${i.number} ${esc(i.title)}`;
      const text = `:warning: I cannot post in <#${i.channel}>: I am not a member of it and cannot join it. What you did on incident ${which} is recorded and will appear in its thread once someone there invites me (\`/invite @dmp-bot\`).`;
      await client.chat.postMessage(deps.redactor.redactDeep({ channel: slackId, text }));
    },
  };
}

export interface IncidentsHandle {
  worker: IncidentWorker;
  stop(): Promise<void>;
}

const ROOT_ONCALL_TIMEOUT_MS = 2_000;

/** Starts the incident worker of a bot process (called by startBot). */
export function startIncidents(deps: SlackDeps, opts: WorkerOptions = {}): IncidentsHandle {
  const pd = pacedPagerDuty(deps);
  const client = outboxClient(deps);
  // The root's on-call line may hold a root post this long at most; after it the root goes without.
  const onCall = serviceOnCall(
    pacedPagerDuty(deps, Math.min(ROOT_ONCALL_TIMEOUT_MS, deps.config.PAGERDUTY_TIMEOUT)),
    async (email) => (await client.users.lookupByEmail({ email })).user?.id,
    deps.now,
  );
  const worker = startIncidentWorker(deps, createIncidentSlack(deps, client, onCall), pd, opts);
  // Queue depths, timers and open incidents are read from the store when /metrics is scraped.
  deps.metrics.setQueueSource(() => collectQueues(deps.store, [deps.config.INCIDENTS_CHANNEL]));
  return {
    worker,
    async stop() {
      await worker.stop();
    },
  };
}
