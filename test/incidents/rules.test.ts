// The rules the workflow decides by: the state machine (state and event time, not arrival
// order), severity from priority or urgency, the fitting runbook diagnosis, and the signature.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { matchProcedure, specialistRoles } from '../../src/incidents/match.js';
import { severityMap, severityOf } from '../../src/incidents/severity.js';
import { verifyPagerDutySignature } from '../../src/incidents/signature.js';
import { statusTransition } from '../../src/incidents/state.js';

const t = (s: number) => new Date(Date.UTC(2025, 3, 7, 3, 47, s));

describe('the incident state machine', () => {
  it('never lets a page reopen or un-acknowledge an incident', () => {
    expect(statusTransition('acknowledged', t(10), 'incident.triggered', 'triggered', t(20))).toBeUndefined();
    expect(statusTransition('resolved', t(10), 'incident.triggered', 'triggered', t(20))).toBeUndefined();
  });

  it('ignores events older than the state it holds', () => {
    expect(statusTransition('resolved', t(50), 'incident.acknowledged', 'acknowledged', t(20))).toBeUndefined();
    expect(statusTransition('acknowledged', t(50), 'incident.unacknowledged', 'triggered', t(20))).toBeUndefined();
  });

  it('moves on with newer events, and leaves "resolved" only by a reopen', () => {
    expect(statusTransition('triggered', t(0), 'incident.acknowledged', 'acknowledged', t(5))).toBe('acknowledged');
    expect(statusTransition('acknowledged', t(5), 'incident.resolved', 'resolved', t(9))).toBe('resolved');
    expect(statusTransition('acknowledged', t(5), 'incident.unacknowledged', 'triggered', t(9))).toBe('triggered');
    expect(statusTransition('resolved', t(9), 'incident.escalated', 'triggered', t(12))).toBeUndefined();
    expect(statusTransition('resolved', t(9), 'incident.reopened', 'triggered', t(12))).toBe('triggered');
  });

  it('lets the further state win when two events share an instant', () => {
    expect(statusTransition('acknowledged', t(5), 'incident.unacknowledged', 'triggered', t(5))).toBeUndefined();
    expect(statusTransition('triggered', t(5), 'incident.acknowledged', 'acknowledged', t(5))).toBe('acknowledged');
  });
});

describe('severity', () => {
  const map = severityMap(undefined);

  it('comes from the PagerDuty priority, else the urgency', () => {
    expect(severityOf('P1', 'low', map)).toBe('P1');
    expect(severityOf('P5', 'high', map)).toBe('P4');
    expect(severityOf('SEV-2', 'low', map)).toBe('P2');
    expect(severityOf(null, 'high', map)).toBe('P2');
    expect(severityOf(undefined, 'low', map)).toBe('P4');
  });

  it('follows INCIDENT_SEVERITY_MAP', () => {
    const custom = severityMap({ high: 'P1', Critical: 'P1' });
    expect(severityOf(null, 'high', custom)).toBe('P1');
    expect(severityOf('critical', 'low', custom)).toBe('P1');
  });
});

describe('the diagnosis an incident gets', () => {
  it("follows the runbook's common issues from the title, then the service", () => {
    expect(matchProcedure('Scans stuck in pending', undefined)).toBe('scans-stuck');
    expect(matchProcedure('Alert: something odd', 'DMP Scan Workers')).toBe('scans-stuck');
    expect(matchProcedure('High database CPU', 'DMP API')).toBe('db-slow');
    expect(matchProcedure('API slow to answer', undefined)).toBe('db-slow');
    expect(matchProcedure('Spike of 401 on /login', 'DMP API')).toBe('auth-failures');
    expect(matchProcedure('Graph queries timeout with 504', 'DMP API')).toBe('graph-timeout');
    expect(matchProcedure('GitHub webhook deliveries failing', 'DMP API')).toBe('webhooks');
    expect(matchProcedure('Disk almost full', 'DMP API')).toBe('health');
  });

  it('brings the DBA into database incidents and security into security ones', () => {
    expect(specialistRoles('Database replication lag', undefined)).toEqual(['dba']);
    expect(specialistRoles('Leaked credentials in logs', 'DMP API')).toEqual(['security']);
    expect(specialistRoles('Scans stuck', 'DMP Scan Workers')).toEqual([]);
  });
});

describe('X-PagerDuty-Signature', () => {
  const vectors = JSON.parse(
    readFileSync(new URL('../../fixtures/pagerduty/signature-test-vectors.json', import.meta.url), 'utf8'),
  ) as {
    vectors: Array<{
      secret: string;
      file: string;
      valid_signature?: string;
      invalid_signature_expect_reject?: string;
    }>;
  };
  const body = (file: string) => readFileSync(new URL(`../../fixtures/pagerduty/${file}`, import.meta.url));

  it('matches every published test vector, and refuses the invalid ones', () => {
    for (const v of vectors.vectors) {
      if (v.valid_signature)
        expect(verifyPagerDutySignature(body(v.file), v.valid_signature, [v.secret]), v.file).toBe(true);
      if (v.invalid_signature_expect_reject)
        expect(verifyPagerDutySignature(body(v.file), v.invalid_signature_expect_reject, [v.secret]), v.file).toBe(
          false,
        );
    }
  });

  it('accepts any of several signatures against any of several secrets, and nothing without a secret', () => {
    const v = vectors.vectors.find((x) => x.valid_signature) as {
      secret: string;
      file: string;
      valid_signature: string;
    };
    expect(
      verifyPagerDutySignature(body(v.file), `v1=${'0'.repeat(64)}, ${v.valid_signature}`, ['rotated-new', v.secret]),
    ).toBe(true);
    expect(verifyPagerDutySignature(body(v.file), v.valid_signature, [])).toBe(false);
    expect(verifyPagerDutySignature(body(v.file), undefined, [v.secret])).toBe(false);
    expect(verifyPagerDutySignature(body(v.file), v.valid_signature.replace('v1=', 'v2='), [v.secret])).toBe(false);
  });
});
