// The Web API client's shared options: a timeout, a bounded retry policy and a fetch that counts
// calls for /metrics. Used by app.ts, bot.ts and the incident outbox's own client.
import type { WebClient, WebClientOptions } from '@slack/web-api';
import type { Deps } from '../deps.js';
import type { Metrics } from '../metrics.js';

/** The Web API client's options: a request timeout and a bounded retry policy (its defaults are none and ten retries over half an hour). */
export function slackClientOptions(apiUrl: string, metrics?: Metrics): WebClientOptions {
  return {
    slackApiUrl: apiUrl,
    ...(metrics ? { fetch: countingFetch(metrics) } : {}),
    timeout: 10_000,
    retryConfig: { retries: 3, factor: 2, minTimeout: 500, maxTimeout: 5_000, randomize: true },
  };
}

/** Counts every Slack Web API call by method and HTTP status for /metrics. */
function countingFetch(metrics: Metrics): typeof fetch {
  return async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = /\/api\/([\w.]+)/.exec(url)?.[1] ?? 'upload';
    try {
      const res = await fetch(input, init);
      metrics.apiCalls.inc({ service: 'slack', method, result: String(res.status) });
      return res;
    } catch (err) {
      metrics.apiCalls.inc({ service: 'slack', method, result: 'network_error' });
      throw err;
    }
  };
}

/** What the Slack glue is given: the app's dependencies and the bot's Web API client (SLACK_API_URL; in console mode the console's own Slack). */
export interface SlackDeps extends Deps {
  slack: WebClient;
}
