/** Test databases with the project's schema, migrated by the project's own migrator. */
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
