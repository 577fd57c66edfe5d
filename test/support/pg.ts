/**
 * A real Postgres database per test file: created on the server at METRONOME_TEST_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres), dropped WITH (FORCE) afterwards. When the server
 * cannot be reached the test fails, naming Postgres and the URL — it never skips.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { redactSecrets } from '../../src/logger.ts';

export const ADMIN_URL = process.env.METRONOME_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  /** A plain postgres.js client on the test database, for arranging rows and checking them. */
  sql: postgres.Sql;
  drop(): Promise<void>;
}

function urlFor(name: string): string {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {}, connect_timeout: 5 });
  const name = `metronome_t_${randomBytes(5).toString('hex')}`;
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end({ timeout: 1 }).catch(() => {});
    throw new Error(
      `these tests need a real Postgres server at ${redactSecrets(ADMIN_URL)} (set METRONOME_TEST_PG_URL to another one): ${
        error instanceof Error ? redactSecrets(error.message) : String(error)
      }`,
    );
  }
  const url = urlFor(name);
  const sql = postgres(url, { max: 2, onnotice: () => {} });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/** The single row of a result (tests: a missing row fails loudly). */
export function one<T>(rows: readonly T[]): T {
  if (rows.length !== 1) throw new Error(`expected one row, got ${rows.length}`);
  return rows[0] as T;
}
