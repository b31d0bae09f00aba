// The one deadline helper and the one backoff.
import { describe, expect, it } from 'vitest';
import { deadline, within } from '../src/async.js';
import { backoff } from '../src/backoff.js';

describe('deadline', () => {
  it('gives the answer when the work finishes in time, and does not abort it', async () => {
    let signal: AbortSignal | undefined;
    const out = await deadline(
      1_000,
      async (s) => {
        signal = s;
        return 'answer';
      },
      () => 'late',
    );
    expect(out).toBe('answer');
    expect(signal?.aborted).toBe(false);
  });

  it('aborts the work and settles with onTimeout when it is late', async () => {
    let signal: AbortSignal | undefined;
    const out = await deadline(
      10,
      (s) => {
        signal = s;
        return new Promise<string>(() => {});
      },
      () => 'late',
    );
    expect(out).toBe('late');
    expect(signal?.aborted).toBe(true);
  });

  it('rejects with what onTimeout throws', async () => {
    await expect(
      deadline(
        10,
        () => new Promise<never>(() => {}),
        () => {
          throw new Error('too slow');
        },
      ),
    ).rejects.toThrow('too slow');
  });

  it('within() gives undefined when late and the value when in time', async () => {
    expect(await within(new Promise(() => {}), 10)).toBeUndefined();
    expect(await within(Promise.resolve(7), 1_000)).toBe(7);
  });
});

describe('backoff', () => {
  it('doubles from the base up to the cap: 1s, 2s, 4s … 60s', () => {
    const o = { base: 1_000, max: 60_000 };
    expect([1, 2, 3, 4, 6, 7, 20].map((n) => backoff(n, o))).toEqual([
      1_000, 2_000, 4_000, 8_000, 32_000, 60_000, 60_000,
    ]);
    expect(backoff(0, o)).toBe(1_000);
  });

  it('spreads each wait over ±jitter, never past the cap', () => {
    const o = { base: 1_000, max: 4_000, jitter: 0.5 };
    expect(backoff(2, { ...o, random: () => 0 })).toBe(1_000);
    expect(backoff(2, { ...o, random: () => 1 })).toBe(3_000);
    expect(backoff(3, { ...o, random: () => 1 })).toBe(4_000);
  });
});
