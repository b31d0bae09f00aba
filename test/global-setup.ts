// Builds dist/ once before the suite, so tests that run `npm start` or `npm run sandbox`
// find it up to date instead of racing each other to write it. A type error fails
// `npm run typecheck` in CI; here it only warns, so the other tests still run.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  try {
    execFileSync('npm', ['run', '--silent', 'build'], {
      stdio: 'inherit',
      cwd: new URL('..', import.meta.url).pathname,
    });
  } catch {
    process.stderr.write('global setup: `npm run build` failed; tests that start dist/ will fail\n');
  }
}
