/**
 * Opening the database for a command: config from the environment, Postgres or the embedded PGlite,
 * migrations applied first (every command that touches the database does this, so a fresh database
 * just works), closed afterwards whatever happens. Failures become one-line CLI errors.
 */
import { ConfigError, loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../db/database.ts';
import { databaseErrorText, sqlState } from '../db/errors.ts';
import { type MigrationResult, migrateDatabase } from '../db/migrate.ts';
import { CliError } from './errors.ts';

export async function withDatabase<T>(
  fn: (database: Database, migrations: MigrationResult) => Promise<T>,
): Promise<T> {
  let database: Database;
  try {
    const config = loadConfig();
    database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    if (error instanceof DatabaseConnectError || error instanceof DataDirLockedError) {
      throw new CliError(error.message, 1);
    }
    throw error;
  }
  try {
    let migrations: MigrationResult;
    try {
      migrations = await migrateDatabase(database);
    } catch (error) {
      throw new CliError(`applying migrations to ${database.target} failed: ${databaseErrorText(error)}`, 1);
    }
    try {
      return await fn(database, migrations);
    } catch (error) {
      throw constraintError(error) ?? error;
    }
  } finally {
    await database.close();
  }
}

/**
 * A database error as one line, never the SQL and a stack: a value the database refused (a CHECK
 * a person's input reached, a race with another writer, a value it cannot store) is bad input,
 * exit 2; anything else it reported, exit 1.
 */
function constraintError(error: unknown): CliError | null {
  const state = sqlState(error);
  if (state === undefined) return null;
  if (state.startsWith('22') || state.startsWith('23')) {
    return new CliError(`the database refused the change: ${databaseErrorText(error)}`, 2);
  }
  return new CliError(`the database failed: ${databaseErrorText(error)}`, 1);
}

/** Read a setting, turning a bad value into an exit-code-2 CLI error naming the variable. */
export function configValue<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(error.message, 2);
    throw error;
  }
}
