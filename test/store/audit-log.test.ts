// The command path's audit rows go in batches (store/audit.ts AuditLog): rows recorded together
// land in one INSERT, in the order they were recorded; what is waiting when the bot stops is
// written before the store closes; one refused row does not cost the others; and a store that
// cannot take the row never costs the ack.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helpMessage } from '../../src/commands/help.js';
import { ackBody } from '../../src/handlers/reply.js';
import { AuditLog } from '../../src/store/audit.js';
import { startTestBot, type TestBot } from '../helpers/bot.js';
import { until } from '../helpers/remediation.js';

interface Row {
  user_id: string;
  text: string | null;
  action: string;
  outcome: string;
  xmin: string;
}

const rowsOf = (t: TestBot, prefix: string): Promise<Row[]> =>
  t.bot.deps.store.query<Row>(
    `SELECT user_id, text, action, outcome, xmin::text AS xmin FROM audit_log WHERE user_id LIKE $1 ORDER BY id`,
    [`${prefix}%`],
  );

describe('the audit log, batched', () => {
  let t: TestBot;

  beforeAll(async () => {
    t = await startTestBot();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('writes rows recorded together in one INSERT, in the order they were recorded', async () => {
    const recorded = Array.from({ length: 40 }, (_, i) =>
      t.bot.deps.audit.record({
        userId: `U0BATCH${String(i).padStart(2, '0')}`,
        channelId: 'C0BATCH',
        kind: 'command',
        action: 'help',
        text: `/dmp help ${i}`,
        outcome: 'ok',
      }),
    );
    await Promise.all(recorded);
    const rows = await rowsOf(t, 'U0BATCH');
    expect(rows.map((r) => r.text)).toEqual(Array.from({ length: 40 }, (_, i) => `/dmp help ${i}`));
    // One statement, one transaction: every row carries the same xmin.
    expect(new Set(rows.map((r) => r.xmin)).size).toBe(1);
  });

  it('audits slash commands sent one after another in the order they were run', async () => {
    for (let i = 0; i < 5; i++)
      await t.slash(`help ${['health', 'audit', 'pods', 'logs', 'queue'][i]}`, { user: `U0SEQ0000${i}` });
    const rows = await until(async () => {
      const r = await rowsOf(t, 'U0SEQ');
      return r.length === 5 ? r : undefined;
    }, 'five audit rows');
    expect(rows.map((r) => r.user_id)).toEqual(['U0SEQ00000', 'U0SEQ00001', 'U0SEQ00002', 'U0SEQ00003', 'U0SEQ00004']);
    expect(rows.map((r) => r.text)).toEqual([
      '/dmp help health',
      '/dmp help audit',
      '/dmp help pods',
      '/dmp help logs',
      '/dmp help queue',
    ]);
  });

  it('writes what is waiting when it is closed, however long its batch would have waited', async () => {
    const slow = new AuditLog(t.bot.deps.store, { flushMs: 3_600_000 });
    const done = [0, 1, 2].map((i) =>
      slow.record({ userId: `U0CLOSE0${i}`, kind: 'command', action: 'help', text: `/dmp ${i}`, outcome: 'ok' }),
    );
    expect(slow.pending).toBe(3);
    await slow.close();
    await Promise.all(done);
    expect((await rowsOf(t, 'U0CLOSE')).map((r) => r.text)).toEqual(['/dmp 0', '/dmp 1', '/dmp 2']);
  });

  it('stores the other rows of a batch when the store refuses one, and tells only that row’s caller', async () => {
    const results = await Promise.allSettled([
      t.bot.deps.audit.record({ userId: 'U0MIXED01', kind: 'command', action: 'help', outcome: 'ok' }),
      // duration_ms is an integer column: PostgreSQL refuses this row, and its minimal fallback too.
      t.bot.deps.audit.record({
        userId: 'U0MIXED02',
        kind: 'command',
        action: 'help',
        outcome: 'ok',
        durationMs: 2 ** 40,
      }),
      t.bot.deps.audit.record({ userId: 'U0MIXED03', kind: 'command', action: 'help', outcome: 'ok' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((await rowsOf(t, 'U0MIXED')).map((r) => r.user_id)).toEqual(['U0MIXED01', 'U0MIXED03']);
  });

  it('still acks the command with its answer when the store cannot take the audit row, and logs why', async () => {
    await t.bot.deps.store.query('ALTER TABLE audit_log RENAME TO audit_log_away');
    try {
      const res = await t.slash('help', { user: 'U0NOAUDIT1' });
      expect(res.status).toBe(200);
      expect(res.json).toEqual(ackBody(helpMessage(t.bot.commands), t.bot.deps.redactor));
      await until(
        async () => t.logs.some((l) => l.includes('could not write the audit log') && l.includes('audit_log')),
        'the audit failure in the log',
      );
    } finally {
      await t.bot.deps.store.query('ALTER TABLE audit_log_away RENAME TO audit_log');
    }
  });
});

describe('the audit log on stop', () => {
  it('writes the rows recorded just before the bot stops before its store closes', async () => {
    const t = await startTestBot();
    try {
      const pending = [0, 1, 2, 3].map((i) =>
        t.bot.deps.audit.record({
          userId: `U0STOP000${i}`,
          kind: 'command',
          action: 'help',
          text: `/dmp ${i}`,
          outcome: 'ok',
        }),
      );
      await t.bot.stop();
      await Promise.all(pending);
      const client = new pg.Client({ connectionString: t.store.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ user_id: string }>(
          `SELECT user_id FROM audit_log WHERE user_id LIKE 'U0STOP%' ORDER BY id`,
        );
        expect(rows.map((r) => r.user_id)).toEqual(['U0STOP0000', 'U0STOP0001', 'U0STOP0002', 'U0STOP0003']);
      } finally {
        await client.end();
      }
    } finally {
      await t.close();
    }
  });
});
