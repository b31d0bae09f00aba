// The README is true: the Dockerfile does what the README says it does, the test settings
// it documents are the ones the tests read, and every /dmp command it tells a reader to type
// is one the bot answers.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolve } from '../../src/commands/parse.js';
import { commandRegistry } from '../../src/commands/registry.js';

const root = new URL('../..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const readme = read('README.md');

describe('README', () => {
  it('describes the Dockerfile’s command as the Dockerfile has it', () => {
    const cmd = /^CMD \[(.*)\]$/m.exec(read('Dockerfile'))?.[1];
    const words = JSON.parse(`[${cmd}]`) as string[];
    expect(readme).toContain(`runs \`${words.join(' ')}\``);
  });

  it('documents TEST_PG_URL and TEST_REDIS_URL with the defaults the test helpers use', () => {
    const pg = /TEST_PG_URL \|\| '([^']+)'/.exec(read('test/helpers/pg.ts'))?.[1];
    const redis = /TEST_REDIS_URL \|\| '([^']+)'/.exec(read('test/helpers/redis.ts'))?.[1];
    expect(pg).toBeDefined();
    expect(redis).toMatch(/\/[1-9]\d*$/);
    expect(readme).toMatch(new RegExp(`\\| \`TEST_PG_URL\` \\|[^\\n]*\`${pg}\``));
    expect(readme).toMatch(new RegExp(`\\| \`TEST_REDIS_URL\` \\|[^\\n]*\`${redis}\``));
  });

  it('names only /dmp commands the bot answers', () => {
    const commands = commandRegistry([
      { words: ['sandbox'], summary: '', section: 'Bot', group: 'Bot', run: async () => ({ text: '', blocks: [] }) },
    ]);
    const typed = [...readme.matchAll(/`\/dmp ([a-z][a-z -]*?)( [A-Z<[`]|`)/g)].map((m) => m[1] as string);
    expect(typed.length).toBeGreaterThan(5);
    // Shown half-typed on purpose: the Tab completion and the prefix suggestion examples.
    const halfTyped = new Set(['he', 'sev']);
    const unknown = typed.filter((t) => !halfTyped.has(t) && !resolve(commands, t).command);
    expect(unknown).toEqual([]);
  });
});
