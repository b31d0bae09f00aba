// The embedded store's first start without PGlite's initdb in the bot's process. Creating a
// database in-process takes 5–12 s and keeps ~850 MB (a second WebAssembly PostgreSQL runs
// initdb and its memory is never given back), so a new DATA_DIR starts from a template instead:
// a database already created, migrated and shut down cleanly, kept as a gzipped tar in the
// layout of PGlite's `dumpDataDir` (~5 MB), with what it holds in template.json. `npm run build`
// makes it once into dist/store-template (so the image ships it); when there is none that fits,
// a short-lived child process makes one, and the bot's own process only unpacks it.
//
// Unpacked with tar-stream (the streaming tar reader) rather than PGlite's `loadDataDir`, which
// reads the tarball into the WebAssembly heap: that heap is never given back either (+130 MB).
// tar-stream is loaded only when a new store is unpacked.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createGunzip } from 'node:zlib';
import type { Migration } from './migration.js';

/** PostgreSQL settings for a bot's store: its working set is a few MB of rows. */
export const STORE_SETTINGS: Record<string, string> = {
  // The default 128 MB is all touched at start in PGlite (its buffers live in the wasm heap).
  shared_buffers: '16MB',
  // Index builds in migrations; the default 64 MB would be reserved on the heap for them.
  maintenance_work_mem: '16MB',
  temp_buffers: '4MB',
};

