// The numbers a diagnosis samples that tell how an incident is going — queue depth, dead workers,
// database connections — read from the facts its checks record. Each diagnosis and verification
// of an incident stores them, so the post-mortem can draw the key signal over the incident.
import type { Finding } from '../runbooks/types.js';

export interface SignalSpec {
  /** The check whose finding carries it, as the runbook names it. */
  check: string;
  /** The fact of that finding that holds the number. */
  fact: string;
  name: string;
  unit: string;
}

/** In order of preference when more than one was sampled and none was wrong at first. */
export const KEY_SIGNALS: readonly SignalSpec[] = [
  { check: 'Queue depth', fact: 'depth', name: 'Queue depth', unit: 'jobs' },
  { check: 'Dead workers', fact: 'dead', name: 'Dead workers', unit: 'workers' },
  { check: 'Connections', fact: 'used', name: 'Connections', unit: 'connections' },
];

/** Signal name → value, for the signals these findings sampled (a check that failed samples nothing). */
export function signalsOf(findings: Finding[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of KEY_SIGNALS) {
    const f = findings.find((x) => x.check === s.check);
    const v = f?.facts?.[s.fact];
    if (typeof v === 'number' && Number.isFinite(v)) out[s.name] = v;
  }
  return out;
}

export interface SignalPoint {
  at: Date;
  value: number;
  /** What took the sample: the diagnosis at trigger, or a verification after what. */
  label: string;
}

export interface SignalSeries {
  signal: SignalSpec;
  points: SignalPoint[];
}

interface Sampled {
  at: Date;
  label: string;
  signals: Record<string, number>;
  /** The check statuses of that diagnosis, to tell which signal was wrong. */
  checks: Array<{ check: string; status: string }>;
}

/**
 * The incident's key signal over its diagnoses: the first (in KEY_SIGNALS' order) whose check was
 * not ok when first sampled, else the first sampled at all; undefined when none was sampled.
 */
export function keySignal(samples: Sampled[]): SignalSeries | undefined {
  const sampled = KEY_SIGNALS.filter((s) => samples.some((x) => x.signals[s.name] !== undefined));
  const firstStatus = (s: SignalSpec) =>
    samples.find((x) => x.signals[s.name] !== undefined)?.checks.find((c) => c.check === s.check)?.status;
  const signal = sampled.find((s) => (firstStatus(s) ?? 'ok') !== 'ok') ?? sampled[0];
  if (!signal) return undefined;
  return {
    signal,
    points: samples.flatMap((x) => {
      const value = x.signals[signal.name];
      return value === undefined ? [] : [{ at: x.at, value, label: x.label }];
    }),
  };
}
