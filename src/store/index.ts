// Opens the bot's store from the config and brings its schema up to date with the migrations it is handed.
import { join } from 'node:path';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';
import { lockDataDir } from './data-dir-lock.js';
import type { Migration } from './migration.js';
import { migrate } from './migrations.js';
import { pgliteSql, postgresSql, type Sql } from './sql.js';

export type { Sql };

export async function openStore(
  config: Pick<Config, 'BOT_DATABASE_URL' | 'DATA_DIR'>,
  log: Logger,
  migrations: Migration[],
): Promise<Sql> {
  const sql = config.BOT_DATABASE_URL
    ? postgresSql(config.BOT_DATABASE_URL, log)
    : await embeddedSql(join(config.DATA_DIR, 'store'), log);
  const applied = await migrate(sql, migrations);
  if (applied.length) log.info({ applied, kind: sql.kind }, 'bot store migrated');
  return sql;
}

/** PGlite under DATA_DIR, held by this process alone (DataDirInUse when another has it). */
async function embeddedSql(dir: string, log: Logger): Promise<Sql> {
  const release = await lockDataDir(dir, (err) => log.error({ err }, 'lost the lock on the data directory'));
  let sql: Sql;
  try {
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
