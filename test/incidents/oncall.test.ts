// `/dmp oncall` against a PagerDuty with two escalation policies: each policy's levels, who is on
// call there until when, Slack mentions where the PagerDuty email is a Slack user's, and the
// filter by policy or by service.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALICE,
  controls,
  DANA,
  eventually,
  INCIDENTS,
  LEAD,
  settled,
  startWorld,
  textOf,
  type World,
} from './world.js';

const UNTIL = '2031-05-04T09:00:00Z';

describe('/dmp oncall', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
    w.pd.schedules.splice(
      0,
      Infinity,
      { id: 'PSCHAPI', name: 'API primary' },
      { id: 'PSCHWRK', name: 'Workers weekly' },
    );
    w.pd.escalationPolicies.splice(
      0,
      Infinity,
      {
        id: 'PEPAPI1',
        name: 'API on-call',
        levels: [{ userIds: ['PDMPUSR3'], scheduleId: 'PSCHAPI', until: UNTIL }, { userIds: ['PDMPUSR4'] }],
      },
      {
        id: 'PEPWRK1',
        name: 'Workers on-call',
        levels: [
          { userIds: ['PDMPUSR1'], scheduleId: 'PSCHWRK', until: UNTIL },
          { userIds: ['PDMPUSR2'], scheduleId: 'PSCHWRK' },
        ],
      },
    );
    w.pd.servicePolicies.PDMPAPI = 'PEPAPI1';
    w.pd.servicePolicies.PDMPWRK = 'PEPWRK1';
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const answer = async (text: string) => {
    const res = await w.slash(text, ALICE);
    expect(res.status).toBe(200);
    return res.body;
  };

  it('lists every policy with its levels, mentions and until when', async () => {
    const body = await answer('oncall');
    expect(body).toContain('API on-call');
    expect(body).toContain('Workers on-call');
    expect(body).toContain(`Level 1: <@${ALICE}> (Alice Ops) until <!date^${Date.parse(UNTIL) / 1000}^`);
    expect(body).toContain(`Level 2: <@${LEAD}> (Lee Lead) always on call`);
    expect(body).toContain(`<@${DANA}> (Dana On-Call)`);
    expect(body).toContain('Workers weekly');
    // Eli has no Slack account with his email: named, not mentioned.
    expect(body).toMatch(/Level 2: Eli Backup until/);
    const asked = w.pd.requests.filter((r) => r.path === '/oncalls');
    expect(asked.at(-1)?.query.getAll('include[]')).toEqual(['users']);
  });

  it('filters by policy name and by service, asking PagerDuty for that policy only', async () => {
    const byPolicy = await answer('oncall workers');
    expect(byPolicy).toContain('Workers on-call');
    expect(byPolicy).not.toContain('API on-call');
    expect(
      w.pd.requests
        .filter((r) => r.path === '/oncalls')
        .at(-1)
        ?.query.getAll('escalation_policy_ids[]'),
    ).toEqual(['PEPWRK1']);
    const byService = await answer('oncall DMP API');
    expect(byService).toContain('API on-call');
    expect(byService).not.toContain('Workers on-call');
  });

  it('says so when nothing matches', async () => {
    const body = await answer('oncall billing');
    expect(body).toContain('No PagerDuty escalation policy or service matches `billing`');
  });
});

describe('the incident root shows its service on-call', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld();
    w.pd.escalationPolicies.splice(
      0,
      Infinity,
      {
        id: 'PEPAPI1',
        name: 'API on-call',
        levels: [{ userIds: ['PDMPUSR3'], scheduleId: 'PDMPSCH', until: UNTIL }, { userIds: ['PDMPUSR2'] }],
      },
      { id: 'PEPWRK1', name: 'Workers on-call', levels: [{ userIds: ['PDMPUSR1'], scheduleId: 'PDMPSCH' }] },
    );
    w.pd.servicePolicies.PDMPAPI = 'PEPAPI1';
    w.pd.servicePolicies.PDMPWRK = 'PEPWRK1';
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const onCallField = (m: SlackMessage | undefined): string | undefined =>
    textOf(m)
      .match(/\*On call\*\\n([^"]*)/)?.[1]
      ?.replace(/\\u003c/g, '<');

  it("names the service's escalation policy's on-call per level, with mentions, and asks PagerDuty for that policy", async () => {
    await w.pd.triggerIncident({ title: 'API 5xx above target', serviceId: 'PDMPAPI', urgency: 'low' });
    await settled(w);
    const root = await eventually(() => w.roots().find((m) => m.text.includes('API 5xx above target')), 8_000, 'root');
    const field = onCallField(root);
    expect(field).toContain(`L1 <@${ALICE}> until <!date^${Date.parse(UNTIL) / 1000}^`);
    // Eli has no Slack account with his email: named, not mentioned; on level 2 for good.
    expect(field).toContain('L2 Eli Backup (API on-call)');
    const asked = w.pd.requests.filter((r) => r.path === '/oncalls').at(-1);
    expect(asked?.query.getAll('escalation_policy_ids[]')).toEqual(['PEPAPI1']);
  });

  it('is asked again when the root is re-rendered after a shift ended, not at every render', async () => {
    // A service of its own, so no earlier answer is remembered for it.
    const shiftEnd = new Date(Date.now() + 1_500);
    const level1 = { userIds: ['PDMPUSR3'], scheduleId: 'PDMPSCH', until: shiftEnd.toISOString() };
    w.pd.services.push({ id: 'PDMPDB1', name: 'DMP Database' });
    w.pd.escalationPolicies.push({ id: 'PEPDB01', name: 'Database on-call', levels: [level1] });
    w.pd.servicePolicies.PDMPDB1 = 'PEPDB01';
    const inc = await w.pd.triggerIncident({ title: 'API latency spiking', serviceId: 'PDMPDB1', urgency: 'low' });
    await settled(w);
    const root = await eventually(() => w.roots().find((m) => m.text.includes('API latency spiking')), 8_000, 'root');
    expect(onCallField(w.slack.message(INCIDENTS, root.ts))).toContain(`L1 <@${ALICE}>`);
    const asks = w.pd.requests.filter((r) => r.path === '/oncalls').length;
    // The hand-over in PagerDuty: Dana takes level 1 once Alice's shift ends.
    level1.userIds = ['PDMPUSR1'];
    level1.until = UNTIL;
    await eventually(() => Date.now() > shiftEnd.getTime() + 100, 5_000, 'the shift to end');
    await w.pd.act(inc.id, { status: 'acknowledged' }, 'dana@example.com');
    await settled(w);
    await eventually(
      () => onCallField(w.slack.message(INCIDENTS, root.ts))?.includes(`L1 <@${DANA}>`),
      8_000,
      'the new on-call on the root',
    );
    expect(w.pd.requests.filter((r) => r.path === '/oncalls').length).toBe(asks + 1);
  });

  it('still posts the root when PagerDuty cannot say, with the on-call unknown', async () => {
    const root = await (async () => {
      await w.pd.setFault('error');
      try {
        await w.pd.triggerIncident({ title: 'Workers backlog growing', serviceId: 'PDMPWRK', urgency: 'low' });
        return await eventually(
          () => w.roots().find((m) => m.text.includes('Workers backlog growing')),
          10_000,
          'root',
        );
      } finally {
        w.pd.setFault('none');
      }
    })();
    expect(onCallField(root)).toContain('on-call unknown');
    expect(controls(root).some((c) => c.label === 'Acknowledge')).toBe(true);
  });
});
