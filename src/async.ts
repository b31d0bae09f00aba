// Small promise helpers shared by handlers, workflows and targets: the one deadline helper
// (everything that must not wait forever goes through deadline()) and sleep.

/**
 * Runs `work` with an AbortSignal that fires after `ms`; if `work` has not settled by then,
 * settles with `onTimeout()` instead (return a value, or throw). The timer is always cleared.
 */
export async function deadline<T>(
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => T | Promise<T>,
): Promise<T> {
  // Work that takes no signal (`() => …`) gets none: an AbortController a call is measurable on
  // the ack path, which runs three deadlines a command.
  const controller = work.length > 0 ? new AbortController() : undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      controller?.abort();
      try {
        resolve(onTimeout());
      } catch (err) {
        reject(err);
      }
    }, ms);
  });
  try {
    return await Promise.race([work(controller?.signal as AbortSignal), late]);
  } finally {
    clearTimeout(timer);
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
