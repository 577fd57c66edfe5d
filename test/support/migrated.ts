/** Test databases with the project's schema, migrated by the project's own migrator. */
import { after, before } from 'node:test';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { migrateDatabase } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';

/** A new test database, migrated (the connection used for it is closed again). */
export async function createMigratedDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  const database = await openDatabase({ databaseUrl: db.url, dataDir: '' });
  try {
    await migrateDatabase(database);
  } finally {
    await database.close();
  }
  return db;
}

/**
 * A test file's migrated database and an open `Database` on it, made before the file's tests and
 * dropped after them. `prepare` runs on it once migrated, before the first test (a second top-level
 * `before` would not wait for this one).
 */
export function migratedDatabasePerFile(prepare?: (db: TestDatabase) => Promise<unknown>): {
  readonly db: TestDatabase;
  readonly database: Database;
} {
  let db: TestDatabase | undefined;
  let database: Database | undefined;
  before(async () => {
    db = await createMigratedDatabase();
    database = await openDatabase({ databaseUrl: db.url, dataDir: '' });
    await prepare?.(db);
  });
  after(async () => {
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
