// Page from the thread: the root's Page button opens a modal whose external select searches
// PagerDuty (block_suggestion), and submitting sends a responder request as the person
// (From: their email, requester_id: their PagerDuty id); the thread says who was paged.

import type { SlackMessage } from '@dmp-bot/sim/slack-fake';
import { interactionBody, SLACK_DEFAULTS, signSlackRequest } from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CONTACTS, PAGE_MESSAGE, PAGE_TARGETS, PAGE_VIEW } from '../../src/blocks/incident-ids.js';
import {
  ALICE,
  controls,
  event,
  eventually,
  INCIDENTS,
  page,
  SIGNING_SECRET,
  settled,
  startWorld,
  type World,
} from './world.js';

describe('Page in the incident thread', () => {
  let w: World;

  beforeAll(async () => {
    w = await startWorld({
      ESCALATION_CONTACTS: JSON.stringify({ dba: 'S0DBATEAM1', engineering_lead: 'U0LEAD0001' }),
    });
    await w.start();
  });

  afterAll(async () => {
    await w?.close();
  });

  const suggest = async (value: string): Promise<{ options: Array<{ value: string; text: { text: string } }> }> => {
    const raw = interactionBody({
      type: 'block_suggestion',
      user: { id: ALICE, team_id: SLACK_DEFAULTS.teamId },
      team: { id: SLACK_DEFAULTS.teamId },
      api_app_id: SLACK_DEFAULTS.apiAppId,
      token: 'verification-token',
      container: { type: 'view', view_id: 'V0000000001' },
      action_id: PAGE_TARGETS,
      block_id: PAGE_TARGETS,
      value,
      view: { id: 'V0000000001', type: 'modal', callback_id: PAGE_VIEW, private_metadata: '' },
    });
    const to = w.bots[0];
    if (!to) throw new Error('no bot');
    const res = await fetch(`${to.url}/slack/events`, {
      method: 'POST',
      headers: signSlackRequest(SIGNING_SECRET, raw),
      body: raw,
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { options: Array<{ value: string; text: { text: string } }> };
  };

  it('opens the modal, searches PagerDuty as one types, and pages as the person', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Database connections exhausted', urgency: 'low' });
    await settled(w);
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Database connections exhausted')),
      8_000,
      'the root',
    );
    const current = () => w.slack.message(INCIDENTS, root.ts) as SlackMessage;
    const pageButton = controls(current()).find((c) => c.label === 'Page');
    expect(pageButton).toBeDefined();
    await w.click({
      actionId: pageButton?.action_id ?? '',
      value: pageButton?.value,
      blockId: pageButton?.block_id,
      messageTs: root.ts,
      user: ALICE,
    });
    const opened = await eventually(
      () => w.slack.callsTo('views.open').find((c) => JSON.stringify(c.args.view).includes(PAGE_VIEW)),
      8_000,
      'the Page modal',
    );
    expect(JSON.stringify(opened.args.view)).toContain('multi_external_select');

    const eli = await suggest('eli');
    expect(eli.options).toEqual([expect.objectContaining({ value: 'user:PDMPUSR2' })]);
    const policies = await suggest('on-call');
    expect(policies.options.map((o) => o.value)).toContain('ep:PDMPEP1');

    const submitted = await w.submit(
      {
        callback_id: PAGE_VIEW,
        private_metadata: inc.id,
        values: {
          [PAGE_TARGETS]: {
            [PAGE_TARGETS]: {
              type: 'multi_external_select',
              selected_options: [
                { value: 'user:PDMPUSR2', text: { type: 'plain_text', text: 'Eli Backup' } },
                { value: 'ep:PDMPEP1', text: { type: 'plain_text', text: 'Escalation policy: DMP on-call' } },
              ],
            },
          },
          [PAGE_MESSAGE]: { [PAGE_MESSAGE]: { type: 'plain_text_input', value: 'Need a DBA on the pool' } },
        },
      },
      ALICE,
    );
    expect(submitted.status).toBe(200);
    const request = await eventually(
      () => w.pd.responderRequests.find((r) => r.incidentId === inc.id),
      8_000,
      'the request',
    );
    expect(request).toEqual({
      incidentId: inc.id,
      from: 'alice@example.com',
      requesterId: 'PDMPUSR3',
      message: 'Need a DBA on the pool',
      targets: [
        { type: 'user', id: 'PDMPUSR2' },
        { type: 'escalation_policy', id: 'PDMPEP1' },
      ],
    });
    const reply = await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Paged Eli Backup, DMP on-call')),
      8_000,
      'the thread told',
    );
    expect(reply.text).toContain('Need a DBA on the pool');
    expect(reply.text).toContain(`<@${ALICE}>`);
    // PagerDuty announces each responder it added: the policy's on-call (Dana, level 1) is news
    // and posted; Eli, whom the bot's own post named, is recorded only.
    await eventually(
      () =>
        w
          .replies(root.ts)
          .find((m) => m.text.includes('Responder request: Dana On-Call paged — Need a DBA on the pool')),
      8_000,
      "the policy's responder posted",
    );
    await settled(w);
    expect(w.replies(root.ts).filter((m) => m.text.includes('Eli Backup'))).toHaveLength(1);
    const confirmed = (
      await w.db.client.query<{ text: string }>(
        `SELECT text FROM incident_timeline WHERE incident_id = $1 AND kind = 'pagerduty' ORDER BY id`,
        [inc.id],
      )
    ).rows.map((r) => r.text);
    expect(confirmed).toContain('Confirmed in PagerDuty: Responder request: Eli Backup paged — Need a DBA on the pool');
  });

  it('sends the page through the PagerDuty outbox: kept while PagerDuty is down, across a restart, sent once', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Queue consumers stalled', urgency: 'low' });
    await settled(w);
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Queue consumers stalled')),
      8_000,
      'root',
    );
    // Alice's PagerDuty account is looked up (and remembered) when she presses Page.
    const b = controls(w.slack.message(INCIDENTS, root.ts)).find((c) => c.label === 'Page');
    const opened = w.slack.callsTo('views.open').length;
    await w.click({
      actionId: b?.action_id ?? '',
      value: b?.value,
      blockId: b?.block_id,
      messageTs: root.ts,
      user: ALICE,
    });
    await eventually(() => w.slack.callsTo('views.open')[opened], 8_000, 'the modal');
    const first = w.bots[0];
    if (!first) throw new Error('no bot');
    const before = w.pd.responderRequests.length;
    await w.pd.down();
    const submission = {
      callback_id: PAGE_VIEW,
      private_metadata: inc.id,
      values: {
        [PAGE_TARGETS]: {
          [PAGE_TARGETS]: {
            type: 'multi_external_select',
            selected_options: [{ value: 'user:PDMPUSR2', text: { type: 'plain_text', text: 'Eli Backup' } }],
          },
        },
        [PAGE_MESSAGE]: { [PAGE_MESSAGE]: { type: 'plain_text_input', value: 'Consumers need a second pair of eyes' } },
      },
    };
    expect((await w.submit(submission, ALICE)).status).toBe(200);
    // A double press pages once.
    expect((await w.submit(submission, ALICE)).status).toBe(200);
    const row = await eventually(
      async () => {
        const rows = (
          await w.db.client.query<{ error: string | null; from_email: string; done_at: Date | null }>(
            `SELECT error, from_email, done_at FROM pd_outbox WHERE incident_id = $1 AND kind = 'responder_request'`,
            [inc.id],
          )
        ).rows;
        return rows.length === 1 && rows[0]?.error ? rows[0] : undefined;
      },
      15_000,
      'the page tried and kept for a retry',
    );
    expect(row).toMatchObject({ from_email: 'alice@example.com', done_at: null });
    expect(w.replies(root.ts).some((m) => m.text.includes('Paged Eli Backup'))).toBe(false);
    // The process goes away; another starts; PagerDuty comes back.
    await w.stop(first);
    await w.start();
    await w.pd.up();
    const reply = await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Paged Eli Backup')),
      30_000,
      'the thread told once PagerDuty accepted',
    );
    expect(reply.text).toContain('Consumers need a second pair of eyes');
    expect(reply.text).toContain(`<@${ALICE}>`);
    await settled(w);
    const sent = w.pd.responderRequests.slice(before);
    expect(sent).toEqual([
      {
        incidentId: inc.id,
        from: 'alice@example.com',
        requesterId: 'PDMPUSR3',
        message: 'Consumers need a second pair of eyes',
        targets: [{ type: 'user', id: 'PDMPUSR2' }],
      },
    ]);
    expect(w.replies(root.ts).filter((m) => m.text.includes('Paged Eli Backup'))).toHaveLength(1);
  });

  it('posts the responder webhooks in the thread: who was paged, who accepted, who declined', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Disk latency on the primary', urgency: 'low' });
    await settled(w);
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Disk latency on the primary')),
      8_000,
      'root',
    );
    const responder = (type: string, user: { id: string; summary: string }, extra: Record<string, unknown>) =>
      event(type, page({ id: inc.id, title: inc.title }), {
        data: {
          type: 'incident_responder',
          incident: { id: inc.id, type: 'incident_reference', summary: inc.title },
          user: { ...user, type: 'user_reference' },
          escalation_policy: null,
          message: 'Need a DBA',
          ...extra,
        },
      });
    const eli = { id: 'PDMPUSR2', summary: 'Eli Backup' };
    const lee = { id: 'PDMPUSR4', summary: 'Lee Lead' };
    expect((await w.deliver(responder('incident.responder.added', eli, { state: 'pending' }))).status).toBeLessThan(
      300,
    );
    expect((await w.deliver(responder('incident.responder.replied', eli, { state: 'joined' }))).status).toBeLessThan(
      300,
    );
    expect((await w.deliver(responder('incident.responder.replied', lee, { state: 'declined' }))).status).toBeLessThan(
      300,
    );
    for (const text of [
      'Responder request: Eli Backup paged — Need a DBA',
      'Responder request: Eli Backup accepted and joined',
      'Responder request: Lee Lead declined',
    ])
      await eventually(() => w.replies(root.ts).find((m) => m.text.includes(text)), 8_000, `"${text}"`);
  });

  it('offers the escalation contacts as shortcuts, and brings the picked ones into the thread', async () => {
    const inc = await w.pd.triggerIncident({ title: 'Replication slot lagging', urgency: 'low' });
    await settled(w);
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Replication slot lagging')),
      8_000,
      'root',
    );
    const b = controls(w.slack.message(INCIDENTS, root.ts)).find((c) => c.label === 'Page');
    const before = w.slack.callsTo('views.open').length;
    await w.click({
      actionId: b?.action_id ?? '',
      value: b?.value,
      blockId: b?.block_id,
      messageTs: root.ts,
      user: ALICE,
    });
    const opened = await eventually(() => w.slack.callsTo('views.open')[before], 8_000, 'the modal');
    const view = JSON.stringify(opened.args.view);
    expect(view).toContain('Database admin');
    expect(view).toContain('Engineering lead');
    expect(view).not.toContain('Security'); // not configured
    const requests = w.pd.responderRequests.length;
    const res = await w.submit(
      {
        callback_id: PAGE_VIEW,
        private_metadata: inc.id,
        values: {
          [PAGE_CONTACTS]: {
            [PAGE_CONTACTS]: {
              type: 'checkboxes',
              selected_options: [{ value: 'dba', text: { type: 'plain_text', text: 'Database admin' } }],
            },
          },
          [PAGE_TARGETS]: { [PAGE_TARGETS]: { type: 'multi_external_select', selected_options: [] } },
          [PAGE_MESSAGE]: { [PAGE_MESSAGE]: { type: 'plain_text_input', value: 'Slot is 40GB behind' } },
        },
      },
      ALICE,
    );
    expect(res.status).toBe(200);
    await eventually(
      () => w.replies(root.ts).find((m) => m.text.includes('Bringing in <!subteam^S0DBATEAM1> (Database admin)')),
      8_000,
      'the DBA team brought in',
    );
    // Only Slack contacts were picked: nothing went to PagerDuty.
    expect(w.pd.responderRequests.length).toBe(requests);
  });

  it('an empty pick is answered on the field and pages nobody', async () => {
    const before = w.pd.responderRequests.length;
    const res = await w.submit(
      {
        callback_id: PAGE_VIEW,
        private_metadata: 'Q1',
        values: {
          [PAGE_TARGETS]: { [PAGE_TARGETS]: { type: 'multi_external_select', selected_options: [] } },
          [PAGE_MESSAGE]: { [PAGE_MESSAGE]: { type: 'plain_text_input', value: 'hello there' } },
        },
      },
      ALICE,
    );
    expect(JSON.parse(res.body)).toEqual({
      response_action: 'errors',
      errors: { [PAGE_TARGETS]: 'Pick whom to page.' },
    });
    expect(w.pd.responderRequests.length).toBe(before);
  });
});
