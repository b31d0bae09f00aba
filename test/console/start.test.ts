// The install and start scripts: `npm ci --omit=dev` has no TypeScript, so `prepare` must
// skip the build with a word instead of failing; `npm start` runs dist/ as it is when it is
// current, and says how to build when it is missing and cannot be built.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
let dir: string | undefined;

/** A checkout with the scripts and no node_modules: what `npm ci --omit=dev` leaves of the toolchain. */
function bareCheckout(): string {
  dir = mkdtempSync(join(tmpdir(), 'dmp-start-'));
  cpSync(join(root, 'scripts'), join(dir, 'scripts'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'dmp-bot', type: 'module', private: true }));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src', 'main.ts'), 'export {};\n');
  return dir;
}

const node = (cwd: string, script: string) =>
  spawnSync('node', [script], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH }, timeout: 60_000 });

afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('install and start scripts', () => {
  it('prepare skips the build with a message when TypeScript is not installed', () => {
    const r = node(bareCheckout(), 'scripts/build-if-possible.mjs');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('TypeScript is not installed');
    expect(r.stdout).toContain('npm run build');
  });

  it('start says how to build when dist/ is missing and cannot be built', () => {
    const r = node(bareCheckout(), 'scripts/start.mjs');
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual([
      'dmp-bot: dist/ is not built and TypeScript is not installed: run `npm ci && npm run build`.',
    ]);
  });

  it('start runs a current dist/ as it is, without building', () => {
    const d = bareCheckout();
    mkdirSync(join(d, 'dist'));
    writeFileSync(join(d, 'dist', 'main.js'), "process.stdout.write('the built bot ran\\n');\n");
    writeFileSync(join(d, 'dist', '.tsbuildinfo'), '{}');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(d, 'src', 'main.ts'), past, past);
    const r = node(d, 'scripts/start.mjs');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('the built bot ran\n');
    expect(r.stderr).toBe('');
  });

  it('start runs an older dist/ with a word when src/ changed and no compiler can rebuild it', () => {
    const d = bareCheckout();
    mkdirSync(join(d, 'dist'));
    writeFileSync(join(d, 'dist', 'main.js'), "process.stdout.write('the built bot ran\\n');\n");
    writeFileSync(join(d, 'dist', '.tsbuildinfo'), '{}');
    const past = new Date(Date.now() - 60_000);
    utimesSync(join(d, 'dist', '.tsbuildinfo'), past, past);
    const r = node(d, 'scripts/start.mjs');
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('the built bot ran\n');
    expect(r.stderr).toContain('dist/ is older than src/');
  });
});
