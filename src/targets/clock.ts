// The one place in targets that reads the wall clock: the default for an injected now(), so
// tests and the sandbox can hand in their own.
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
