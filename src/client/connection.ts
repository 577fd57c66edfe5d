/**
 * The client's database: one it opens from a Postgres URL (and closes), or the application's own
 * postgres.js client or Drizzle database, borrowed (never closed, never reconfigured). A borrowed
 * connection parses jsonb itself, so a number in args/kwargs/headers beyond a double's precision
 * reads back rounded (writes are exact either way); one opened here reads it exactly.
 */
import type { SQL } from 'drizzle-orm';
import type { Sql } from 'postgres';
import { type Database, type Db, openDatabase } from '../db/database.ts';
import * as schema from '../db/schema.ts';

export interface ConnectionOptions {
  /** A Postgres URL; default `DATABASE_URL` from the environment. */
  databaseUrl?: string;
  /** The application's postgres.js client (`postgres(url)`), used as it is and not closed. */
  sql?: Sql;
  /** The application's Drizzle database over Postgres (any driver), used as it is and not closed. */
  drizzle?: unknown;
  /** Connections of a pool opened from a URL (default 5). */
  poolSize?: number;
}

export async function openConnection(options: ConnectionOptions): Promise<Database> {
  if (options.sql) {
    const { drizzle } = await import('drizzle-orm/postgres-js');
    return borrowed(
      drizzle({ client: options.sql, schema }) as unknown as Db,
      'the given postgres.js client',
    );
  }
  if (options.drizzle) {
    const db = options.drizzle as Partial<Db>;
    if (typeof db.transaction !== 'function' || typeof db.execute !== 'function') {
      throw new TypeError(
        'connect({ drizzle }) needs a Drizzle database over Postgres (drizzle(...) from drizzle-orm)',
      );
    }
    return borrowed(db as Db, 'the given Drizzle database');
  }
  const url = options.databaseUrl ?? process.env.DATABASE_URL;
  if (!url) {
    throw new TypeError(
      "connect() needs a database: connect({ databaseUrl: 'postgres://...' }), DATABASE_URL in the environment, or connect({ sql }) / connect({ drizzle }) with the application's own connection",
    );
  }
  return openDatabase({ databaseUrl: url, dataDir: '', poolSize: options.poolSize ?? 5 });
}

function normalizeRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/** What the client needs of a `Database` over someone else's connection. */
function borrowed(db: Db, target: string): Database {
  const unavailable = (what: string) => () => {
    throw new Error(`${what} is not available on a borrowed connection`);
  };
  return {
    kind: 'postgres',
    target,
    db,
    rows: async <T>(query: SQL, on: Db = db) => normalizeRows<T>(await on.execute(query)),
    withSessionLock: unavailable('a session lock'),
    applyMigrations: unavailable('migrating'),
    listen: unavailable('LISTEN'),
    close: async () => {},
  };
}
