// decide(): what one PagerDuty event does to an incident, as a table. No database, no Slack:
// the next state, the timeline entries, the posts and the timers, from the incident, the event
// and the time.
import { describe, expect, it } from 'vitest';
import { type Decision, decide, type IncidentEvent } from '../../src/incidents/decide.js';
import type { Snapshot } from '../../src/incidents/pagerduty-payload.js';
import { severityMap } from '../../src/incidents/severity.js';
import type { Actor, Incident } from '../../src/incidents/types.js';

const t = (s: number) => new Date(Date.UTC(2025, 3, 7, 3, 47, s));
const now = t(59);
const rules = { severityMap: severityMap(undefined) };
const alice: Actor = { source: 'pagerduty', pdId: 'PALICE', name: 'Alice' };

const base: Incident = {
  id: 'Q1',
  number: 42,
  title: 'Checkout is down',
  severity: 'P1',
  priority: 'P1',
  urgency: 'high',
  pdStatus: 'triggered',
  statusAt: t(0),
  snapshotAt: t(0),
  assignees: [{ id: 'PBOB', summary: 'Bob' }],
  escalationLevel: 1,
  triggeredAt: t(0),
  receivedAt: t(1),
  updatedAt: t(1),
};

const snap = (over: Partial<Snapshot> = {}): Snapshot => ({
  id: 'Q1',
  type: 'incident',
  number: 42,
  status: 'triggered',
  title: 'Checkout is down',
  assignees: [{ id: 'PBOB', summary: 'Bob' }],
  priority: { id: 'PR1', summary: 'P1' },
  urgency: 'high',
  ...over,
});

const ev = (type: string, at: Date, over: Partial<IncidentEvent> = {}): IncidentEvent => ({
  eventId: `E-${type}`,
  type,
  at,
  actor: alice,
  data: {},
  echo: false,
  ...over,
});

interface Case {
  name: string;
  incident?: Partial<Incident>;
  event: IncidentEvent;
  expect: {
    status?: Incident['pdStatus'];
    save: boolean;
    changed?: boolean;
    timeline: string[];
    posts: string[];
    cancel?: string[];
    reschedule?: boolean;
    resolved?: boolean;
    incident?: Partial<Incident>;
  };
}

const postName = (p: Decision['posts'][number]): string => (p.type === 'change' ? `change:${p.change}` : p.type);

