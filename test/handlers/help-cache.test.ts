// `/dmp help` is rendered once per bot: what Slack gets is the same as rendering it afresh,
// every time, for the whole list, for `/dmp` alone and for one command; an answer naming no
// command still echoes the asker's words.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandHelp, helpMessage } from '../../src/commands/help.js';
import { ackBody } from '../../src/handlers/reply.js';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { until } from '../helpers/remediation.js';

describe('/dmp help, rendered once', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('answers /dmp help with exactly what rendering the help afresh gives, every time', async () => {
    const fresh = ackBody(helpMessage(t.bot.commands), t.bot.deps.redactor);
    const first = await t.slash('help');
    const second = await t.slash('help', { user: 'U0SECOND01' });
    expect(first.json).toEqual(fresh);
    expect(second.json).toEqual(fresh);
    expect(JSON.stringify(first.json)).toContain('dmp-bot: the support runbook in Slack');
  });

  it('answers /dmp alone with the same help', async () => {
    expect((await t.slash('')).json).toEqual(ackBody(helpMessage(t.bot.commands), t.bot.deps.redactor));
  });

  it('answers /dmp help <command> as rendering that command’s help afresh, whatever follows its words', async () => {
    const fresh = ackBody(commandHelp(t.bot.commands, ['scans', 'stuck']), t.bot.deps.redactor);
    expect((await t.slash('help scans stuck')).json).toEqual(fresh);
    expect((await t.slash('help scans stuck')).json).toEqual(fresh);
    expect(JSON.stringify(fresh)).toContain('/dmp scans stuck');
  });

  it('still names the asker’s words when they are no command, each time with their own', async () => {
    const a = JSON.stringify((await t.slash('help nosuchthing')).json);
    const b = JSON.stringify((await t.slash('help otherthing')).json);
    expect(a).toContain('No command `nosuchthing`');
    expect(b).toContain('No command `otherthing`');
  });

  it('audits /dmp alone as help, as before', async () => {
    await t.slash('', { user: 'U0BARE0001' });
    const rows = await until(async () => {
      const r = await t.bot.deps.store.query<{ action: string; text: string; outcome: string }>(
        `SELECT action, text, outcome FROM audit_log WHERE user_id = 'U0BARE0001'`,
      );
      return r.length ? r : undefined;
    }, 'the audit row');
    expect(rows).toEqual([{ action: 'help', text: '/dmp', outcome: 'ok' }]);
  });
});
