import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { createTestRedis, REDIS_URL, seedWorkers, type TestRedis } from '../helpers/redis.js';

describe('/dmp scans stuck over signed HTTP', () => {
  let db: TestDatabase;
  let redis: TestRedis;
  let t: TestBot;
  const stuck = [
    '6f1c1b7e-0000-4000-8000-000000000001',
    '6f1c1b7e-0000-4000-8000-000000000002',
    '6f1c1b7e-0000-4000-8000-000000000003',
  ];

  beforeAll(async () => {
    db = await createTestDatabase({ schema: true });
    redis = await createTestRedis();
    await db.client.query(
      `INSERT INTO repositories (id, tenant_id, name) VALUES ('11111111-1111-4111-8111-111111111111', '22222222-2222-4222-8222-222222222222', 'acme/api')`,
    );
    for (const id of stuck) {
      await db.client.query(
        `INSERT INTO scans (id, repository_id, status, created_at) VALUES ($1, '11111111-1111-4111-8111-111111111111', 'pending', now() - interval '20 minutes')`,
        [id],
      );
    }
    await db.client.query(
      `INSERT INTO scans (id, repository_id, status) VALUES ('6f1c1b7e-0000-4000-8000-00000000000f', '11111111-1111-4111-8111-111111111111', 'pending')`,
    );
    await seedWorkers(redis.redis, {
      queue: 42,
      alive: ['worker-1', 'worker-2', 'worker-4'],
      dead: ['worker-3', 'worker-5'],
    });
    t = await startTestBot({
      env: { DMP_DATABASE_URL: db.url, DMP_REDIS_URL: REDIS_URL, DMP_REDIS_PREFIX: redis.prefix },
    });
  });

  afterAll(async () => {
    await t?.close();
    await redis?.cleanup();
    await db?.drop();
  });

  it('names the dead workers, the stuck scans and the queue depth, and offers restart, scale and mark-failed', async () => {
    const res = await t.slash('scans stuck');
    expect(res.status).toBe(200);
    const text = allText(res.json);
    expect(text).toContain('worker-3');
    expect(text).toContain('worker-5');
    const deadLine = /Dead workers\*: ([^"]*)/.exec(text)?.[1] ?? '';
    expect(deadLine).toContain('2 without a heartbeat');
    expect(deadLine).not.toMatch(/worker-[124]/);
    expect(text).toContain('42 jobs in scan_queue');
    expect(text).toContain('3 scans pending for more than 5 minutes');
    for (const id of stuck) expect(text).toContain(id);
    expect(text).not.toContain('6f1c1b7e-0000-4000-8000-00000000000f');
    expect(text).toContain('acme/api');
    const buttons = (
      res.json as { blocks: Array<{ type: string; elements?: Array<{ text: { text: string } }> }> }
    ).blocks
      .filter((b) => b.type === 'actions')
      .flatMap((b) => b.elements ?? [])
      .map((e) => e.text.text);
    expect(buttons.some((b) => b.startsWith('Restart'))).toBe(true);
    expect(buttons.some((b) => b.startsWith('Scale'))).toBe(true);
    expect(buttons.some((b) => /^Mark .*failed/.test(b))).toBe(true);
  });

  it('counts the command in /metrics and logs it at info in one line, with its request id and text', async () => {
    const metrics = await (await fetch(`${t.url}/metrics`)).text();
    expect(metrics).toMatch(/dmp_bot_commands_total\{command="scans stuck",outcome="ok"\} 1/);
    const lines = t.logs.map(
      (l) => JSON.parse(l) as { level?: number; msg?: string; reqId?: string; text?: string; ms?: number },
    );
    const replied = lines.filter((l) => l.msg === 'replied' && l.text === 'scans stuck');
    expect(replied).toHaveLength(1);
    expect(replied[0]?.reqId).toBeTruthy();
    expect(replied[0]?.ms).toBeTypeOf('number');
    // pino's info is 30: nothing else at info or above carries this command's request id.
    const atInfo = lines.filter((l) => l.reqId === replied[0]?.reqId && (l.level ?? 0) >= 30);
    expect(atInfo.map((l) => l.msg)).toEqual(['replied']);
  });

  it('writes the command to the audit log', async () => {
    const rows = await t.bot.deps.store.query<{ text: string; outcome: string }>(
      `SELECT text, outcome FROM audit_log WHERE text = '/dmp scans stuck'`,
    );
    expect(rows[0]?.outcome).toBe('ok');
  });

  it('refuses a request with a bad signature and runs nothing', async () => {
    const before = await t.bot.deps.store.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
    const res = await t.post('/slack/events', 'command=%2Fdmp&text=health', {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-signature': 'v0=deadbeef',
      'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)),
    });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    const stale = await t.slash('health', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBeGreaterThanOrEqual(400);
    expect(stale.status).toBeLessThan(500);
    const after = await t.bot.deps.store.query<{ n: number }>('SELECT count(*)::int AS n FROM audit_log');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('answers unknown words with the help and the nearest command', async () => {
    const res = await t.slash('scans stuk');
    expect(res.status).toBe(200);
    expect(allText(res.json)).toContain('Did you mean `/dmp scans stuck`');
  });
});
