/**
 * Opening the database for a command: config from the environment, Postgres or the embedded PGlite,
 * migrations applied first (every command that touches the database does this, so a fresh database
 * just works), closed afterwards whatever happens. Failures become one-line CLI errors.
 */
import { ConfigError, loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../db/database.ts';
import { type MigrationResult, migrateDatabase } from '../db/migrate.ts';
import { redactSecrets } from '../logger.ts';
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
      throw new CliError(
        `applying migrations to ${database.target} failed: ${redactSecrets(errorText(error))}`,
        1,
      );
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
 * A row the database refused (a race with another writer, or a CHECK a person's input reached):
 * shown as the database's own one-line reason, exit 2, rather than a stack trace.
 */
function constraintError(error: unknown): CliError | null {
  const cause = (error as { cause?: unknown })?.cause ?? error;
  const code = (cause as { code?: unknown })?.code;
  if (code === '23505' || code === '23514' || code === '23502') {
    return new CliError(`the database refused the change: ${errorText(error)}`, 2);
  }
  return null;
}

/** The most useful line of a driver error (Drizzle wraps Postgres errors in `cause`). */
export function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) return cause.message;
  return error.message;
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
