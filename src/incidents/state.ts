// The incident's state machine, decided by the incident's state and the event's own time, not by
// the order events arrive in: PagerDuty retries and reorders deliveries, and a late `triggered`
// must never reopen an incident that someone already acknowledged or resolved.
import type { PdStatus } from './types.js';

const RANK: Record<PdStatus, number> = { triggered: 0, acknowledged: 1, resolved: 2 };

/**
 * The status an event moves the incident to, or undefined when it changes nothing.
 * `current`/`currentAt` are the status the bot holds and the time of the change that set it;
 * `next`/`at` are the status the event's incident snapshot carries and when the event occurred.
 */
export function statusTransition(
  current: PdStatus,
  currentAt: Date,
  eventType: string,
  next: PdStatus,
  at: Date,
): PdStatus | undefined {
  if (next === current) return undefined;
  // A page only ever creates an incident; its status is never news about an existing one.
  if (eventType === 'incident.triggered') return undefined;
  // Older than what the bot already knows: a late or redelivered event.
  if (at.getTime() < currentAt.getTime()) return undefined;
  // Only PagerDuty's own reopen leaves "resolved".
  if (current === 'resolved' && eventType !== 'incident.reopened') return undefined;
  // Same instant (events built within one millisecond): the further state wins.
  if (at.getTime() === currentAt.getTime() && RANK[next] < RANK[current]) return undefined;
  return next;
}

/** Whether an event's snapshot (title, priority, assignees) is newer than the one held. */
export function snapshotIsNewer(heldAt: Date, at: Date): boolean {
  return at.getTime() >= heldAt.getTime();
}
