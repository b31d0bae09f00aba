// The README's configuration table is the complete list and .env.example mirrors it: every
// variable the config schema reads appears in both, and .env.example loads as it stands.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';

const root = new URL('../..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const configSource = read('src/config.ts');
const schemaSource = configSource.slice(
  configSource.indexOf('const schema = z.object({'),
  configSource.indexOf('\n});', configSource.indexOf('const schema = z.object({')),
);
const variables = [...schemaSource.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((m) => m[1] as string);

describe('configuration documentation', () => {
  it('names every variable the bot reads in the README table and in .env.example', () => {
    expect(variables.length).toBeGreaterThan(30);
    const readme = read('README.md');
    const example = read('.env.example');
    expect(variables.filter((v) => !readme.includes(`\`${v}\``))).toEqual([]);
    expect(variables.filter((v) => !new RegExp(`^${v}=`, 'm').test(example))).toEqual([]);
  });

  it('loads .env.example as it stands, in console mode', () => {
    const env = Object.fromEntries(
      read('.env.example')
        .split('\n')
        .filter((l) => /^[A-Z]/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    const config = loadConfig(env as NodeJS.ProcessEnv);
    expect(config.slackMode).toBe('console');
    expect(config.responseTargets.P1).toBe(15 * 60_000);
  });
});