const cases: Case[] = [
  {
    name: 'a redelivered page of a known incident changes nothing',
    event: ev('incident.triggered', t(0), { snapshot: snap() }),
    expect: { status: 'triggered', save: false, changed: false, timeline: [], posts: [] },
  },
  {
    name: 'acknowledged: status, who and when, a timeline entry, a post, the reminder cancelled',
    event: ev('incident.acknowledged', t(30), { snapshot: snap({ status: 'acknowledged' }) }),
    expect: {
      status: 'acknowledged',
      save: true,
      timeline: ['acknowledged:Acknowledged in PagerDuty'],
      posts: ['change:acknowledged'],
      cancel: ['ack_reminder'],
      incident: { acknowledgedAt: t(30), acknowledgedBy: alice, statusAt: t(30), updatedAt: now },
    },
  },
  {
    name: 'resolved: the post-mortem opens',
    incident: { pdStatus: 'acknowledged', statusAt: t(30), acknowledgedAt: t(30) },
    event: ev('incident.resolved', t(50), { snapshot: snap({ status: 'resolved' }) }),
    expect: {
      status: 'resolved',
      save: true,
      timeline: ['resolved:Resolved in PagerDuty'],
      posts: ['change:resolved'],
      cancel: ['ack_reminder'],
      resolved: true,
      incident: { resolvedAt: t(50), resolvedBy: alice },
    },
  },
  {
    name: 'out of order: resolved arrives before acknowledged, and resolves',
    event: ev('incident.resolved', t(50), { snapshot: snap({ status: 'resolved' }) }),
    expect: {
      status: 'resolved',
      save: true,
      timeline: ['resolved:Resolved in PagerDuty'],
      posts: ['change:resolved'],
      cancel: ['ack_reminder'],
      resolved: true,
    },
  },
  {
    name: 'out of order: the late acknowledged after resolved changes nothing',
    incident: { pdStatus: 'resolved', statusAt: t(50), snapshotAt: t(50), resolvedAt: t(50) },
    event: ev('incident.acknowledged', t(30), { snapshot: snap({ status: 'acknowledged' }) }),
    expect: { status: 'resolved', save: false, changed: false, timeline: [], posts: [] },
  },
  {
    name: 'redelivery of an acknowledgement already applied: recorded as confirmed, not posted',
    incident: { pdStatus: 'acknowledged', statusAt: t(30), snapshotAt: t(30), acknowledgedAt: t(30) },
    event: ev('incident.acknowledged', t(30), { snapshot: snap({ status: 'acknowledged' }) }),
    expect: {
      status: 'acknowledged',
      save: false,
      changed: false,
      timeline: ['pagerduty:Confirmed in PagerDuty: acknowledged'],
      posts: [],
    },
  },
  {
    name: 'reopened: resolution and mitigation are cleared',
    incident: {
      pdStatus: 'resolved',
      statusAt: t(50),
      snapshotAt: t(50),
      resolvedAt: t(50),
      resolvedBy: alice,
      mitigatedAt: t(45),
    },
    event: ev('incident.reopened', t(55), { snapshot: snap({ status: 'triggered' }) }),
    expect: {
      status: 'triggered',
      save: true,
      timeline: ['reopened:Reopened in PagerDuty'],
      posts: ['change:reopened'],
      incident: { resolvedAt: undefined, resolvedBy: undefined, mitigatedAt: undefined },
    },
  },
  {
    name: 'reassigned: the new assignees are taken and named',
    event: ev('incident.reassigned', t(20), { snapshot: snap({ assignees: [{ id: 'PCAROL', summary: 'Carol' }] }) }),
    expect: {
      status: 'triggered',
      save: true,
      timeline: ['reassigned:Reassigned in PagerDuty to Carol'],
      posts: ['change:reassigned'],
      incident: { assignees: [{ id: 'PCAROL', summary: 'Carol' }] },
    },
  },
  {
    name: 'escalated: one level up',
    event: ev('incident.escalated', t(20), { snapshot: snap() }),
    expect: {
      save: true,
      timeline: ['escalated:Escalated in PagerDuty, now with Bob'],
      posts: ['change:escalated'],
      incident: { escalationLevel: 2 },
    },
  },
  {
    name: 'priority changed: severity follows and its timers are set again',
    event: ev('incident.priority_updated', t(20), { snapshot: snap({ priority: { id: 'PR3', summary: 'P3' } }) }),
    expect: {
      save: true,
      timeline: ['priority:Priority changed in PagerDuty: priority P3, severity P1 → P3'],
      posts: ['change:priority'],
      reschedule: true,
      incident: { severity: 'P3', priority: 'P3' },
    },
  },
  {
    name: 'priority change that the bot made itself (an echo): taken, recorded as confirmed, not posted',
    event: ev('incident.priority_updated', t(20), {
      snapshot: snap({ priority: { id: 'PR3', summary: 'P3' } }),
      echo: true,
    }),
    expect: {
      save: true,
      timeline: ['pagerduty:Confirmed in PagerDuty: priority updated'],
      posts: [],
      reschedule: true,
      incident: { severity: 'P3' },
    },
  },
  {
    name: 'annotated: the note goes on the timeline and into the thread, the incident is not saved',
    event: ev('incident.annotated', t(20), { data: { id: 'N1', content: 'rolled back' } }),
    expect: { save: false, changed: true, timeline: ['note:Note in PagerDuty: rolled back'], posts: ['note'] },
  },
  {
    name: 'annotated by the bot itself (an echo): recorded as confirmed only',
    event: ev('incident.annotated', t(20), { data: { id: 'N1', content: 'rolled back' }, echo: true }),
    expect: { save: false, changed: false, timeline: ['pagerduty:Confirmed in PagerDuty: note added'], posts: [] },
  },
  {
    name: 'a responder added: recorded and posted, without the incident',
    event: ev('incident.responder.added', t(20), { data: { user: { summary: 'Dan' } } }),
    expect: {
      save: false,
      changed: true,
      timeline: ['pagerduty:Responder request: Dan paged'],
      posts: ['change:responder'],
    },
  },
];

describe('decide(): one PagerDuty event, as a table', () => {
  it.each(cases)('$name', (c) => {
    const incident = { ...base, ...c.incident };
    const before = structuredClone(incident);
    const d = decide(incident, c.event, now, rules);
    expect(incident).toEqual(before); // the input is left as it was
    if (c.expect.status) expect(d.incident.pdStatus).toBe(c.expect.status);
    expect(d.save).toBe(c.expect.save);
    expect(d.changed).toBe(c.expect.changed ?? c.expect.save);
    expect(d.timeline.map((e) => `${e.kind}:${e.text}`)).toEqual(c.expect.timeline);
    expect(d.posts.map(postName)).toEqual(c.expect.posts);
    expect(d.timers.cancel).toEqual(c.expect.cancel ?? []);
    expect(d.timers.rescheduleSeverity).toBe(c.expect.reschedule ?? false);
    expect(d.resolved).toBe(c.expect.resolved ?? false);
    for (const [k, v] of Object.entries(c.expect.incident ?? {})) expect(d.incident[k as keyof Incident], k).toEqual(v);
  });
});
