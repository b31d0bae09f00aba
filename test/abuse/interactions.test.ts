// The abuse suite's interaction half: signed block_actions and view_submission bodies whose
// values, action ids, block ids, selected options, states and private_metadata were tampered
// with, by an operator and by strangers, against a bot with a live incident and a pending
// remediation. Every one is answered without a crash, nothing posted shows a stack trace, and
// nothing is acted on: Kubernetes, PagerDuty and the pending action stay as they were.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type KubeFake, seedPlatform, startKubeFake } from '@dmp-bot/sim/k8s-fake';
import { mulberry32 } from '@dmp-bot/sim/random';
import {
  blockActionPayload,
  interactionBody,
  SLACK_DEFAULTS,
  signSlackRequest,
  viewSubmissionPayload,
} from '@dmp-bot/sim/slack-signing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as incidentIds from '../../src/blocks/incident-ids.js';
import * as remediationIds from '../../src/blocks/remediation-ids.js';
import { ALICE, controls, eventually, INCIDENTS, SIGNING_SECRET, startWorld, type World } from '../incidents/world.js';

const COUNT = 600;
const MALLORY = 'U0MALLORY1';
const STACK = /\n\s+at .+[(\s].*:\d+:\d+\)?|\.(ts|js):\d+:\d+/;

const NASTY = [
  '',
  ' ',
  'null',
  'undefined',
  '[]',
  '{}',
  '{"id":null}',
  '{"id":{"$ne":""}}',
  '{"id":["a","b"]}',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '{"remedy":"drop-database","params":{}}',
  '{"remedy":"scale-deployment","params":{"deployment":"billing","replicas":-1}}',
  '{"remedy":"rollback-deployment","params":{"deployment":"../../etc"}}',
  '{"remedy":"terminate-queries","params":{"pids":"all"}}',
  '{"incidentId":"PNOTREAL1","choice":"P1"}',
  'PNOTREAL1|P1',
  '|',
  '||||',
  "'; DROP TABLE remediation_actions;--",
  '$(reboot)',
  '<!channel>',
  '<@U0ALICE01>',
  '\u0000\u0000\u0000',
  '\u202e\ufeff\u200b',
  '🔥'.repeat(200),
  'x'.repeat(20_000),
  '1e309',
  '-1',
  '9'.repeat(400),
  '%00%0a%0d',
  '{"a":'.repeat(500),
];

/** Every action id the bot registers, a few near misses and inventions. */
function actionIdPool(): string[] {
  const ids = ([...Object.values(incidentIds), ...Object.values(remediationIds)] as unknown[]).filter(
    (v): v is string => typeof v === 'string',
  );
  return [
    ...ids,
    'remedy:restart-deployment',
    'remedy:scale-deployment',
    'remedy:rollback-deployment',
    'remedy:terminate-queries',
    'remedy:flush-cache',
    'remedy:does-not-exist',
    'remedy:',
    'incident:ACK',
    'incident:ack ',
    'remediation:confirm\u0000',
    'drop_all_tables',
    '',
  ];
}

/** A changed copy of a real value: never equal to it. */
function tamper(value: string, next: () => number, pick: <T>(xs: T[]) => T): string {
  const r = next();
  let out: string;
  if (r < 0.3) out = pick(NASTY);
  else if (r < 0.5 && value.length > 0) {
    const i = Math.floor(next() * value.length);
    out = value.slice(0, i) + String.fromCharCode(33 + Math.floor(next() * 90)) + value.slice(i + 1);
  } else if (r < 0.6) out = value.slice(0, Math.floor(next() * value.length));
  else if (r < 0.7) out = `${value}${pick(NASTY)}`;
  else if (r < 0.85) {
    try {
      const parsed = JSON.parse(value) as Record<string, unknown>;
      const key = pick(Object.keys(parsed).concat(['id', 'remedy', 'params']));
      parsed[key] = pick<unknown>([null, 0, -1, true, [], {}, 'x'.repeat(5_000), pick(NASTY), { nested: pick(NASTY) }]);
      out = JSON.stringify(parsed);
    } catch {
      out = JSON.stringify({ id: value, extra: pick(NASTY) });
    }
  } else out = pick(NASTY) + value;
  return out === value ? `${value}~` : out;
}

