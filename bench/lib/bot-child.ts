// The bot alone in a process of its own, for memory figures that hold nothing of the bench
// (load generator, Slack fake, samples): started as main.ts starts it, in HTTP mode, logging
// at info into /dev/null. The parent (bench/capacity.ts) asks over IPC: 'measure' writes the
// waiting audit rows, settles, runs two full GCs (node runs it with --expose-gc) and answers
// with RSS and heap; 'stop' stops the bot and exits.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { startBot } from '../../src/bot.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';

export interface ChildReady {
  url: string;
}
export interface ChildMemory {
  rss: number;
  heap: number;
  gc: boolean;
}

async function main(): Promise<void> {
  const config = loadConfig({
    SLACK_BOT_TOKEN: process.env.BENCH_BOT_TOKEN,
    SLACK_SIGNING_SECRET: process.env.BENCH_SIGNING_SECRET,
    SLACK_API_URL: process.env.BENCH_SLACK_API_URL,
    PORT: '0',
    BOT_DATABASE_URL: process.env.BENCH_BOT_DATABASE_URL || undefined,
    DATA_DIR: mkdtempSync(join(tmpdir(), 'dmp-bench-child-')),
    LOG_LEVEL: 'info',
  } as NodeJS.ProcessEnv);
  const log = createLogger('info', pino.destination({ dest: '/dev/null', sync: false }));
  const bot = await startBot(config, { log, host: '127.0.0.1' });
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (msg: unknown) => {
    if (msg === 'measure') {
      void (async () => {
        await bot.deps.audit.flush();
        await new Promise((r) => setTimeout(r, 1_000));
        gc?.();
        await new Promise((r) => setTimeout(r, 200));
        gc?.();
        const m = process.memoryUsage();
        process.send?.({ rss: m.rss, heap: m.heapUsed, gc: Boolean(gc) } satisfies ChildMemory);
      })();
    } else if (msg === 'stop') {
      void bot.stop().finally(() => process.exit(0));
    }
  });
  process.send?.({ url: `http://127.0.0.1:${bot.port}/slack/events` } satisfies ChildReady);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench bot failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
