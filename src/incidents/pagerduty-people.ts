// Who a Slack user is in PagerDuty: the account user whose email is exactly theirs, found with
// GET /users?query=<email> and remembered briefly (PAGERDUTY_USER_CACHE_TTL), so an incident
// action goes to PagerDuty as that person and never under the bot's identity.
import type { PagerDutyClient } from '../targets/pagerduty.js';
import { pdErrorText } from '../targets/pagerduty.js';

export interface PdPerson {
  id: string;
  email: string;
}

export interface PagerDutyPeople {
  /** The PagerDuty user with exactly this email, undefined when there is none; throws when PagerDuty cannot say. */
  byEmail(email: string): Promise<PdPerson | undefined>;
}

export class PeopleLookupError extends Error {}

export function pagerDutyPeople(pd: PagerDutyClient, ttlMs: number, now: () => number): PagerDutyPeople {
  const cache = new Map<string, { person: PdPerson | undefined; at: number }>();
  // Presses at once by the same person share one look-up.
  const inFlight = new Map<string, Promise<PdPerson | undefined>>();
  const lookUp = async (key: string): Promise<PdPerson | undefined> => {
    const res = await pd.request('GET', '/users', { query: { query: key } });
    if (res.status !== 200) throw new PeopleLookupError(pdErrorText(res));
    const users = (res.body as { users?: Array<{ id?: unknown; email?: unknown }> } | undefined)?.users ?? [];
    // The query matches names and parts of emails too: only the exact email is this person.
    const found = users.find((u) => typeof u.email === 'string' && u.email.toLowerCase() === key);
    const person = found && typeof found.id === 'string' ? { id: found.id, email: found.email as string } : undefined;
    if (cache.size > 1000) cache.clear();
    cache.set(key, { person, at: now() });
    return person;
  };
  return {
    async byEmail(email) {
      const key = email.trim().toLowerCase();
      const hit = cache.get(key);
      if (hit && now() - hit.at < ttlMs) return hit.person;
      const running = inFlight.get(key) ?? lookUp(key).finally(() => inFlight.delete(key));
      inFlight.set(key, running);
      return running;
    },
  };
}
