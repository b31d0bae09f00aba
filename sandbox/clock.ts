// The sandbox's clock: the simulated platform's history ("stuck for 20 minutes") is seeded at
// start-up, and start-up takes seconds to a minute depending on the machine. This clock is
// moved back, once, by however long that took, when the prompt appears, so the simulation and
// the bot both count from the moment the newcomer can type: a slow start no longer shows.
export interface SandboxClock {
  now(): Date;
  /** Re-anchors the clock so that now() reads what it read when the platform was seeded. */
  anchorAtReady(): void;
}

export function sandboxClock(real: () => number = Date.now): SandboxClock {
  const seededAt = real();
  let offsetMs = 0;
  return {
    now: () => new Date(real() - offsetMs),
    anchorAtReady() {
      offsetMs = real() - seededAt;
    },
  };
}
