// Wakes a bot's incident worker right after work was stored (a webhook, a click), instead of
// waiting for its next poll. Keyed by the bot's deps so several bots in one process stay apart.
const wakers = new WeakMap<object, () => void>();

export function registerWaker(owner: object, wake: () => void): void {
  wakers.set(owner, wake);
}

export function unregisterWaker(owner: object): void {
  wakers.delete(owner);
}

export function wakeIncidents(owner: object): void {
  wakers.get(owner)?.();
}
