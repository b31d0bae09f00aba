// The post-mortem document built from the record's values: roles with their terms and
// hand-overs, each verification green or red, each remediation with who ran it and its readings
// before and after, the key signal's samples and chart, follow-ups with owner, due date and
// state — and user text (titles, notes, fields) escaped once, so it reads as written.
import { describe, expect, it } from 'vitest';
import type { Followup } from '../../src/followups/store.js';
import { postmortemDocument, roleTerms } from '../../src/incidents/postmortem.js';
import type { Actor, Incident, TimelineEntry } from '../../src/incidents/types.js';
import type { Verification } from '../../src/incidents/verification.js';

const t0 = Date.parse('2026-03-04T02:50:00Z');
const at = (min: number, s = 0) => new Date(t0 + min * 60_000 + s * 1000);
const ALICE: Actor = { source: 'slack', slackId: 'U0ALICE01', name: 'Alice Ops' };
const LEE: Actor = { source: 'slack', slackId: 'U0LEAD0001', name: 'Lee Lead' };
const DANA: Actor = { source: 'pagerduty', pdId: 'PDMPUSR1', name: 'Dana On-Call' };

const incident: Incident = {
  id: 'QDOC0001',
  number: 91,
  title: 'Scans *stuck* | queue <b>full</b> & [urgent](x)',
  serviceName: 'DMP Scan Workers',
  severity: 'P1',
  priority: 'P1',
  pdStatus: 'resolved',
  statusAt: at(40),
  snapshotAt: at(40),
  htmlUrl: 'https://acme.pagerduty.com/incidents/QDOC0001',
  assignees: [],
  escalationLevel: 1,
  procedureId: 'scans-stuck',
  triggeredAt: at(0),
  receivedAt: at(0),
  acknowledgedAt: at(2),
  acknowledgedBy: DANA,
  resolvedAt: at(40),
  resolvedBy: DANA,
  commander: LEE,
  updatedAt: at(40),
};

let n = 0;
const entry = (e: Omit<TimelineEntry, 'id' | 'incidentId'>): TimelineEntry => ({
  id: ++n,
  incidentId: incident.id,
  ...e,
});
const timeline: TimelineEntry[] = [
  entry({ at: at(0), kind: 'triggered', text: 'Triggered in PagerDuty', source: 'pagerduty' }),
  entry({
    at: at(3),
    kind: 'role',
    actor: ALICE,
    text: 'Alice Ops is commander (Take command)',
    source: 'slack',
    detail: { kind: 'role', role: 'commander', to: ALICE, by: ALICE },
  }),
  entry({
    at: at(4),
    kind: 'pinned',
    actor: { source: 'slack', slackId: 'U0ALICE01' },
    text: 'Pinned: <@U0LEAD0001> see <https://grafana.example.com/d/queue|the *queue* board> | a_b *c*',
    source: 'slack',
  }),
  entry({
    at: at(20),
    kind: 'role',
    actor: LEE,
    text: 'Commander handed over from Alice Ops to Lee Lead',
    source: 'slack',
    detail: { kind: 'role', role: 'commander', to: LEE, from: ALICE, by: LEE },
  }),
];

const checks = (dead: string, deadSummary: string, depth: number) => [
  { check: 'Stuck scans', status: 'critical', summary: '3 scans pending' },
  { check: 'Queue depth', status: depth > 10 ? 'warn' : 'ok', summary: `${depth} jobs in scan_queue` },
  { check: 'Dead workers', status: dead, summary: deadSummary },
];
const verifications: Verification[] = [
  {
    id: 1,
    at: at(0, 20),
    trigger: 'diagnosis',
    procedureId: 'scans-stuck',
    checks: checks('critical', '2 without a heartbeat for over 5 minutes: worker-3, worker-5', 137),
    changes: [],
    critical: true,
    signals: { 'Queue depth': 137, 'Dead workers': 2 },
  },
  {
    id: 2,
    at: at(12, 5),
    trigger: 'remediation',
    label: 'Restart scan-workers',
    procedureId: 'scans-stuck',
    checks: checks('ok', 'none', 12),
    changes: [{ check: 'Dead workers', before: 'critical', after: 'ok' }],
    critical: true,
    signals: { 'Queue depth': 12, 'Dead workers': 0 },
    actor: { source: 'slack', slackId: 'U0ALICE01' },
  },
  {
    id: 3,
    at: at(30),
    trigger: 'mitigated',
    procedureId: 'scans-stuck',
    checks: checks('ok', 'none', 0).map((c) => (c.check === 'Stuck scans' ? { ...c, status: 'ok' } : c)),
    changes: [
      { check: 'Stuck scans', before: 'critical', after: 'ok' },
      { check: 'Queue depth', before: 'warn', after: 'ok' },
    ],
    critical: false,
    signals: { 'Queue depth': 0, 'Dead workers': 0 },
    actor: LEE,
  },
];

