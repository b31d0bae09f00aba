// A signed webhook with an invented event type must not mint a new /metrics series per type.
import { describe, expect, it } from 'vitest';
import { eventTypeLabel } from '../../src/metrics.js';

describe('metric labels', () => {
  it("keeps PagerDuty's event types and folds anything else into 'other'", () => {
    expect(eventTypeLabel('incident.acknowledged')).toBe('incident.acknowledged');
    expect(eventTypeLabel('pagey.ping')).toBe('pagey.ping');
    expect(eventTypeLabel(`incident.${'x'.repeat(100)}`)).toBe('other');
    expect(eventTypeLabel(undefined)).toBe('other');
  });
});
