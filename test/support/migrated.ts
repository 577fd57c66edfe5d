/** Test databases with the project's schema, migrated by the project's own migrator. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before } from 'node:test';
import { type Database, type OpenOptions, openDatabase } from '../../src/db/database.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';

/** An open `Database`, migrated (closed again if the migration fails). */
export async function openMigratedDatabase(options: OpenOptions): Promise<Database> {
  const database = await openDatabase(options);
  try {
    await migrateDatabase(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/** A new test database, migrated (the connection used for it is closed again). */
export async function createMigratedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  const database = await openMigratedDatabase({ databaseUrl: db.url, dataDir: '' });
  await database.close();
  return db;
}

/**
 * A test file's migrated database and an open `Database` on it, made before the file's tests and
 * dropped after them. `prepare` runs on it once migrated, before the first test (a second top-level
 * `before` would not wait for this one); `release` runs after the last test, before the database is
 * closed (a second top-level `after` would run after it): it stops what `prepare` started on it.
 */
export function migratedDatabasePerFile(
  prepare?: (db: TestDatabase, database: Database) => Promise<unknown>,
  release?: () => Promise<unknown>,
): {
  readonly db: TestDatabase;
  readonly database: Database;
} {
  let db: TestDatabase | undefined;
  let database: Database | undefined;
  before(async () => {
    db = await createMigratedDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: '' });
    await prepare?.(db, database);
  });
  after(async () => {
    await release?.();
    await database?.close();
    await db?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('the database is made before the first test');
      return db;
    },
    get database() {
      if (!database) throw new Error('the database is opened before the first test');
      return database;
    },
  };
}

/** An embedded (PGlite) database in a temporary folder of its own, migrated. */
export interface TestPglite {
  readonly dataDir: string;
  readonly database: Database;
  /** Close the database, once (another process, such as the CLI, may then open the folder). */
  close(): Promise<void>;
  /** Close the database if still open, and delete its folder. */
  remove(): Promise<void>;
}

export async function createMigratedPglite(): Promise<TestPglite> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'metronome-pglite-'));
  let database: Database;
  try {
    database = await openMigratedDatabase({ dataDir });
  } catch (error) {
    fs.rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= database.close();
    return closed;
  };
  return {
    dataDir,
    database,
    close,
    async remove() {
      try {
        await close();
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
