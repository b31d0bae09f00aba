// Builds dist/ once before the suite, so tests that run `npm start` or `npm run sandbox`
// find it up to date instead of racing each other to write it.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit', cwd: new URL('..', import.meta.url).pathname });
}
