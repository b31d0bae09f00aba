import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../..', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'dmp-console-'));

/** Runs `npm start --silent` as a newcomer would, with nothing configured, feeding stdin. */
function npmStart(stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['start', '--silent'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('console mode', () => {
  it('answers `/dmp health` with every component not configured and how to configure it, then exits 0', async () => {
    const { code, stdout } = await npmStart('/dmp health\n');
    expect(code).toBe(0);
    expect(stdout).toContain('Platform health');
    for (const line of ['API server: not configured', 'PostgreSQL: not configured', 'Redis: not configured'])
      expect(stdout).toContain(line);
    expect(stdout).toContain('set DMP_DATABASE_URL');
    expect(stdout).toContain('set DMP_REDIS_URL');
    expect(stdout).not.toMatch(/at .*\.js:\d+/); // no stack trace
  }, 180_000);

  it('gives the help and the nearest command for a wrong command', async () => {
    const { code, stdout } = await npmStart('/dmp helth\n/dmp help\n');
    expect(code).toBe(0);
    expect(stdout).toContain('Did you mean `/dmp health`?');
    expect(stdout).toContain('/dmp scans stuck');
  }, 180_000);
});
