// The console reads like Slack: a real Bolt app posts through the console's workspace, and the
// test reads what the console printed and what the app received when a number was typed.
import { PassThrough } from 'node:stream';
import { App, type Receiver } from '@slack/bolt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LineReader } from '../../src/console/line-reader.js';
import { walkModal } from '../../src/console/modal.js';
import { type ConsoleWorkspace, startConsoleWorkspace } from '../../src/console/workspace.js';

class NoReceiver implements Receiver {
  init(): void {}
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

type Body = Record<string, unknown> & { actions: Array<Record<string, unknown>>; state?: { values: unknown } };

describe('console rendering', () => {
  let ws: ConsoleWorkspace;
  let app: App;
  let out = '';
  const actions: Body[] = [];
  const submissions: Array<Record<string, unknown>> = [];
  const suggestions: Array<Record<string, unknown>> = [];
  let lastTs = '';

  /** Runs `/dmp <text>` and waits until the app is quiet; returns where its output starts. */
  const run = async (text: string) => {
    const at = out.length;
    await ws.command(text);
    await ws.settle(200, 10_000);
    return at;
  };
  const press = async (n: number) => {
    const at = out.length;
    expect(await ws.press(n)).toBeUndefined();
    await ws.settle(200, 10_000);
    return at;
  };
  /** The number shown before a label, in the output after `from`. */
  const numberOf = (label: string, from = 0) => {
    const all = [...out.slice(from).matchAll(/\[(\d+)\] ([^\n[]+)/g)].filter((m) => m[2]?.trim() === label);
    const n = Number(all[all.length - 1]?.[1]);
    expect(n, `no choice "${label}" in:\n${out.slice(from)}`).toBeGreaterThan(0);
    return n;
  };

  beforeAll(async () => {
    ws = await startConsoleWorkspace({
      userName: 'dana',
      print: (t) => {
        out += t;
      },
      users: { U0ALICE: { name: 'alice' } },
    });
    app = new App({
      token: 'xoxb-console-test',
      receiver: new NoReceiver(),
      clientOptions: { slackApiUrl: ws.apiUrl },
      tokenVerificationEnabled: false,
    });
    const controls = [
      {
        type: 'actions',
        block_id: 'controls',
        elements: [
          { type: 'button', action_id: 'ack', text: { type: 'plain_text', text: 'Acknowledge' }, value: 'i1' },
          {
            type: 'overflow',
            action_id: 'more',
            options: [
              { text: { type: 'plain_text', text: 'Escalate' }, value: 'escalate' },
              { text: { type: 'plain_text', text: 'Mitigated' }, value: 'mitigated' },
            ],
          },
          { type: 'users_select', action_id: 'reassign', placeholder: { type: 'plain_text', text: 'Reassign to…' } },
          {
            type: 'static_select',
            action_id: 'severity',
            placeholder: { type: 'plain_text', text: 'Severity' },
            options: ['P1', 'P2'].map((p) => ({ text: { type: 'plain_text', text: p }, value: p })),
          },
        ],
      },
    ];
    app.command('/dmp', async ({ command, ack, client }) => {
      switch (command.text) {
        case 'emoji':
          await ack({
            response_type: 'in_channel',
            blocks: [
              {
                type: 'section',
                text: { type: 'mrkdwn', text: ':mag: Found it :large_green_circle: at 12:30:45 :not_an_emoji:' },
              },
            ],
          });
          return;
        case 'mentions':
          await ack({
            response_type: 'in_channel',
            text: 'Commander: <@U0ALICE>, pressed by <@U0CONSOLE>, for <!subteam^S0DBA|@dba-team>',
          });
          return;
        case 'controls': {
          await ack();
          const posted = await client.chat.postMessage({
            channel: command.channel_id,
            text: 'incident',
            blocks: controls,
          });
          lastTs = String(posted.ts);
          return;
        }
        case 'grow': {
          await ack();
          await client.chat.update({
            channel: command.channel_id,
            ts: lastTs,
            text: 'incident',
            blocks: [
              { type: 'section', text: { type: 'mrkdwn', text: 'Updated' } },
              ...controls,
              {
                type: 'actions',
                elements: [{ type: 'button', action_id: 'pm', text: { type: 'plain_text', text: 'Post-mortem' } }],
              },
            ],
          });
          return;
        }
        case 'terminate':
          await ack({
            response_type: 'in_channel',
            blocks: [
              {
                type: 'actions',
                block_id: 'pick',
                elements: [
                  {
                    type: 'checkboxes',
                    action_id: 'pick_pids',
                    options: ['101', '202', '303'].map((p) => ({
                      text: { type: 'plain_text', text: `pid ${p}` },
                      value: p,
                    })),
                  },
                ],
              },
              {
                type: 'actions',
                elements: [{ type: 'button', action_id: 'confirm', text: { type: 'plain_text', text: 'Confirm' } }],
              },
            ],
          });
          return;
        case 'plan':
          await ack({ response_type: 'in_channel', text: 'The plan is in the file below.' });
          await client.filesUploadV2({
            channel_id: command.channel_id,
            filename: 'plan.txt',
            title: 'Query plan',
            content: 'Seq Scan on nodes',
          });
          return;
        default:
          await ack();
      }
    });
    app.action(/.*/, async ({ ack, body }) => {
      await ack();
      actions.push(body as unknown as Body);
    });
    // An external select's options, as Page's PagerDuty search answers them (block_suggestion).
    app.options('targets', async ({ ack, body }) => {
      suggestions.push(body as unknown as Record<string, unknown>);
      const q = String(body.value ?? '').toLowerCase();
      const all = [
        { text: { type: 'plain_text' as const, text: 'Eli Backup' }, value: 'user:PDMPUSR2' },
        { text: { type: 'plain_text' as const, text: 'Escalation policy: DMP on-call' }, value: 'ep:PDMPEP1' },
      ];
      await ack({ options: all.filter((o) => o.text.text.toLowerCase().includes(q)) });
    });
    app.view('form', async ({ ack, view }) => {
      await ack();
      submissions.push(view.state.values as Record<string, unknown>);
    });
    ws.attach(app);
  });
  afterAll(async () => {
    await ws?.close();
  });

  it('shows emoji short names as the characters Slack shows, leaving times and unknown names alone', async () => {
    const at = await run('emoji');
    const shown = out.slice(at);
    expect(shown).toContain('🔍 Found it 🟢 at 12:30:45 :not_an_emoji:');
    expect(shown).not.toContain(':mag:');
  });

  it('shows mentions as @name from the workspace’s users', async () => {
    const at = await run('mentions');
    expect(out.slice(at)).toContain('Commander: @alice, pressed by @dana, for @dba-team');
    expect(out.slice(at)).not.toContain('U0ALICE');
  });

  it('lists overflow options, user menus and selects as numbered choices that send what Slack sends', async () => {
    const at = await run('controls');
    const shown = out.slice(at);
    expect(shown).toMatch(/\[\d+\] Acknowledge/);
    expect(shown).toMatch(/More …: \[\d+\] Escalate {3}\[\d+\] Mitigated/);
    expect(shown).toMatch(/Reassign to…: \[\d+\] @dana {3}\[\d+\] @alice/);
    expect(shown).toMatch(/Severity: \[\d+\] P1 {3}\[\d+\] P2/);

    await press(numberOf('Mitigated', at));
    expect(actions.at(-1)?.actions[0]).toMatchObject({
      type: 'overflow',
      action_id: 'more',
      block_id: 'controls',
      selected_option: { value: 'mitigated' },
    });
    await press(numberOf('@alice', at));
    expect(actions.at(-1)?.actions[0]).toMatchObject({
      type: 'users_select',
      action_id: 'reassign',
      selected_user: 'U0ALICE',
    });
    await press(numberOf('P2', at));
    expect(actions.at(-1)?.actions[0]).toMatchObject({ type: 'static_select', selected_option: { value: 'P2' } });
  });

  it('keeps the numbers of a message’s choices when the message is updated', async () => {
    const before = await run('controls');
    const ack = numberOf('Acknowledge', before);
    const p2 = numberOf('P2', before);
    const at = await run('grow');
    expect(out.slice(at)).toContain('(updated)');
    expect(numberOf('Acknowledge', at)).toBe(ack);
    expect(numberOf('P2', at)).toBe(p2);
    expect(numberOf('Post-mortem', at)).toBeGreaterThan(p2);
    await press(ack);
    expect(actions.at(-1)?.actions[0]).toMatchObject({ type: 'button', action_id: 'ack', value: 'i1' });
  });

  it('shows checkboxes as numbered ticks and sends the ticked set with the next click', async () => {
    const at = await run('terminate');
    expect(out.slice(at)).toMatch(/\[\d+\] ☐ pid 101\n\s*\[\d+\] ☐ pid 202\n\s*\[\d+\] ☐ pid 303/);
    const tick101 = await press(numberOf('☐ pid 101', at));
    expect(out.slice(tick101)).toContain('☑ ticked pid 101');
    expect(actions.at(-1)?.actions[0]).toMatchObject({
      type: 'checkboxes',
      action_id: 'pick_pids',
      selected_options: [{ value: '101' }],
    });
    await press(numberOf('☐ pid 303', at));
    await press(numberOf('Confirm', at));
    expect(actions.at(-1)?.actions[0]).toMatchObject({ action_id: 'confirm' });
    expect(actions.at(-1)?.state?.values).toEqual({
      pick: {
        pick_pids: {
          type: 'checkboxes',
          selected_options: [
            { text: { type: 'plain_text', text: 'pid 101' }, value: '101' },
            { text: { type: 'plain_text', text: 'pid 303' }, value: '303' },
          ],
        },
      },
    });
  });

  it('prints an uploaded file after the reply that refers to it', async () => {
    const at = await run('plan');
    const shown = out.slice(at);
    expect(shown).toContain('[file] Query plan');
    expect(shown.indexOf('The plan is in the file below.')).toBeGreaterThanOrEqual(0);
    expect(shown.indexOf('The plan is in the file below.')).toBeLessThan(shown.indexOf('[file] Query plan'));
  });

  it('prints a modal’s prompts with the answers when input is piped', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let transcript = '';
    output.on('data', (d: Buffer) => {
      transcript += d.toString();
    });
    const reader = new LineReader(input, output, { interactive: false });
    input.end('scan-42\n2\n');
    await walkModal(
      ws,
      {
        viewId: 'V1',
        view: {
          callback_id: 'form',
          title: { type: 'plain_text', text: 'Mark a scan failed' },
          submit: { type: 'plain_text', text: 'Mark failed' },
          blocks: [
            {
              type: 'input',
              block_id: 'scan',
              label: { type: 'plain_text', text: 'Scan ID' },
              element: { type: 'plain_text_input', action_id: 'id' },
            },
            {
              type: 'input',
              block_id: 'who',
              label: { type: 'plain_text', text: 'Tell' },
              element: { type: 'users_select', action_id: 'user' },
            },
          ],
        },
      },
      reader,
      (t) => output.write(`${t}\n`),
    );
    await ws.settle(200, 10_000);
    expect(transcript).toContain('── Mark a scan failed ──');
    expect(transcript).toContain('  Scan ID: scan-42');
    expect(transcript).toMatch(/1\. @dana\n\s+2\. @alice/);
    expect(transcript).toContain('  number: 2');
    expect(submissions.at(-1)).toEqual({
      scan: { id: { type: 'plain_text_input', value: 'scan-42' } },
      who: { user: { type: 'users_select', selected_user: 'U0ALICE' } },
    });
    reader.close();
  });

  it('searches an external select through the bot as one types, and submits the picked options', async () => {
    const input = new PassThrough();
    const output = new PassThrough();
    let transcript = '';
    output.on('data', (d: Buffer) => {
      transcript += d.toString();
    });
    const reader = new LineReader(input, output, { interactive: false });
    // Search "zzz" (nothing), then "e" (both: pick the first), then "policy" (pick it), then done.
    input.end('zzz\ne\n1\npolicy\n1\n\nPlease join\n');
    await walkModal(
      ws,
      {
        viewId: 'V2',
        view: {
          callback_id: 'form',
          private_metadata: 'Q1INCIDENT',
          title: { type: 'plain_text', text: 'Page responders' },
          submit: { type: 'plain_text', text: 'Page' },
          blocks: [
            {
              type: 'input',
              block_id: 'who',
              label: { type: 'plain_text', text: 'Who' },
              element: { type: 'multi_external_select', action_id: 'targets', min_query_length: 1 },
            },
            {
              type: 'input',
              block_id: 'message',
              label: { type: 'plain_text', text: 'Message' },
              element: { type: 'plain_text_input', action_id: 'text' },
            },
          ],
        },
      },
      reader,
      (t) => output.write(`${t}\n`),
    );
    await ws.settle(200, 10_000);
    expect(transcript).toContain('Nothing matches "zzz"');
    expect(transcript).toMatch(/1\. Eli Backup\n\s+2\. Escalation policy: DMP on-call/);
    expect(transcript).toContain('picked: Eli Backup');
    // Slack's block_suggestion: the element's ids, what was typed, and the view it is in.
    expect(suggestions.map((b) => b.value)).toEqual(['zzz', 'e', 'policy']);
    expect(suggestions.at(-1)).toMatchObject({
      type: 'block_suggestion',
      action_id: 'targets',
      block_id: 'who',
      user: { id: 'U0CONSOLE' },
      view: { id: 'V2', callback_id: 'form', private_metadata: 'Q1INCIDENT' },
    });
    expect(submissions.at(-1)).toEqual({
      who: {
        targets: {
          type: 'multi_external_select',
          selected_options: [
            { text: { type: 'plain_text', text: 'Eli Backup' }, value: 'user:PDMPUSR2' },
            { text: { type: 'plain_text', text: 'Escalation policy: DMP on-call' }, value: 'ep:PDMPEP1' },
          ],
        },
      },
      message: { text: { type: 'plain_text_input', value: 'Please join' } },
    });
    reader.close();
  });

  it('sends a typed /dmp line as Slack does with should_escape: @name as the member, links and & < > escaped', async () => {
    const seen: string[] = [];
    const listen = (a: unknown) => seen.push(String((a as { text?: string }).text ?? ''));
    app.command('/dmp', async ({ command, next }) => {
      listen(command);
      await next();
    });
    await run('incident lead @alice https://x.example/?a=1&b=2 a<b');
    expect(seen.at(-1)).toBe('incident lead <@U0ALICE|alice> <https://x.example/?a=1&amp;b=2> a&lt;b');
  });
});
