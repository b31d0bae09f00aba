// Checks every Slack request before Bolt sees it: the timestamp within 5 minutes of now either
// way (Bolt only refuses old ones, so a request dated an hour or ten years ahead would pass),
// the signature, and that this signed request has not been received before. The signatures
// seen are kept in the bot store, which every replica shares, until their timestamp could no
// longer pass, so a replay to any replica within the window is answered once.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { deadline } from '../async.js';
import type { Logger } from '../log.js';
import type { Sql } from '../store/sql.js';

/** Slack's own window: "more than five minutes from local time" is a replay. */
export const SLACK_WINDOW_SECONDS = 5 * 60;
/** How long a seen signature is kept: its whole window, plus room for clock drift between replicas. */
const KEEP_SECONDS = SLACK_WINDOW_SECONDS + 60;
const PURGE_EVERY_MS = 60_000;
/** A slow or hung store must not cost the 3-second ack: past this, this replica's own memory decides. */
const STORE_CHECK_MS = 500;
/** This replica's own record of signatures seen, so a replay is caught here even while the store cannot answer. */
const LOCAL_KEEP = 10_000;

export type GateVerdict =
  | { ok: true }
  | { ok: false; status: 400 | 401; reason: string }
  | { ok: false; status: 200; reason: 'duplicate' };

export interface SlackGateOptions {
  signingSecret: string;
  store: Pick<Sql, 'query'>;
  log: Logger;
  /** Wall-clock milliseconds (Slack signs with real time, so no test clock here). */
  now?: () => number;
}

export type SlackGate = (headers: IncomingHttpHeaders, body: Buffer) => Promise<GateVerdict>;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * An interaction whose shape Slack never sends and Bolt cannot take (it throws on
 * `"actions": null` or a `view` that is not an object, a 500): refused as bad input instead.
 * Bad JSON is left to Bolt, which answers it 400 itself.
 */
function malformedInteraction(headers: IncomingHttpHeaders, body: Buffer): string | undefined {
  if (!(header(headers, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const raw = new URLSearchParams(body.toString('utf8')).get('payload');
  if (raw === null) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(raw);
  } catch {
    return undefined;
  }
  const isObject = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(payload)) return 'the payload is not an object';
  const p = payload as { type?: unknown; actions?: unknown; view?: unknown };
  if (p.type === 'block_actions' && (!Array.isArray(p.actions) || !p.actions.every(isObject)))
    return 'block_actions without a list of actions';
  if ((p.type === 'view_submission' || p.type === 'view_closed') && !isObject(p.view))
    return `${p.type} without a view`;
  return undefined;
}

/** Slack's SSL check carries no signature; Bolt answers it and drops any payload smuggled with it. */
function isSslCheck(headers: IncomingHttpHeaders, body: Buffer): boolean {
  return (
    (header(headers, 'content-type') ?? '').startsWith('application/x-www-form-urlencoded') &&
    new URLSearchParams(body.toString('utf8')).get('ssl_check') === '1'
  );
}

export function slackRequestGate(opts: SlackGateOptions): SlackGate {
  const now = opts.now ?? Date.now;
  let lastPurge = 0;
  const seen = new Map<string, number>();
  const remember = (signature: string, expiresAt: number) => {
    seen.set(signature, expiresAt);
    // Insertion order is arrival order: past the bound, the oldest go first.
    for (const k of seen.keys()) {
      if (seen.size <= LOCAL_KEEP) break;
      seen.delete(k);
    }
  };
  const refuse = (reason: string): GateVerdict => {
    opts.log.warn({ reason }, 'Slack request refused before Bolt');
    return { ok: false, status: 401, reason };
  };
  return async (headers, body) => {
    if (isSslCheck(headers, body)) return { ok: true };
    const ts = header(headers, 'x-slack-request-timestamp') ?? '';
    const signature = header(headers, 'x-slack-signature') ?? '';
    if (!/^\d{1,12}$/.test(ts)) return refuse('no request timestamp');
    const nowSec = Math.floor(now() / 1000);
    if (Math.abs(nowSec - Number(ts)) > SLACK_WINDOW_SECONDS) return refuse('timestamp more than 5 minutes from now');
    const expected = `v0=${createHmac('sha256', opts.signingSecret).update(`v0:${ts}:`).update(body).digest('hex')}`;
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, Buffer.from(expected)))
      return refuse('bad signature');
    const malformed = malformedInteraction(headers, body);
    if (malformed) {
      opts.log.warn({ reason: malformed }, 'malformed Slack interaction refused');
      return { ok: false, status: 400, reason: malformed };
    }
    // This replica saw it already: a replay, whatever the store can say.
    const expires = (Number(ts) + KEEP_SECONDS) * 1000;
    const local = seen.get(signature);
    if (local !== undefined && local > now()) {
      opts.log.warn({ ts }, 'a signed Slack request received again; answered once');
      return { ok: false, status: 200, reason: 'duplicate' };
    }
    remember(signature, expires);
    try {
      const fresh = await deadline(
        STORE_CHECK_MS,
        () =>
          opts.store.query(
            `INSERT INTO slack_requests_seen (signature, expires_at) VALUES ($1, $2)
         ON CONFLICT (signature) DO UPDATE SET expires_at = EXCLUDED.expires_at
           WHERE slack_requests_seen.expires_at < $3
         RETURNING signature`,
            [signature, new Date(expires), new Date(now())],
          ),
        () => {
          throw new Error(`the bot store did not answer within ${STORE_CHECK_MS} ms`);
        },
      );
      if (fresh.length === 0) {
        opts.log.warn({ ts }, 'a signed Slack request received again; answered once');
        return { ok: false, status: 200, reason: 'duplicate' };
      }
      if (now() - lastPurge > PURGE_EVERY_MS) {
        lastPurge = now();
        opts.store
          .query('DELETE FROM slack_requests_seen WHERE expires_at < $1', [new Date(now())])
          .catch((err: unknown) => opts.log.warn({ err }, 'could not purge seen Slack signatures'));
      }
    } catch (err) {
      // The store down must not silence the bot during an outage: the request goes on unchecked for replay.
      opts.log.warn({ err }, 'bot store unavailable: Slack request not checked for replay');
    }
    return { ok: true };
  };
}
