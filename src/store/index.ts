// Opens the bot's store from the config and brings its schema up to date with the migrations it is handed.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Migration } from './migration.js';
import { MIGRATIONS_TABLE, migrate } from './migrations.js';
import { pgliteSql, postgresSql, type Sql } from './sql.js';
import { ensureTemplate, isEmptyDir, templateDirs, unpackTemplate } from './template.js';

export type { Sql };

export interface StoreOptions {
  /** Where the embedded store's templates are looked for and made (default: template.ts's). */
  templateDirs?: string[];
}

export async function openStore(
  config: Pick<Config, 'BOT_DATABASE_URL' | 'DATA_DIR'>,
  log: Logger,
  migrations: Migration[],
  opts: StoreOptions = {},
): Promise<Sql> {
  const sql = config.BOT_DATABASE_URL
    ? postgresSql(config.BOT_DATABASE_URL, log)
    : await embeddedSql(join(config.DATA_DIR, 'store'), log, migrations, opts);
  const applied = await migrate(sql, migrations);
  if (applied.length) log.info({ applied, kind: sql.kind }, 'bot store migrated');
  return sql;
}

/** PGlite under DATA_DIR, held by this process alone (DataDirInUse when another has it). */
async function embeddedSql(dir: string, log: Logger, migrations: Migration[], opts: StoreOptions): Promise<Sql> {
  const release = await lockDataDir(dir, (err) => log.error({ err }, 'lost the lock on the data directory'));
  let sql: Sql;
  try {
    if (isEmptyDir(dir)) await fromTemplate(dir, log, migrations, opts);
    sql = await pgliteSql(dir);
  } catch (err) {
    await release();
    throw err;
  }
  return {
    ...sql,
    close: async () => {
      await sql.close();
      await release();
    },
  };
}

/**
 * A new store unpacked from a template (template.ts) rather than made by initdb in this process.
 * When no template can be had, PGlite makes the database itself as before: slower and larger.
 */
async function fromTemplate(dir: string, log: Logger, migrations: Migration[], opts: StoreOptions): Promise<void> {
  let tarball: string;
  try {
    tarball = await ensureTemplate(migrations, MIGRATIONS_TABLE, opts.templateDirs ?? templateDirs());
  } catch (err) {
    log.warn(
      { err },
      'no store template: the embedded store creates its database in this process (slower, more memory)',
    );
    return;
  }
  await unpackTemplate(tarball, dir);
  log.debug({ tarball, dir }, 'embedded store unpacked from its template');
}
