// The embedded store's template: a new DATA_DIR is unpacked from a database made once (in a
// child process), the migrations the template lacks are applied on top, the store survives a
// reopen, runs with the bot's settings, and keeps its one-process lock.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';
import { DataDirInUse } from '../../src/store/data-dir-lock.js';
import { openStore, type Sql } from '../../src/store/index.js';
import type { Migration } from '../../src/store/migration.js';
import { MIGRATIONS, MIGRATIONS_TABLE } from '../../src/store/migrations.js';
import { ensureTemplate, type TemplateMeta } from '../../src/store/template.js';

const tmp = mkdtempSync(join(tmpdir(), 'dmp-template-test-'));
const lines: string[] = [];
const log = createLogger('debug', { write: (line: string) => void lines.push(line) });
const sorted = [...MIGRATIONS].sort((a, b) => a.id - b.id);
const meta = (dir: string): TemplateMeta => JSON.parse(readFileSync(join(dir, 'template.json'), 'utf8'));

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('the embedded store from a template', () => {
  // A template two migrations behind the code, the way a shipped template meets newer code.
  const templates = join(tmp, 'templates');
  const behind = sorted.slice(0, -2);

  it('opens a new DATA_DIR from a template, applies the rest of the migrations, and survives a reopen', async () => {
    await ensureTemplate(behind, MIGRATIONS_TABLE, [templates]);
    expect(meta(templates).migrations.map((m) => m.id)).toEqual(behind.map((m) => m.id));

    const dataDir = join(tmp, 'data');
    let sql: Sql = await openStore({ DATA_DIR: dataDir, BOT_DATABASE_URL: undefined }, log, MIGRATIONS, {
      templateDirs: [templates],
    });
    try {
      expect(lines.some((l) => l.includes('unpacked from its template'))).toBe(true);
      const ids = (await sql.query<{ id: number }>('SELECT id FROM bot_migrations ORDER BY id')).map((r) => r.id);
      expect(ids).toEqual(sorted.map((m) => m.id));
      // The template was not remade: the two it lacked were applied on top of it.
      expect(meta(templates).migrations).toHaveLength(behind.length);
      await sql.query(
        `INSERT INTO audit_log (user_id, kind, action, outcome) VALUES ('U1', 'command', 'template test', 'ok')`,
      );
      const [sb] = await sql.query<{ shared_buffers: string }>('SHOW shared_buffers');
      expect(sb?.shared_buffers).toBe('16MB');
      // Only the bot's database: the template databases, which CREATE DATABASE alone uses, are gone.
      const dbs = (await sql.query<{ datname: string }>('SELECT datname FROM pg_database')).map((r) => r.datname);
      expect(dbs).toEqual(['postgres']);
    } finally {
      await sql.close();
    }

    sql = await openStore({ DATA_DIR: dataDir, BOT_DATABASE_URL: undefined }, log, MIGRATIONS, {
      templateDirs: [templates],
    });
    try {
      const rows = await sql.query<{ action: string }>(`SELECT action FROM audit_log`);
      expect(rows.map((r) => r.action)).toEqual(['template test']);
      const [sb] = await sql.query<{ shared_buffers: string }>('SHOW shared_buffers');
      expect(sb?.shared_buffers).toBe('16MB');
      // A second process on the same DATA_DIR is still refused while this one holds it.
      await expect(
        openStore({ DATA_DIR: dataDir, BOT_DATABASE_URL: undefined }, log, MIGRATIONS, { templateDirs: [templates] }),
      ).rejects.toBeInstanceOf(DataDirInUse);
    } finally {
      await sql.close();
    }
  }, 180_000);

  it('keeps a template that fits and makes a new one when a migration it holds has changed', async () => {
    const before = statSync(join(templates, 'store.tar.gz')).mtimeMs;
    await ensureTemplate(sorted, MIGRATIONS_TABLE, [templates]);
    expect(statSync(join(templates, 'store.tar.gz')).mtimeMs).toBe(before);

    const first = sorted[0] as Migration;
    const changed: Migration[] = [
      { ...first, sql: `${first.sql}\nCREATE TABLE template_marker (x int);` },
      ...sorted.slice(1),
    ];
    await ensureTemplate(changed, MIGRATIONS_TABLE, [templates]);
    expect(meta(templates).migrations).toHaveLength(changed.length);

    const sql = await openStore({ DATA_DIR: join(tmp, 'data-2'), BOT_DATABASE_URL: undefined }, log, changed, {
      templateDirs: [templates],
    });
    try {
      const ids = (await sql.query<{ id: number }>('SELECT id FROM bot_migrations ORDER BY id')).map((r) => r.id);
      expect(ids).toEqual(sorted.map((m) => m.id));
      expect(await sql.query('SELECT x FROM template_marker')).toEqual([]);
    } finally {
      await sql.close();
    }
  }, 180_000);
});
