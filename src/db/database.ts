/**
 * One `Database` over either driver: Postgres through postgres.js when DATABASE_URL is set, or the
 * embedded PGlite in a local folder. Code above this file uses `db` (Drizzle, identical on both),
 * `rows()` for raw SQL, `withSessionLock()` and `listen()`, and never asks which one it has. Each
 * driver is loaded only when opened: a Postgres user never loads PGlite, and the reverse.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { redactSecrets } from '../logger.ts';
import { lockDataDir } from './data-dir-lock.ts';
import { PGLITE_SETTINGS } from './pglite-settings.ts';
import * as schema from './schema.ts';

/** Drizzle over either driver (a transaction is one too). */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

interface MigrationOptions {
  migrationsFolder: string;
  migrationsSchema: string;
  migrationsTable: string;
}

export interface Database {
  readonly kind: 'postgres' | 'pglite';
  /** Where it is, safe to print: the URL with its password masked, or the data folder. */
  readonly target: string;
  readonly db: Db;
  /** Run raw SQL and get its rows, whatever the driver's result shape. */
  rows<T = Record<string, unknown>>(query: SQL, on?: Db): Promise<T[]>;
  /** Run `fn` holding a session-level advisory lock (one connection holds it throughout). */
  withSessionLock<T>(key: number, fn: () => Promise<T>): Promise<T>;
  /** Apply Drizzle migrations with the driver's migrator (callers serialize; see migrate.ts). */
  applyMigrations(options: MigrationOptions): Promise<void>;
  /** LISTEN on a channel; resolves once listening; returns the function that stops it. */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export class DatabaseConnectError extends Error {}

/** Postgres's type id of jsonb, which both drivers are told to hand over as text. */
const JSONB_OID = 3802;

export interface OpenOptions {
  /** Postgres URL; absent selects PGlite in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /**
   * Postgres connections (default 5). The leader lease uses one: its session's pid is how standbys
   * see a crashed holder (src/beat/leadership.ts).
   */
  poolSize?: number;
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  return options.databaseUrl
    ? openPostgres(options.databaseUrl, options.poolSize ?? 5)
    : openPglite(options.dataDir);
}

function normalizeRows<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

async function openPostgres(url: string, poolSize: number): Promise<Database> {
  const [{ default: postgres }, { drizzle: drizzlePostgres }, { migrate: migratePostgres }] =
    await Promise.all([
      import('postgres'),
      import('drizzle-orm/postgres-js'),
      import('drizzle-orm/postgres-js/migrator'),
    ]);
  const target = redactSecrets(url);
  const client = postgres(url, {
    max: poolSize,
    // "schema already exists, skipping" and friends are not worth a line on stderr.
    onnotice: () => {},
    connect_timeout: 10,
    // postgres.js waits up to 20 s between reconnects after repeated failures, so a database that
    // was away for five seconds could cost twenty more. Retry within a second, with a little jitter.
    backoff: (retries: number) => Math.min(1, 0.1 * retries) * (0.75 + Math.random() / 2),
  });
  // jsonb as text: the schema parses it, losslessly for the message columns (src/db/schema.ts).
  client.options.parsers[JSONB_OID] = (text: string) => text;
  try {
    await client`select 1`;
  } catch (error) {
    await client.end({ timeout: 1 }).catch(() => {});
    const reason = redactSecrets(error instanceof Error ? error.message : String(error));
    throw new DatabaseConnectError(`cannot connect to Postgres at ${target}: ${reason}`);
  }
  const db = drizzlePostgres({ client, schema }) as unknown as Db;
  return {
    kind: 'postgres',
    target,
    db,
    rows: async <T>(query: SQL, on: Db = db) => normalizeRows<T>(await on.execute(query)),
    async withSessionLock(key, fn) {
      const session = await client.reserve();
      try {
        await session`select pg_advisory_lock(${key})`;
        try {
          return await fn();
        } finally {
          await session`select pg_advisory_unlock(${key})`;
        }
      } finally {
        session.release();
      }
    },
    applyMigrations: (o) => migratePostgres(db as never, o),
    async listen(channel, onPayload) {
      const { unlisten } = await client.listen(channel, onPayload);
      return unlisten;
    },
    close: () => client.end({ timeout: 5 }),
  };
}

async function openPglite(dataDir: string): Promise<Database> {
  const [{ PGlite }, { drizzle: drizzlePglite }, { migrate: migratePglite }] = await Promise.all([
    import('@electric-sql/pglite'),
    import('drizzle-orm/pglite'),
    import('drizzle-orm/pglite/migrator'),
  ]);
  const lock = await lockDataDir(dataDir);
  let client: PGlite;
  try {
    const pgdata = path.join(dataDir, 'pgdata');
    if (!existsSync(path.join(pgdata, 'PG_VERSION'))) await initializeInChild(pgdata);
    client = await PGlite.create(pgdata, {
      parsers: { [JSONB_OID]: (text: string) => text },
      postgresqlconf: PGLITE_SETTINGS,
    });
  } catch (error) {
    lock.release();
    throw new DatabaseConnectError(
      `cannot open the embedded database in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const db = drizzlePglite({ client, schema }) as unknown as Db;
  return {
    kind: 'pglite',
    target: `embedded PGlite in ${dataDir}`,
    db,
    rows: async <T>(query: SQL, on: Db = db) => normalizeRows<T>(await on.execute(query)),
    // PGlite has one connection and one process (the folder lock): the lock is uncontended, taken
    // anyway so the code path is the one Postgres runs.
    async withSessionLock(key, fn) {
      await client.query(`select pg_advisory_lock(${Number(key)})`);
      try {
        return await fn();
      } finally {
        await client.query(`select pg_advisory_unlock(${Number(key)})`);
      }
    },
    applyMigrations: (o) => migratePglite(db as never, o),
    async listen(channel, onPayload) {
      const stop = await client.listen(channel, onPayload);
      return () => stop();
    },
    async close() {
      try {
        await client.close();
      } finally {
        lock.release();
      }
    },
  };
}

/**
 * Create a new embedded database folder in a child process (pglite-init.ts): initdb's memory peak
 * (about 750 MB) is gone with the child instead of staying resident in the beat.
 */
async function initializeInChild(pgdata: string): Promise<void> {
  const typescript = import.meta.url.endsWith('.ts');
  const script = fileURLToPath(new URL(`./pglite-init.${typescript ? 'ts' : 'js'}`, import.meta.url));
  const child = fork(script, [pgdata], {
    execArgv: typescript ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`initdb failed (exit ${code}): ${stderr.trim().split('\n').pop() ?? ''}`);
}
