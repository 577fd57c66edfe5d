/**
 * Applying migrations. Drizzle's migrator reads what was applied and then applies the rest, so two
 * processes starting together would both apply migration N (the second one failing halfway, or
 * worse). It is therefore run under a Postgres advisory lock: the second process waits, then finds
 * nothing left to do. Every command that touches the database calls this first.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import type { Database } from './database.ts';

/** Advisory lock keys, one per purpose, in one place so they never collide. */
export const LOCK_KEYS = {
  migrate: 7_365_000_001,
  sync: 7_365_000_002,
} as const;

const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../migrations', import.meta.url));
const MIGRATIONS_SCHEMA = 'metronome';
const MIGRATIONS_TABLE = '__migrations';

export interface MigrationResult {
  /** How many migrations this call applied (0 when the database was up to date). */
  applied: number;
  total: number;
}

async function appliedCount(database: Database): Promise<number> {
  // Two statements: a missing table fails at parse time, whatever a CASE around it says.
  const [exists] = await database.rows<{ t: string | null }>(
    sql.raw(`select to_regclass('${MIGRATIONS_SCHEMA}.${MIGRATIONS_TABLE}')::text as t`),
  );
  if (!exists?.t) return 0;
  const [row] = await database.rows<{ n: number | string }>(
    sql.raw(`select count(*) as n from "${MIGRATIONS_SCHEMA}"."${MIGRATIONS_TABLE}"`),
  );
  return Number(row?.n ?? 0);
}

/** How many migrations this version ships (the journal's entries). */
export function shippedMigrations(): number {
  const journal = JSON.parse(fs.readFileSync(path.join(MIGRATIONS_FOLDER, 'meta/_journal.json'), 'utf8'));
  return (journal as { entries: unknown[] }).entries.length;
}

/** What is applied and what this version ships, without applying anything (a dry run's view). */
export async function migrationStatus(database: Database): Promise<MigrationResult & { pending: number }> {
  const applied = await appliedCount(database);
  const total = shippedMigrations();
  return { applied, total, pending: Math.max(0, total - applied) };
}

export async function migrateDatabase(database: Database): Promise<MigrationResult> {
  return database.withSessionLock(LOCK_KEYS.migrate, async () => {
    const before = await appliedCount(database);
    await database.applyMigrations({
      migrationsFolder: MIGRATIONS_FOLDER,
      migrationsSchema: MIGRATIONS_SCHEMA,
      migrationsTable: MIGRATIONS_TABLE,
    });
    const after = await appliedCount(database);
    return { applied: after - before, total: after };
  });
}
