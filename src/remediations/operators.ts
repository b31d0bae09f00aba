// Who may run remediations: the user IDs in DMP_OPERATORS, and the members of the user groups
// (S…) listed there, resolved through Slack and cached briefly (OPERATOR_CACHE_TTL). When a
// group cannot be resolved the last known list stands; with none known the check fails closed.
import type { Logger } from '../log.js';

export interface Operators {
  isOperator(userId: string): Promise<boolean>;
  /** Every operator known now (the listed users and the groups' members), for approval requests. */
  list(): Promise<string[]>;
}

export interface OperatorOptions {
  ids: string[];
  /** The members of a user group (Slack's usergroups.users.list). */
  listGroup(groupId: string): Promise<string[]>;
  ttlMs: number;
  now(): number;
  log: Logger;
}

export function createOperators(opts: OperatorOptions): Operators {
  const users = new Set(opts.ids.filter((id) => !id.startsWith('S')));
  const groups = opts.ids.filter((id) => id.startsWith('S'));
  const cache = new Map<string, { members: Set<string>; at: number }>();
  const inFlight = new Map<string, Promise<Set<string>>>();

  const members = async (group: string): Promise<Set<string>> => {
    const hit = cache.get(group);
    if (hit && opts.now() - hit.at < opts.ttlMs) return hit.members;
    const running = inFlight.get(group);
    if (running) return running;
    const lookup = (async () => {
      try {
        const list = new Set(await opts.listGroup(group));
        cache.set(group, { members: list, at: opts.now() });
        return list;
      } catch (err) {
        opts.log.warn({ err, group }, 'could not resolve an operator user group; using the last known members, if any');
        return hit?.members ?? new Set<string>();
      } finally {
        inFlight.delete(group);
      }
    })();
    inFlight.set(group, lookup);
    return lookup;
  };

  return {
    async isOperator(userId) {
      if (users.has(userId)) return true;
      for (const g of groups) if ((await members(g)).has(userId)) return true;
      return false;
    },
    async list() {
      const all = new Set(users);
      for (const g of groups) for (const id of await members(g)) all.add(id);
      return [...all];
    },
  };
}