/** PGlite's start parameters with the bot's settings added (`-c name=value`, as postgres takes them). */
export function storeStartParams(defaults: readonly string[]): string[] {
  return [...defaults, ...Object.entries(STORE_SETTINGS).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
}

/** Bumped when the way templates are made changes: a template of another format is made anew. */
const TEMPLATE_FORMAT = 1;

export interface TemplateMeta {
  format: number;
  /** The PGlite version that made it: another's data files may not fit its PostgreSQL. */
  pglite: string;
  /** The migrations already applied in it, each with a hash of its SQL. */
  migrations: Array<{ id: number; sha256: string }>;
  createdAt: string;
}

const TARBALL = 'store.tar.gz';
const META = 'template.json';

const require = createRequire(import.meta.url);

function pgliteEntry(): string {
  return require.resolve('@electric-sql/pglite');
}

export function pgliteVersion(): string {
  // The package's exports hide its package.json: find it beside the entry point.
  let dir = dirname(pgliteEntry());
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Where templates are looked for, in order: the one the build made, then a per-user cache. */
export function templateDirs(): string[] {
  // src/store/ and dist/store/ alike: the repository's dist/store-template.
  const shipped = fileURLToPath(new URL('../../dist/store-template', import.meta.url));
  let user = 'user';
  try {
    user = String(userInfo().uid);
  } catch {
    // no passwd entry (a container's arbitrary uid): one cache for all
  }
  return [shipped, join(tmpdir(), `dmp-bot-store-template-${user}`)];
}

function readMeta(dir: string): TemplateMeta | undefined {
  try {
    const meta = JSON.parse(readFileSync(join(dir, META), 'utf8')) as TemplateMeta;
    return existsSync(join(dir, TARBALL)) ? meta : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a template can start a store for these migrations: made by this PGlite, and every
 * migration in it is one of these, unchanged (the rest are applied on top). `exact` asks for
 * all of them (the build's own template).
 */
export function templateFits(meta: TemplateMeta, migrations: Migration[], version: string, exact = false): boolean {
  if (meta.format !== TEMPLATE_FORMAT || meta.pglite !== version) return false;
  const want = new Map(migrations.map((m) => [m.id, sha256(m.sql)]));
  if (!meta.migrations.every((m) => want.get(m.id) === m.sha256)) return false;
  return !exact || meta.migrations.length === want.size;
}

/** The tarball of the first template in `dirs` that fits, or undefined. */
export function findTemplate(dirs: string[], migrations: Migration[], exact = false): string | undefined {
  const version = pgliteVersion();
  for (const dir of dirs) {
    const meta = readMeta(dir);
    if (meta && templateFits(meta, migrations, version, exact)) return join(dir, TARBALL);
  }
  return undefined;
}

// Run by `node --input-type=module`: reads its job from standard input, creates the database in
// a temporary directory, applies the migrations the way migrate() does, shuts PostgreSQL down
// cleanly and packs the directory as a gzipped tar, the layout PGlite's dumpDataDir writes. Packed
// after the shutdown rather than dumped from the running database: a dump is of a database that
// was never shut down, and every store made from it would start with crash recovery (+0.5–1 s).
// A plain script, so it runs the same under dist/, tsx and vitest.
const CHILD = `
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
let input = '';
for await (const chunk of process.stdin) input += chunk;
const job = JSON.parse(input);
const { PGlite } = await import(job.pglite);
const { default: tar } = await import(job.tarStream);
const dir = mkdtempSync(join(tmpdir(), 'dmp-bot-template-'));
try {
  const db = await PGlite.create(dir, { startParams: job.startParams });
  await db.exec(job.bootstrap);
  await db.transaction(async (t) => {
    for (const m of job.migrations) {
      await t.exec(m.sql);
      await t.query('INSERT INTO bot_migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
    }
  });
  // template0 and template1 serve CREATE DATABASE alone, which the bot never runs: without them
  // a new store is 490 files rather than 1,000, and creating files is most of its unpacking.
  for (const name of ['template0', 'template1']) {
    await db.exec('ALTER DATABASE ' + name + ' IS_TEMPLATE false');
    await db.exec('DROP DATABASE ' + name);
  }
  await db.close();
  const pack = tar.pack();
  const out = createWriteStream(job.out);
  const written = new Promise((resolve, reject) => {
    out.once('close', resolve);
    out.once('error', reject);
  });
  pack.pipe(createGzip()).pipe(out);
  const walk = (rel) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? rel + '/' + name : name;
      if (path === 'postmaster.pid') continue;
      const st = statSync(join(dir, path));
      if (st.isDirectory()) {
        pack.entry({ name: '/' + path, type: 'directory', mode: 0o700 });
        walk(path);
      } else if (st.isFile()) {
        pack.entry({ name: '/' + path, mode: 0o600, size: st.size }, readFileSync(join(dir, path)));
      }
    }
  };
  walk('');
  pack.finalize();
  await written;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
`;

/**
 * Makes a template with these migrations into `dir` in a child process (its memory is gone when
 * it exits), replacing what was there. `bootstrap` creates the migrations table (migrations.ts).
 */
export async function buildTemplate(dir: string, migrations: Migration[], bootstrap: string): Promise<string> {
  const abs = resolve(dir);
  mkdirSync(dirname(abs), { recursive: true });
  const work = `${abs}.tmp-${process.pid}-${randomUUID().slice(0, 8)}`;
  mkdirSync(work, { recursive: true });
  try {
    const sorted = [...migrations].sort((a, b) => a.id - b.id);
    const job = {
      pglite: pathToFileURL(require.resolve('@electric-sql/pglite').replace(/\.cjs$/, '.js')).href,
      tarStream: pathToFileURL(require.resolve('tar-stream')).href,
      startParams: storeStartParams(await pgliteDefaults()),
      bootstrap,
      migrations: sorted.map((m) => ({ id: m.id, name: m.name, sql: m.sql })),
      out: join(work, TARBALL),
    };
    await runChild(JSON.stringify(job));
    const meta: TemplateMeta = {
      format: TEMPLATE_FORMAT,
      pglite: pgliteVersion(),
      migrations: sorted.map((m) => ({ id: m.id, sha256: sha256(m.sql) })),
      createdAt: new Date().toISOString(),
    };
    writeFileSync(join(work, META), `${JSON.stringify(meta, null, 2)}\n`);
    // Swapped in whole: a reader sees the old template or the new one, never half of one.
    const old = `${abs}.old-${process.pid}-${randomUUID().slice(0, 8)}`;
    if (existsSync(abs)) renameSync(abs, old);
    renameSync(work, abs);
    rmSync(old, { recursive: true, force: true });
    return join(abs, TARBALL);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

async function pgliteDefaults(): Promise<string[]> {
  const { PGlite } = await import('@electric-sql/pglite');
  return [...PGlite.defaultStartParams];
}

function runChild(job: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH ?? '' },
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString('utf8')).slice(-2_000);
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolvePromise();
      else
        reject(
          new Error(
            `making the store template failed (${signal ?? `exit ${code}`}): ${stderr.trim().split('\n').slice(-2).join(' | ')}`,
          ),
        );
    });
    child.stdin.end(job);
  });
}

/**
 * The template for these migrations: the first that fits, else a new one made into the first
 * directory that takes it (the shipped one when writable, else the cache).
 */
export async function ensureTemplate(
  migrations: Migration[],
  bootstrap: string,
  dirs: string[] = templateDirs(),
  exact = false,
): Promise<string> {
  const found = findTemplate(dirs, migrations, exact);
  if (found) return found;
  let last: unknown;
  for (const dir of dirs) {
    try {
      return await buildTemplate(dir, migrations, bootstrap);
    } catch (err) {
      last = err;
    }
  }
  throw last ?? new Error('no directory to make the store template in');
}

/** Whether `dir` holds nothing yet (a new DATA_DIR): only then is a template unpacked into it. */
export function isEmptyDir(dir: string): boolean {
  try {
    return readdirSync(dir).length === 0;
  } catch {
    return true;
  }
}

/**
 * Unpacks a template into `target` (empty or missing): into a sibling first, renamed into place
 * when complete, so a start killed half-way leaves no half database behind.
 */
export async function unpackTemplate(tarball: string, target: string): Promise<void> {
  const abs = resolve(target);
  const work = `${abs}.unpack-${process.pid}-${randomUUID().slice(0, 8)}`;
  mkdirSync(work, { recursive: true });
  try {
    const { default: tar } = await import('tar-stream');
    const extract = tar.extract();
    const source = createReadStream(tarball).pipe(createGunzip());
    source.once('error', (err) => extract.destroy(err));
    source.pipe(extract);
    const made = new Set<string>([work]);
    const mkdir = (path: string) => {
      if (made.has(path)) return;
      mkdirSync(path, { recursive: true });
      made.add(path);
    };
    for await (const entry of extract) {
      const name = normalize(entry.header.name).replace(/^([/\\]|\.\.[/\\]?)+/, '');
      const path = join(work, name);
      if (path !== work && !path.startsWith(`${work}${sep}`))
        throw new Error(`bad template entry ${entry.header.name}`);
      if (entry.header.type === 'directory') {
        mkdir(path);
        entry.resume();
      } else if (entry.header.type === 'file') {
        mkdir(dirname(path));
        const fd = openSync(path, 'w', 0o600);
        try {
          for await (const chunk of entry) writeSync(fd, chunk as Buffer);
        } finally {
          closeSync(fd);
        }
      } else {
        entry.resume();
      }
    }
    if (!existsSync(join(work, 'PG_VERSION'))) throw new Error(`${tarball} holds no database`);
    rmSync(abs, { recursive: true, force: true });
    renameSync(work, abs);
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}
