import { readFileSync } from 'node:fs';
import {
  blockActionPayload,
  eventCallbackBody,
  interactionBody,
  signSlackRequest,
  slashCommandBody,
  viewSubmissionPayload,
} from '@dmp-bot/sim/slack-signing';
import { describe, expect, it } from 'vitest';

const corpus = (name: string): string => readFileSync(new URL(`../../fixtures/slack/${name}`, import.meta.url), 'utf8');
const vector = JSON.parse(corpus('signing-test-vector.slack-docs.json')) as {
  signing_secret: string;
  x_slack_request_timestamp: string;
  raw_body: string;
  x_slack_signature: string;
};

describe('slack request signing', () => {
  it("reproduces the signature in Slack's documentation", () => {
    const headers = signSlackRequest(vector.signing_secret, vector.raw_body, Number(vector.x_slack_request_timestamp));
    expect(headers['x-slack-signature']).toBe(vector.x_slack_signature);
    expect(headers['x-slack-request-timestamp']).toBe(vector.x_slack_request_timestamp);
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
  });

  it('signs a different body differently and marks JSON bodies as JSON', () => {
    const ts = Number(vector.x_slack_request_timestamp);
    const tampered = signSlackRequest(vector.signing_secret, `${vector.raw_body}------`, ts);
    expect(tampered['x-slack-signature']).not.toBe(vector.x_slack_signature);
    expect(signSlackRequest('s', '{"type":"event_callback"}')['content-type']).toBe('application/json');
  });

  it('stamps the current time by default', () => {
    const ts = Number(signSlackRequest('s', 'a=b')['x-slack-request-timestamp']);
    expect(Math.abs(ts - Date.now() / 1000)).toBeLessThan(5);
  });
});

describe('slack body builders', () => {
  it('encodes a slash command byte for byte as Slack does', () => {
    const fields = JSON.parse(corpus('slash-command.slack-docs-signing-example.fields.json')) as Record<string, string>;
    const body = slashCommandBody({ ...fields, api_app_id: undefined, is_enterprise_install: undefined });
    expect(body).toBe(corpus('slash-command.slack-docs-signing-example.form-urlencoded.txt'));
  });

  it('fills the usual slash command fields by default', () => {
    const params = new URLSearchParams(slashCommandBody({ text: 'scans stuck', response_url: 'http://x/response/1' }));
    expect(params.get('command')).toBe('/dmp');
    expect(params.get('text')).toBe('scans stuck');
    for (const field of [
      'token',
      'team_id',
      'team_domain',
      'channel_id',
      'channel_name',
      'user_id',
      'user_name',
      'api_app_id',
      'trigger_id',
    ]) {
      expect(params.get(field), field).toBeTruthy();
    }
  });

  it('wraps an interaction payload as payload=<urlencoded JSON>', () => {
    const payload = JSON.parse(corpus('block-actions.button-click.bolt-python.json')) as object;
    const body = interactionBody(payload);
    const decoded = new URLSearchParams(body).get('payload');
    expect(JSON.parse(decoded ?? '')).toEqual(payload);
    // The captured body decodes to the same object, so both encodings read alike to a receiver.
    const captured = new URLSearchParams(corpus('block-actions.button-click.bolt-python.form-urlencoded.txt')).get(
      'payload',
    );
    expect(JSON.parse(captured ?? '')).toEqual(payload);
  });

  it('builds a block_actions payload shaped like a real button click', () => {
    const real = JSON.parse(corpus('block-actions.button-click.bolt-python.json')) as Record<string, unknown>;
    const built = blockActionPayload({
      user: { id: 'U1', name: 'alice' },
      channel: { id: 'C1', name: 'ops' },
      messageTs: '1700000000.000100',
      actionId: 'restart_workers',
      value: 'scan-workers',
      responseUrl: 'http://127.0.0.1/response/1',
      triggerId: '1.2.3',
    });
    for (const key of Object.keys(real)) expect(built, key).toHaveProperty(key);
    expect(built).toMatchObject({
      type: 'block_actions',
      user: { id: 'U1', name: 'alice' },
      container: { type: 'message', message_ts: '1700000000.000100', channel_id: 'C1' },
      channel: { id: 'C1' },
      response_url: 'http://127.0.0.1/response/1',
      trigger_id: '1.2.3',
      actions: [{ action_id: 'restart_workers', value: 'scan-workers', type: 'button' }],
    });
  });

  it('builds a select choice when an option is given', () => {
    const built = blockActionPayload({
      user: 'U1',
      channel: 'C1',
      messageTs: '1.1',
      actionId: 'pick',
      responseUrl: 'http://x',
      selectedOption: { text: { type: 'plain_text', text: 'P1' }, value: 'P1' },
    });
    expect(built.actions).toMatchObject([{ type: 'static_select', selected_option: { value: 'P1' } }]);
  });

  it('builds a view_submission payload shaped like a real modal submission', () => {
    const real = JSON.parse(corpus('view-submission.modal.bolt-python.json')) as { view: Record<string, unknown> };
    const built = viewSubmissionPayload({
      user: 'U1',
      view: {
        callback_id: 'mark_failed',
        private_metadata: '{"c":"C1"}',
        state: { values: { scan: { scan_id: { type: 'plain_text_input', value: 'abc' } } } },
      },
    }) as { view: Record<string, unknown> };
    for (const key of Object.keys(real)) expect(built, key).toHaveProperty(key);
    for (const key of Object.keys(real.view)) expect(built.view, `view.${key}`).toHaveProperty(key);
    expect(built.view.callback_id).toBe('mark_failed');
    expect(built.view.state).toEqual({ values: { scan: { scan_id: { type: 'plain_text_input', value: 'abc' } } } });
  });

  it('wraps an event as an event_callback shaped like the Events API', () => {
    const real = JSON.parse(corpus('events-api.app-mention.bolt-python.json')) as Record<string, unknown>;
    const event = {
      type: 'app_mention',
      text: '<@U0DMPBOT1> health',
      user: 'U1',
      ts: '1.1',
      channel: 'C1',
      event_ts: '1.1',
    };
    const built = JSON.parse(eventCallbackBody(event)) as Record<string, unknown>;
    for (const key of Object.keys(real).filter((k) => k !== 'enterprise_id')) expect(built, key).toHaveProperty(key);
    expect(built).toMatchObject({ type: 'event_callback', event });
    expect(built.event_id).not.toBe(JSON.parse(eventCallbackBody(event)).event_id);
  });
});
