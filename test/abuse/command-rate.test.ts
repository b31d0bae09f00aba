// A per-user pace for slash commands (COMMAND_RATE_LIMIT per COMMAND_RATE_PERIOD), counted in
// the bot store so every replica shares it: past it the command is not run, the asker alone is
// told when to try again, the refusal is audited, and other people are not held back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { until } from '../helpers/remediation.js';

describe('abuse: the per-user command rate limit', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot({ env: { COMMAND_RATE_LIMIT: '3', COMMAND_RATE_PERIOD: '1h' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers the fourth command within the period with a clear, private refusal and runs nothing', async () => {
    for (let i = 0; i < 3; i++) {
      const ok = await t.slash('help', { user: 'U0FLOODER1' });
      expect(JSON.stringify(ok.json)).not.toContain('faster than');
    }
    const limited = await t.slash('audit 5', { user: 'U0FLOODER1' });
    expect(limited.status).toBe(200);
    const body = limited.json as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('faster than the limit of 3');
    expect(body.text).toContain('nothing was run');
    const rows = await until(async () => {
      const all = await t.bot.deps.store.query<{ action: string; outcome: string; text: string }>(
        `SELECT action, outcome, text FROM audit_log WHERE user_id = 'U0FLOODER1' ORDER BY id`,
      );
      return all.some((r) => r.action === 'rate limit') ? all : undefined;
    }, 'the audit row');
    expect(rows.at(-1)).toMatchObject({ action: 'rate limit', outcome: 'refused', text: '/dmp audit 5' });
    expect(rows.filter((r) => r.action === 'audit')).toEqual([]);

    const other = await t.slash('help', { user: 'U0SOMEONE1' });
    expect(JSON.stringify(other.json)).not.toContain('faster than');
  });

  it('lets exactly the limit through when one person’s commands arrive at once (the token is taken in one statement)', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => t.slash('help', { user: 'U0BURST001' })));
    const refused = answers.filter((a) => JSON.stringify(a.json).includes('faster than the limit of 3'));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.length - refused.length).toBe(3);
  });
});
