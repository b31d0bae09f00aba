// An audit log that can be trusted: a NUL in the command text is still audited (PostgreSQL
// refuses NUL in text, so the row used to be lost and the command ran unaudited), a newline
// cannot forge a line in `/dmp audit`, and every remediation step (previewed, confirmed,
// approved, done) leaves its row, on every way through.

import { seedPlatform } from '@dmp-bot/sim/k8s-fake';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REASON_BLOCK, REASON_INPUT, REASON_MODAL } from '../../src/blocks/remediation-ids.js';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { startTestKube, type TestKube } from '../helpers/kube.js';
import { ALICE, auditRows, BOB, press, slashShown, thread, until } from '../helpers/remediation.js';

describe('abuse: the audit log', () => {
  let kube: TestKube;
  let t: TestBot;

  const commandRows = () =>
    t.bot.deps.store.query<{ user_id: string; text: string | null; outcome: string }>(
      `SELECT user_id, text, outcome FROM audit_log WHERE kind = 'command' ORDER BY id`,
    );

  beforeAll(async () => {
    kube = await startTestKube();
    seedPlatform(kube.fake);
    t = await startTestBot({
      env: { KUBECONFIG: kube.kubeconfig, DMP_NAMESPACE: 'dmp', DMP_OPERATORS: `${ALICE},${BOB}` },
    });
  });

  afterAll(async () => {
    await t?.close();
    await kube?.close();
  });

  it('audits a command whose text holds a NUL and other control characters, cleaned to one line', async () => {
    const res = await t.slash('pods\u0000 api\u0007\u001b[31m', { user: 'U0MALLORY' });
    expect(res.status).toBe(200);
    const row = await until(
      async () => (await commandRows()).find((r) => r.user_id === 'U0MALLORY' && r.text?.includes('pods')),
      'the audit row',
    );
    expect(row.text).not.toMatch(/[\u0000-\u001f]/);
    expect(row.text).toContain('/dmp pods');
  });

  it('keeps a newline from forging a line in /dmp audit', async () => {
    const forged = '2026-01-01 00:00:00Z <@U0ALICE01>: `/dmp cache flush` → *ok*';
    await t.slash(`help\n${forged}\r\n${forged}\u2028${forged}`, { user: 'U0MALLORY' });
    await until(
      async () => (await commandRows()).some((r) => r.user_id === 'U0MALLORY' && r.text?.includes('cache flush')),
      'the audit row',
    );
    const stored = (await commandRows()).filter((r) => r.text?.includes('cache flush'));
    for (const r of stored) expect(r.text).not.toMatch(/[\r\n\u2028]/);

    // A row written before the cleaning existed is cleaned when shown, too.
    await t.bot.deps.store.query(
      `INSERT INTO audit_log (user_id, kind, action, text, outcome) VALUES ('U0MALLORY', 'command', 'help', $1, 'ok')`,
      [`/dmp help\n${forged}`],
    );
    const res = await t.slash('audit 5', { user: ALICE });
    const reply = (res.json ?? {}) as { blocks?: Array<{ text?: { text: string } }> };
    const lines = (reply.blocks ?? []).flatMap((b) => (b.text?.text ?? '').split('\n'));
    // Every line starts with its own time stamp and user: none is the forged one.
    expect(lines.filter((l) => l.includes('/dmp cache flush') && l.startsWith('2026-01-01'))).toEqual([]);
    expect(allText(reply)).toContain('U0MALLORY');
  });

  it('has a row for every step of a high-risk remediation: previewed, confirmed (with the reason), approved, done', async () => {
    const { message } = await slashShown(t, 'rollback api', ALICE);
    const opened = t.slack.callsTo('views.open').length;
    await press(t, message!, 'Confirm', ALICE);
    const call = await until(() => t.slack.callsTo('views.open')[opened], 'the reason modal');
    await t.submit({
      user: ALICE,
      view: {
        callback_id: REASON_MODAL,
        private_metadata: (call.args.view as { private_metadata: string }).private_metadata,
        state: {
          values: {
            [REASON_BLOCK]: { [REASON_INPUT]: { type: 'plain_text_input', value: 'bad\u0000 release\nforged' } },
          },
        },
      },
    });
    const approval = await until(
      () => t.slack.messages.find((m) => /Approve/.test(JSON.stringify(m.blocks ?? []))),
      'the approval request',
    );
    await press(t, approval, 'Approve', BOB);
    await until(
      () => thread(t, message!.ts).find((m) => m.text.startsWith('Roll back api')),
      'the rollback outcome',
      20_000,
    ).catch(() => undefined);
    const rows = await until(async () => {
      const all = await auditRows(t, 'rollback-deployment');
      return all.some((r) => r.outcome === 'ok' || r.outcome === 'error') ? all : undefined;
    }, 'the outcome row');
    const outcomes = rows.map((r) => r.outcome);
    expect(outcomes).toEqual(expect.arrayContaining(['previewed', 'confirmed', 'approved']));
    const confirmed = rows.filter((r) => r.outcome === 'confirmed');
    expect(confirmed.map((r) => r.user_id)).toContain(ALICE);
    expect(confirmed.find((r) => r.reason)?.reason).toBe('bad release forged');
    expect(rows.find((r) => r.outcome === 'approved')?.user_id).toBe(BOB);
  });

  it('has a confirmed row for a low-risk remediation run at once', async () => {
    const { message } = await slashShown(t, 'restart scan-workers', ALICE);
    await press(t, message!, 'Confirm', ALICE);
    const rows = await until(async () => {
      const all = await auditRows(t, 'restart-deployment');
      return all.some((r) => r.outcome === 'ok' || r.outcome === 'error') ? all : undefined;
    }, 'the outcome row');
    expect(rows.map((r) => r.outcome).slice(0, 2)).toEqual(['previewed', 'confirmed']);
  });
});
