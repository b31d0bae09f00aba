// The one place Bolt errors are caught: logged with their cause, never shown raw in Slack.
import type { App } from '@slack/bolt';
import type { Deps } from '../deps.js';

export function registerErrorHandler(app: App, deps: Deps): void {
  app.error(async (err) => {
    deps.log.error(
      { err: (err as { original?: unknown }).original ?? err, code: (err as { code?: string }).code },
      'Slack listener failed',
    );
  });
}
