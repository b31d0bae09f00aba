// `prepare`: build dist/ when the TypeScript compiler is installed. `npm ci --omit=dev` leaves
// it out, and an install must not fail for that: dist/ may come shipped (a release, the image).
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
try {
  require.resolve('typescript/package.json');
} catch {
  process.stdout.write(
    'dmp-bot: TypeScript is not installed (npm ci --omit=dev): build skipped. Build with `npm ci && npm run build`.\n',
  );
  process.exit(0);
}
execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
