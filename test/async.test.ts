// The one deadline helper and the one backoff.
import { describe, expect, it } from 'vitest';
import { deadline } from '../src/async.js';
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

  it('gives undefined for a promise still pending at the deadline, the value when in time', async () => {
    const late = (p: Promise<number>, ms: number) =>
      deadline<number | undefined>(
        ms,
        () => p,
        () => undefined,
      );
    expect(await late(new Promise(() => {}), 10)).toBeUndefined();
    expect(await late(Promise.resolve(7), 1_000)).toBe(7);
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

  it('waits as long as the other side asked (Retry-After) when that is longer', () => {
    const o = { base: 1_000, max: 60_000 };
    expect(backoff(1, { ...o, atLeast: 30_000 })).toBe(30_000);
    expect(backoff(4, { ...o, atLeast: 500 })).toBe(8_000);
    expect(backoff(1, { ...o, atLeast: undefined })).toBe(1_000);
  });
});
