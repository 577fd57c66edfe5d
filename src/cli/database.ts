/**
 * Opening the database for a command: config from the environment, Postgres or the embedded PGlite,
 * migrations applied first (every command that touches the database does this, so a fresh database
 * just works), closed afterwards whatever happens. Failures become one-line CLI errors.
 */

import fs from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../config.ts';
import { DataDirLockedError } from '../db/data-dir-lock.ts';
import { type Database, DatabaseConnectError, openDatabase } from '../db/database.ts';
import { databaseErrorText, sqlState } from '../db/errors.ts';
import { type MigrationResult, migrateDatabase, migrationStatus, shippedMigrations } from '../db/migrate.ts';
import { CliError } from './errors.ts';

async function open(): Promise<Database> {
  try {
    const config = loadConfig();
    return await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  } catch (error) {
    throw openError(error);
  }
}

function openError(error: unknown): unknown {
  if (error instanceof ConfigError) return new CliError(error.message, 2);
  if (error instanceof DatabaseConnectError || error instanceof DataDirLockedError) {
    return new CliError(error.message, 1);
  }
  return error;
}

/** What a dry run sees: the database as it is (null: the embedded one does not exist yet). */
export interface Inspection {
  database: Database | null;
  /** A name for the database, also when there is none yet. */
  target: string;
  /** Migrations a real run would apply first (every one when the database does not exist). */
  pending: number;
  total: number;
}

/**
 * Open the database for a dry run: nothing is written, not even a migration, and the embedded
 * database's folder is not created when it does not exist (`database` is then null).
 */
export async function inspectDatabase<T>(fn: (inspection: Inspection) => Promise<T>): Promise<T> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    throw openError(error);
  }
  if (!config.databaseUrl && !fs.existsSync(path.join(config.dataDir, 'pgdata'))) {
    const total = shippedMigrations();
    return fn({ database: null, target: `embedded PGlite in ${config.dataDir}`, pending: total, total });
  }
  const database = await open();
  try {
    let status: Awaited<ReturnType<typeof migrationStatus>>;
    try {
      status = await migrationStatus(database);
    } catch (error) {
      throw new CliError(
        `reading the migrations of ${database.target} failed: ${databaseErrorText(error)}`,
        1,
      );
    }
    return await fn({ database, target: database.target, pending: status.pending, total: status.total });
  } catch (error) {
    throw constraintError(error) ?? error;
  } finally {
    await database.close();
  }
}

/**
 * Open the database for a preview (`beat add|edit --preview`): read as it is, as a dry run reads
 * it; null when it holds no schedules to read (no database yet, or not migrated).
 */
export async function previewDatabase<T>(fn: (database: Database | null) => Promise<T>): Promise<T> {
  return inspectDatabase(({ database, pending, total }) => fn(database && pending < total ? database : null));
}

export async function withDatabase<T>(
  fn: (database: Database, migrations: MigrationResult) => Promise<T>,
): Promise<T> {
  const database = await open();
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
