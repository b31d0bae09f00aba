// The embedded store (PGlite) is one process's files: two processes opening it corrupt it.
// A lock beside it (proper-lockfile: an atomic mkdir whose mtime the holder keeps fresh, so a
// lock left by a killed process goes stale by itself) keeps a second dmp-bot out. Loaded only
// for the embedded store, so a bot on PostgreSQL never loads it.
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** How long a holder that stopped refreshing (killed) keeps the directory. */
const STALE_MS = 10_000;

export class DataDirInUse extends Error {
  constructor(readonly dir: string) {
    super(
      `the data directory ${dir} is in use by another dmp-bot (its embedded store takes one process; ` +
        `one that was killed holds it for ${STALE_MS / 1000} s): stop that one, or set DATA_DIR to another directory`,
    );
    this.name = 'DataDirInUse';
  }
}

/** Takes the store directory (DATA_DIR/store) for this process; the returned function gives it back. */
export async function lockDataDir(dir: string, onLost: (err: Error) => void): Promise<() => Promise<void>> {
  const abs = resolve(dir);
  mkdirSync(abs, { recursive: true });
  const { default: lockfile } = await import('proper-lockfile');
  try {
    const release = await lockfile.lock(abs, {
      stale: STALE_MS,
      realpath: false,
      lockfilePath: `${abs}.lock`,
      onCompromised: onLost,
    });
    return () => release().catch(() => {});
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') throw new DataDirInUse(dirname(abs));
    throw err;
  }
}
