// The registry as a whole: unique commands, each naming its runbook section, and every remedy
// a procedure can offer is one the remediations registry carries out.
import { describe, expect, it } from 'vitest';
import { findRemediation } from '../../src/remediations/index.js';
import { PROCEDURES } from '../../src/runbooks/index.js';

describe('the runbook registry', () => {
  it('gives every procedure its own command words and a runbook section', () => {
    const words = PROCEDURES.map((p) => p.words.join(' '));
    expect(new Set(words).size).toBe(words.length);
    for (const p of PROCEDURES) {
      expect(p.section, p.id).not.toBe('');
      if (p.group !== 'Reference') expect(p.dashboard, p.id).toMatch(/^\/grafana\/d\/(health|api|db|queue|business)$/);
    }
  });

  it('offers only remedies the remediations registry can carry out', () => {
    for (const p of PROCEDURES) {
      for (const r of p.remedies) expect(findRemediation(r.id), `${p.id} → ${r.id}`).toBeDefined();
    }
  });
});
