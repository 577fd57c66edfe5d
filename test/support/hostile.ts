/**
 * Helpers for the hostile-input tests: rows that only a database without our CHECK constraints
 * accepts (a dump restored without them, a constraint dropped by hand, rows older than the
 * constraint), so the loader's own validation is what stands between them and the beat.
 */
import type postgres from 'postgres';
import { createMigratedDatabase } from './migrated.ts';
import type { TestDatabase } from './pg.ts';

/** A test database, migrated, with the schedules' CHECK constraints dropped (see below). */
export async function createUncheckedDatabase(): Promise<TestDatabase> {
  const db = await createMigratedDatabase();
  await dropScheduleChecks(db.sql);
  return db;
}

/** Drop every CHECK constraint of metronome.schedules (the trigger and the NOT NULLs stay). */
export async function dropScheduleChecks(sql: postgres.Sql): Promise<void> {
  const checks = await sql<{ conname: string }[]>`
    select conname from pg_constraint
    where conrelid = 'metronome.schedules'::regclass and contype = 'c'`;
  for (const { conname } of checks) {
    await sql.unsafe(`alter table metronome.schedules drop constraint "${conname}"`);
  }
}

/** Columns of a healthy interval row, to be overridden one at a time. */
export function intervalRow(name: string, columns: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, task: 'tasks.hostile', kind: 'interval', every_ms: 60_000, managed_by: 'db', ...columns };
}

/** Insert rows given as column maps; values are SQL literals (so '-infinity' reaches the column). */
export async function insertLiteralRows(sql: postgres.Sql, rows: Record<string, unknown>[]): Promise<void> {
  for (const row of rows) {
    const columns = Object.keys(row);
    const values = columns.map((c) => literal(row[c]));
    await sql.unsafe(
      `insert into metronome.schedules (${columns.map((c) => `"${c}"`).join(', ')}) values (${values.join(', ')})`,
    );
  }
}

/** SQL text put into the statement as it is, e.g. `raw("'[1.0]'::jsonb")`. */
export function raw(sqlText: string): { raw: string } {
  return { raw: sqlText };
}

function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'object' && 'raw' in value) return String((value as { raw: string }).raw);
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'object') return `'${JSON.stringify(value).replaceAll("'", "''")}'::jsonb`;
  return `'${String(value).replaceAll("'", "''")}'`;
}
