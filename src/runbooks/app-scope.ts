// Which apps the read commands may look at: only the platform's own (DMP_DEPLOYMENTS, whose pods
// carry app=<name>). Any other name is refused before anything is read, so `/dmp logs billing`
// cannot post another team's log lines in a channel.
import { code, type RichText } from '../domain/text.js';
import { UserError } from '../errors.js';

export function assertPlatformApp(name: string, apps: readonly string[], usage: RichText): void {
  if (apps.includes(name)) return;
  throw new UserError([
    code(name.slice(0, 63)),
    ` is not one of the platform's apps (${apps.join(', ')}, DMP_DEPLOYMENTS), so I read nothing. `,
    ...usage,
  ]);
}
