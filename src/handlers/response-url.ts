// A `response_url` comes from the request body, so whoever can get a body signed (or replays
// one) chooses where the bot posts. It is used only when it points at Slack's hooks host
// (hooks.slack.com, GovSlack's hooks.slack-gov.com) or the origin of SLACK_API_URL (a fake,
// an enterprise proxy); any other is ignored and logged, and the handlers' fallbacks
// (chat.postEphemeral / chat.postMessage / chat.update) answer instead.
//
// Bolt builds `respond` from the body before any middleware runs, so the check sits at both
// ends: a middleware notes an untrusted response_url for the request's async context, and the
// fetch Bolt's respond uses refuses that one URL without sending anything.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AnyMiddlewareArgs, App, Middleware } from '@slack/bolt';
import type { FetchFunction } from '@slack/web-api';
import type { Logger } from '../log.js';

export const SLACK_HOOKS_HOSTS: readonly string[] = ['hooks.slack.com', 'hooks.slack-gov.com'];

export class UntrustedResponseUrl extends Error {
  constructor(host: string) {
    super(`response_url on ${host} is not Slack's; not used`);
    this.name = 'UntrustedResponseUrl';
  }
}

/** True when Slack itself (or SLACK_API_URL's server) is behind this response_url. */
export function isTrustedResponseUrl(url: string, slackApiUrl: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:' && SLACK_HOOKS_HOSTS.includes(u.hostname) && (u.port === '' || u.port === '443'))
    return true;
  try {
    return u.origin === new URL(slackApiUrl).origin;
  } catch {
    return false;
  }
}

/** The response_url(s) a request body carries: commands and actions one, modal submissions a list. */
function responseUrlsOf(body: unknown): string[] {
  const b = body as { response_url?: unknown; response_urls?: unknown } | undefined;
  const urls: string[] = [];
  if (typeof b?.response_url === 'string') urls.push(b.response_url);
  if (Array.isArray(b?.response_urls))
    for (const r of b.response_urls) {
      const u = (r as { response_url?: unknown })?.response_url;
      if (typeof u === 'string') urls.push(u);
    }
  return urls;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host || '(none)';
  } catch {
    return '(not a URL)';
  }
}

export class ResponseUrlGuard {
  private readonly refused = new AsyncLocalStorage<ReadonlySet<string>>();

  constructor(
    private readonly slackApiUrl: string,
    private readonly log: Logger,
  ) {}

  /** The fetch for Bolt's clientOptions: refuses the request's untrusted response_url, passes all else. */
  wrapFetch(inner: FetchFunction): FetchFunction {
    return async (input, init) => {
      const url = typeof input === 'string' ? input : input.href;
      if (this.refused.getStore()?.has(url)) throw new UntrustedResponseUrl(hostOf(url));
      return inner(input, init);
    };
  }

  /** Global middleware: notes an untrusted response_url for the rest of this request's work. */
  readonly middleware: Middleware<AnyMiddlewareArgs> = async (args) => {
    const untrusted = responseUrlsOf(args.body).filter((u) => !isTrustedResponseUrl(u, this.slackApiUrl));
    if (untrusted.length === 0) return args.next();
    this.log.warn(
      { hosts: untrusted.map(hostOf), user: (args.body as { user?: { id?: string } })?.user?.id },
      "response_url is not on Slack's hooks host; ignored, answering through the Web API",
    );
    return this.refused.run(new Set(untrusted), () => args.next());
  };

  install(app: App): void {
    app.use(this.middleware);
  }
}
