// Throwaway PostgreSQL databases on the real server, one per test file, dropped afterwards.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';

/** The tests' PostgreSQL: `TEST_PG_URL` (a database the tests may create databases from), else a local server. */
export const PG_ADMIN_URL = process.env.TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/test';
const pgUrl = new URL(PG_ADMIN_URL);
/** Host and port of the tests' PostgreSQL (for proxies placed in front of it). */
export const PG_HOST = pgUrl.hostname || '127.0.0.1';
export const PG_PORT = Number(pgUrl.port || 5432);
export const DMP_SCHEMA = readFileSync(new URL('../../fixtures/dmp/schema.sql', import.meta.url), 'utf8');

export interface TestDatabase {
  name: string;
  url: string;
  /** A client for seeding and asserting, connected to the database. */
  client: pg.Client;
  drop(): Promise<void>;
}

function urlFor(name: string): string {
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Creates an empty database; with `schema`, the platform's tables from schema.sql. */
export async function createTestDatabase(opts: { schema?: boolean; prefix?: string } = {}): Promise<TestDatabase> {
  const name = `${opts.prefix ?? 't'}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = urlFor(name);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  if (opts.schema) await client.query(DMP_SCHEMA);
  return {
    name,
    url,
    client,
    async drop() {
      await client.end().catch(() => {});
      const a = new pg.Client({ connectionString: PG_ADMIN_URL });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}
