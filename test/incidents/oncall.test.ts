// `/dmp oncall` against a PagerDuty with two escalation policies: each policy's levels, who is on
// call there until when, Slack mentions where the PagerDuty email is a Slack user's, and the
// filter by policy or by service.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALICE, DANA, LEAD, startWorld, type World } from './world.js';

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