const followups: Followup[] = [
  {
    id: 1,
    incidentId: incident.id,
    title: 'Alert on `scan_queue` > 100 | page the *data* team',
    repo: 'dmp/platform',
    attempts: 1,
    failed: false,
    issueNumber: 7,
    issueUrl: 'https://github.com/dmp/platform/issues/7',
    state: 'closed',
    done: true,
    source: 'thread',
    addedBy: { source: 'slack', slackId: 'U0ALICE01' },
    owner: LEE,
    dueOn: '2026-03-20',
  },
  {
    id: 2,
    incidentId: incident.id,
    title: 'Runbook: restart order',
    repo: 'dmp/platform',
    attempts: 2,
    failed: false,
    error: 'GitHub did not answer (HTTP 502)',
    done: false,
    source: 'postmortem',
  },
];

const doc = postmortemDocument({
  incident,
  timeline,
  fields: {
    dueAt: at(40 + 48 * 60),
    rootCause: 'Workers *died* after an OOM\n- the <heap> limit was 256Mi\n# not a heading',
    actionItems: 'Alert on `scan_queue` > 100 | page the *data* team\nRunbook: restart order',
    learnings: 'Restarting fixed it; the queue drained in 18m',
  },
  verifications,
  followups,
  chartFile: 'postmortem-91-queue-depth.png',
});

describe('the post-mortem document', () => {
  it('shows user text as written: Markdown and HTML in titles, notes and fields are escaped once', () => {
    expect(doc).toContain('# Post-mortem: Scans \\*stuck\\* \\| queue \\<b>full\\</b> & \\[urgent\\](x)');
    // A pinned note: its mention reads as the person's name, its Slack link as a Markdown link.
    expect(doc).toContain(
      '| 2026-03-04 02:54:00 | Alice Ops | Pinned: @Lee Lead see [the \\*queue\\* board](https://grafana.example.com/d/queue) \\| a_b \\*c\\* |',
    );
    // Lines people wrote keep their lists; nothing else in them formats.
    expect(doc).toContain(
      '## Root cause\n\nWorkers \\*died\\* after an OOM\n- the \\<heap> limit was 256Mi\n\\# not a heading',
    );
    expect(doc).not.toMatch(/[^\\]<b>full/);
  });

  it('names who held each role from when until when, and each hand-over', () => {
    expect(roleTerms(timeline).map((t) => [t.holder.name, t.from.toISOString(), t.until?.toISOString()])).toEqual([
      ['Alice Ops', at(3).toISOString(), at(20).toISOString()],
      ['Lee Lead', at(20).toISOString(), undefined],
    ]);
    expect(doc).toContain('- **Commander:** Lee Lead (since 2026-03-04 03:10:00 UTC)');
    expect(doc).toContain('- **Comms lead:** nobody');
    expect(doc).toContain('| Commander | Alice Ops | 2026-03-04 02:53:00 | 2026-03-04 03:10:00 | Take command |');
    expect(doc).toContain('| Commander | Lee Lead | 2026-03-04 03:10:00 | the end | handed over from Alice Ops |');
    expect(doc).toContain('- 2026-03-04 03:10:00 UTC: Commander handed over from Alice Ops to Lee Lead');
  });

  it('lists each verification as green or red with the checks that changed', () => {
    expect(doc).toContain(
      '| 2026-03-04 03:02:05 | Restart scan-workers | red: still critical (Stuck scans) | Dead workers: critical → ok |',
    );
    expect(doc).toContain(
      '| 2026-03-04 03:20:00 | Mitigated (Lee Lead) | green: nothing critical | Stuck scans: critical → ok; Queue depth: warn → ok |',
    );
    expect(doc).toContain('**Time to mitigate:** 30m (first verification with nothing critical)');
  });

  it('gives each remediation who ran it and its readings before and after', () => {
    expect(doc).toContain(
      '| 2026-03-04 03:02:05 | Restart scan-workers | Alice Ops | Dead workers: critical → ok (“2 without a heartbeat for over 5 minutes: worker-3, worker-5” → “none”); Queue depth: 137 → 12 jobs; Dead workers: 2 → 0 workers | still critical |',
    );
  });

  it('charts the key signal over the incident and lists its samples', () => {
    // Queue depth comes first among the key signals and was not ok when first sampled (warn).
    expect(doc).toContain('## Key signal: Queue depth');
    expect(doc).toContain('![Queue depth over the incident](postmortem-91-queue-depth.png)');
    expect(doc).toContain('| Time | Queue depth (jobs) | Sampled by |');
    expect(doc).toContain('| 2026-03-04 02:50:20 | 137 | diagnosis |');
    expect(doc).toContain('| 2026-03-04 03:02:05 | 12 | verification after Restart scan-workers |');
    expect(doc).toContain('| 2026-03-04 03:20:00 | 0 | verification after Mitigated |');
  });

  it('lists the follow-ups with their links, state, owner, due date and where they came from', () => {
    expect(doc).toContain(
      '| [dmp/platform#7](https://github.com/dmp/platform/issues/7) | Alert on \\`scan_queue\\` > 100 \\| page the \\*data\\* team | closed | Lee Lead | 2026-03-20 | from the thread by Alice Ops |',
    );
    expect(doc).toContain(
      '| — | Runbook: restart order | being filed (retrying: GitHub did not answer (HTTP 502)) | — | — | post-mortem |',
    );
  });
});
