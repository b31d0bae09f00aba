// The bot's own database down or hung: commands keep answering, /health says "degraded",
// and it recovers by itself when the database returns.

import { startTcpProxy, type TcpProxy } from '@dmp-bot/sim/tcp-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allText, startTestBot, type TestBot } from '../helpers/bot.js';
import { createTestDatabase, PG_HOST, PG_PORT, type TestDatabase } from '../helpers/pg.js';

describe('faults: the bot store', () => {
  let store: TestDatabase;
  let proxy: TcpProxy;
  let t: TestBot;
  const health = async () =>
    (await (await fetch(`${t.url}/health`)).json()) as { status: string; components: Record<string, string> };

  beforeAll(async () => {
    store = await createTestDatabase({ prefix: 'bot' });
    proxy = await startTcpProxy(PG_HOST, PG_PORT);
    const url = new URL(store.url);
    url.host = `127.0.0.1:${proxy.port}`;
    t = await startTestBot({ env: { BOT_DATABASE_URL: url.toString() } });
  });
  afterAll(async () => {
    await t?.close();
    await proxy?.close();
    await store?.drop();
  });

  for (const kind of ['down', 'hang'] as const) {
    it(`keeps answering commands with the store ${kind}, reports it on /health, and recovers`, async () => {
      if (kind === 'down') await proxy.down();
      else {
        proxy.setMode('hang');
        proxy.dropConnections();
      }
      try {
        // A hung store must not hold the reply: the help comes in the ack itself, not after a store timeout.
        const res = await t.slash('help');
        expect(res.status).toBe(200);
        expect(allText(res.json)).toContain('/dmp scans stuck');
        const h = await health();
        expect(h.status).toBe('degraded');
        expect(h.components.store).toBe('unreachable');
      } finally {
        if (kind === 'down') await proxy.up();
        else {
          proxy.setMode('pass');
          proxy.dropConnections();
        }
      }
      let status = '';
      for (let i = 0; i < 30 && status !== 'healthy'; i++) {
        status = (await health()).status;
        if (status !== 'healthy') await new Promise((r) => setTimeout(r, 200));
      }
      expect(status).toBe('healthy');
    }, 30_000);
  }
});