describe('abuse: tampered signed interactions', () => {
  let w: World;
  let kube: KubeFake;
  const dir = mkdtempSync(join(tmpdir(), 'interactions-'));

  beforeAll(async () => {
    kube = await startKubeFake({ namespace: 'dmp' });
    seedPlatform(kube);
    w = await startWorld({ KUBECONFIG: kube.writeKubeconfig(dir), DMP_OPERATORS: ALICE });
    await w.start();
  }, 60_000);
  afterAll(async () => {
    await w?.close();
    await kube?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 600 tampered clicks and submissions with no crash, no stack trace posted, and nothing acted on', async () => {
    const bot = w.bots[0];
    if (!bot) throw new Error('no bot');
    // Real material to tamper with: an incident's root with its controls, and a pending remediation.
    await w.pd.triggerIncident({ title: 'Graph queries timing out', serviceId: 'PDMPAPI', urgency: 'high' });
    const root = await eventually(
      () => w.roots().find((m) => m.text.includes('Graph queries timing out')),
      15_000,
      'the incident root',
    );
    const real = controls(w.slack.message(INCIDENTS, root.ts));
    expect(real.length).toBeGreaterThan(0);
    expect((await w.slash('restart api', ALICE)).status).toBe(200);
    const pending = await eventually(
      async () =>
        (
          await bot.bot.deps.store.query<{ id: string; state: string }>(
            "SELECT id, state FROM remediation_actions WHERE remedy = 'restart-deployment'",
          )
        )[0],
      15_000,
      'the pending restart',
    );
    expect(pending.state).toBe('pending');
    const realValues = [...real.map((c) => c.value ?? ''), pending.id, JSON.stringify({ id: pending.id })];
    const realBlocks = real.map((c) => c.block_id ?? '');

    // From here on nothing may change: count what the fakes saw so far.
    const kubeBefore = kube.requests.length;
    const pdBefore = w.pd.requests.length;

    const next = mulberry32(20261202);
    const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)] as T;
    const actionIds = actionIdPool();
    const users = [ALICE, MALLORY, 'U0NOMAIL01', 'W0ENTERPRISE', ''];
    const bodies: string[] = [];
    for (let i = 0; i < COUNT; i++) {
      const user = pick(users);
      if (i % 2 === 0) {
        const actionId = pick(actionIds);
        // A press of an incident control on the real root is a real press, whatever its value says:
        // those go to messages that are not the incident's (the root's ts and thread tampered too).
        const onRoot = !actionId.startsWith('incident:') && next() < 0.6;
        const payload = blockActionPayload({
          user,
          channel: next() < 0.7 ? INCIDENTS : pick([SLACK_DEFAULTS.channelId, 'C0NOTMINE1', 'D0DIRECT01']),
          messageTs: onRoot ? root.ts : tamper(root.ts, next, pick),
          actionId,
          value: tamper(pick(realValues), next, pick),
          blockId:
            next() < 0.5 ? tamper(pick(realBlocks), next, pick) : pick(['actions', '', 'incident:', pick(NASTY)]),
          responseUrl: w.slack.responseUrl(),
          ...(next() < 0.2 ? { threadTs: pick([onRoot ? root.ts : '1.1', '1.1', pick(NASTY)]) } : {}),
          ...(next() < 0.2 ? { teamId: pick(['T0OTHER001', '', pick(NASTY)]) } : {}),
        });
        const action = (payload.actions as Array<Record<string, unknown>>)[0] ?? {};
        const shape = next();
        if (shape < 0.15) {
          // A select whose chosen option was tampered with.
          action.type = 'static_select';
          action.selected_option = {
            text: { type: 'plain_text', text: 'x' },
            value: tamper(pick(realValues), next, pick),
          };
        } else if (shape < 0.25) {
          action.type = 'checkboxes';
          action.selected_options = Array.from({ length: Math.floor(next() * 5) }, () => ({
            text: { type: 'plain_text', text: 'x' },
            value: pick(NASTY),
          }));
        } else if (shape < 0.3) {
          payload.actions = pick([[], [action, action, action], [{}], null]);
        }
        bodies.push(interactionBody(payload));
      } else {
        const callback = pick([
          remediationIds.REASON_MODAL,
          remediationIds.SCAN_FAIL_MODAL,
          incidentIds.POSTMORTEM_VIEW,
          incidentIds.DECLARE_VIEW,
          'grant_admin',
          '',
        ]);
        const input = (block: string, action: string, value: Record<string, unknown>) => ({
          [block]: { [action]: value },
        });
        const values: Record<string, Record<string, Record<string, unknown>>> = {
          ...input(remediationIds.REASON_BLOCK, remediationIds.REASON_INPUT, {
            type: 'plain_text_input',
            value: pick([pick(NASTY), null, 42]),
          }),
          ...input(remediationIds.SCAN_ID_BLOCK, remediationIds.SCAN_ID_INPUT, {
            type: 'plain_text_input',
            value: pick(['00000000-0000-0000-0000-000000000000', pick(NASTY), null]),
          }),
          // A declaration always lacks its title: a tampered form, never a real one.
          ...input(incidentIds.DECLARE_SEVERITY, incidentIds.DECLARE_SEVERITY, {
            type: 'static_select',
            selected_option: pick([null, { value: pick(NASTY) }, {}]),
          }),
          ...input(incidentIds.PM_ROOT_CAUSE, incidentIds.PM_ROOT_CAUSE, {
            type: 'plain_text_input',
            value: pick(NASTY),
          }),
          ...(next() < 0.3 ? { [pick(NASTY)]: { [pick(NASTY)]: { type: pick(NASTY), value: pick(NASTY) } } } : {}),
        };
        const meta = pick([
          tamper(JSON.stringify({ id: pending.id }), next, pick),
          tamper(pending.id, next, pick),
          tamper(real[0]?.value ?? 'PX', next, pick),
          pick(NASTY),
        ]);
        bodies.push(
          interactionBody(
            viewSubmissionPayload({
              user,
              view: { callback_id: callback, private_metadata: meta, state: { values } },
              ...(next() < 0.3
                ? {
                    responseUrls: [
                      {
                        block_id: pick(NASTY),
                        action_id: pick(NASTY),
                        channel_id: INCIDENTS,
                        response_url: pick(['http://169.254.169.254/latest', w.slack.responseUrl()]),
                      },
                    ],
                  }
                : {}),
            }),
          ),
        );
      }
    }

    // A body no listener takes is answered 404 only after Bolt's 3 s wait, so send many at once.
    const statuses: number[] = [];
    const answers: string[] = [];
    const failed: string[] = [];
    let cursor = 0;
    const worker = async () => {
      while (cursor < bodies.length) {
        const raw = bodies[cursor++] as string;
        const res = await fetch(`${bot.url}/slack/events`, {
          method: 'POST',
          headers: signSlackRequest(SIGNING_SECRET, raw),
          body: raw,
        });
        statuses.push(res.status);
        answers.push(await res.text());
        if (res.status >= 500) failed.push(decodeURIComponent(raw.slice(8)).slice(0, 600));
      }
    };
    await Promise.all(Array.from({ length: 24 }, worker));
    expect(statuses).toHaveLength(COUNT);
    // A 500 names the body that caused it.
    expect(failed).toEqual([]);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    // Still up and well after all of it.
    const health = (await (await fetch(`${bot.url}/health`)).json()) as { components: { store: string } };
    expect(health.components.store).toBe('healthy');
    // Let late replies land, then look at everything the bot said.
    await eventually(async () => (await (await fetch(`${bot.url}/health`)).ok) && true, 10_000, 'health');
    await bot.bot.built.inflight.drain(30_000);
    const said = [
      JSON.stringify(w.slack.calls.map((c) => c.args)),
      JSON.stringify(w.slack.responses.map((r) => r.body)),
      answers.join('\n'),
    ].join('\n');
    expect(said).not.toMatch(STACK);
    expect(said).not.toContain('TypeError');
    expect(said).not.toContain('SyntaxError');

    // Nothing acted on: no Kubernetes change, no PagerDuty change, the pending action untouched.
    const kubeWrites = kube.requests
      .slice(kubeBefore)
      .filter((r) => r.method !== 'GET' || r.path.endsWith('/exec'))
      .map((r) => `${r.method} ${r.path}`);
    expect(kubeWrites).toEqual([]);
    const pdWrites = w.pd.requests
      .slice(pdBefore)
      .filter((r) => r.method !== 'GET')
      .map((r) => `${r.method} ${r.path}`);
    expect(pdWrites).toEqual([]);
    const [after] = await bot.bot.deps.store.query<{ state: string }>(
      'SELECT state FROM remediation_actions WHERE id = $1',
      [pending.id],
    );
    expect(after?.state).toBe('pending');
    const ran = await bot.bot.deps.store.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM remediation_actions WHERE state NOT IN ('pending', 'expired', 'cancelled')",
    );
    expect(ran[0]?.n).toBe(0);
  }, 300_000);
});
