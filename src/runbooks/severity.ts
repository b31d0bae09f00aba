// Runbook: Incident Response › Severity Levels: the P1–P4 table, with the response times this
// deployment uses (RESPONSE_TARGETS, the runbook's by default). Reference: no target is called.
import type { Severity } from '../config.js';
import { formatDuration } from '../duration.js';
import type { Check, Finding, Procedure } from './types.js';

export const SEVERITY_LEVELS: Array<{ level: Severity; definition: string; examples: string }> = [
  { level: 'P1', definition: 'Complete service outage', examples: 'API down, data loss' },
  { level: 'P2', definition: 'Major feature unavailable', examples: 'Scans failing, auth broken' },
  { level: 'P3', definition: 'Minor feature issue', examples: 'UI glitch, slow performance' },
  { level: 'P4', definition: 'Cosmetic/low impact', examples: 'Typos, minor bugs' },
];

const levels: Check = {
  id: 'levels',
  title: 'Severity levels',
  async run({ targets }): Promise<Finding[]> {
    return SEVERITY_LEVELS.map((s) => ({
      check: s.level,
      status: 'ok',
      summary: `${s.definition}: respond within ${formatDuration(targets.config.responseTargets[s.level])}. Examples: ${s.examples}`,
    }));
  },
};

export const severity: Procedure = {
  id: 'severity',
  words: ['severity'],
  title: 'Severity levels',
  section: 'Incident Response › Severity Levels',
  group: 'Reference',
  summary: 'P1–P4: definitions, examples and response times',
  checks: [levels],
  remedies: [],
};
