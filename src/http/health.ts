// GET /health (the bot's own health, not the platform's) and GET /metrics.
import { createRequire } from 'node:module';
import { deadline } from '../async.js';
import type { Deps } from '../deps.js';
import { TargetError } from '../errors.js';
import { unreachableChannels } from '../incidents/outbox.js';
import { type RouteTable, sendJson } from './server.js';

const require = createRequire(import.meta.url);
export const VERSION: string = (require('../../package.json') as { version: string }).version;

export function healthRoutes(deps: Deps, extra: () => Record<string, string> = () => ({})): RouteTable {
  return {
    'GET /health': async (_req, res) => {
      const components: Record<string, string> = { store: 'healthy', ...extra() };
      try {
        await deadline(
          2_000,
          () => deps.store.query('SELECT 1'),
          () => {
            throw TargetError.timedOut('bot-store', 2_000);
          },
        );
      } catch {
        components.store = 'unreachable';
      }
      const channel = deps.config.INCIDENTS_CHANNEL;
      if (channel && components.store === 'healthy') {
        // Posts waiting on a channel the bot cannot post in (not invited to a private channel).
        const stuck = await deadline(
          2_000,
          () => unreachableChannels(deps.store),
          () => undefined,
        ).catch(() => undefined);
        if (stuck)
          components.incidents_channel = stuck.includes(channel)
            ? 'unreachable: the bot is not in it and cannot join it (invite it)'
            : 'healthy';
      }
      const healthy = Object.values(components).every(
        (v) => v === 'healthy' || v === 'console' || v === 'http' || v === 'socket',
      );
      sendJson(res, 200, { status: healthy ? 'healthy' : 'degraded', version: VERSION, components }, deps.redactor);
    },
    'GET /metrics': async (_req, res) => {
      const text = await deps.metrics.registry.metrics();
      res.writeHead(200, { 'content-type': deps.metrics.registry.contentType });
      res.end(text);
    },
  };
}
