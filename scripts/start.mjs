// `npm start`: run dist/main.js, building it first only when it is missing or older than a
// file under src/ (a walk of mtimes takes milliseconds; `tsc -b` alone takes seconds to say
// "up to date"). Without the compiler (npm ci --omit=dev) it says how to build instead.
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entry = join(root, 'dist', 'main.js');

function newestMtime(dir) {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function builtAt() {
  try {
    return statSync(join(root, 'dist', '.tsbuildinfo')).mtimeMs;
  } catch {
    return 0;
  }
}

function hasCompiler() {
  try {
    createRequire(import.meta.url).resolve('typescript/package.json');
    return true;
  } catch {
    return false;
  }
}

const built = builtAt();
let sourcesNewer = false;
try {
  sourcesNewer = newestMtime(join(root, 'src')) > built;
} catch {
  // No src/ (a shipped dist/): nothing to compare with.
}
if (built === 0 || sourcesNewer) {
  if (hasCompiler()) {
    process.stderr.write(built === 0 ? 'dmp-bot: building dist/…\n' : 'dmp-bot: src/ changed, rebuilding dist/…\n');
    try {
      execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
      // tsc leaves the build info alone when only an mtime changed: mark dist/ current.
      const now = new Date();
      utimesSync(join(root, 'dist', '.tsbuildinfo'), now, now);
    } catch {
      process.stderr.write('dmp-bot: the build failed (see above); fix it or run `npm run build`.\n');
      process.exit(1);
    }
  } else if (built === 0) {
    process.stderr.write(
      'dmp-bot: dist/ is not built and TypeScript is not installed: run `npm ci && npm run build`.\n',
    );
    process.exit(1);
  } else {
    process.stderr.write(
      'dmp-bot: dist/ is older than src/ (run `npm ci && npm run build`); starting the built one.\n',
    );
  }
}
await import(entry);
