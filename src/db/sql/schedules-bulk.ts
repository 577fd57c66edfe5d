/**
 * The operators' bulk upsert of `metronome.schedules` (src/operate/bulk.ts). Each statement of a
 * batch has ONE parameter: the batch's rows as a JSON array read by `jsonb_to_recordset`. A
 * thousand rows of thirty columns as bound parameters would cost more to build and bind than to
 * write; one JSON text costs a string join. jsonb keeps numbers exactly (args
 * 12345678901234567890 stays so), and the same SQL runs on Postgres and PGlite.
 */
import { sql } from 'drizzle-orm';
import { FIELD_NAMES, type ScheduleFields, type ScheduleRecord, stringifyJson } from '../../model/index.ts';
import type { Database, Db } from '../database.ts';
import { schedules } from '../schema.ts';

/** A row to write: the declared fields and the columns the bulk path sets besides them. */
export interface BulkRow extends ScheduleFields {
  name: string;
  managedBy: 'db';
  source: string;
  nextFireAt: Date | null;
}

const COLUMNS = ['name', ...FIELD_NAMES, 'managedBy', 'source', 'nextFireAt'] as const;
const column = (key: (typeof COLUMNS)[number]) => schedules[key];
const NAMES = COLUMNS.map((key) => `"${column(key).name}"`).join(', ');
const RECORD_TYPE = COLUMNS.map((key) => `"${column(key).name}" ${column(key).getSQLType()}`).join(', ');
const UPDATE_SET = [...FIELD_NAMES, 'source' as const, 'nextFireAt' as const]
  .map((key) => `"${column(key).name}" = excluded."${column(key).name}"`)
  .join(', ');

function encode(value: unknown, jsonb: boolean): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  return jsonb ? stringifyJson(value) : JSON.stringify(value);
}

const JSONB = new Set(COLUMNS.filter((key) => column(key).getSQLType() === 'jsonb'));

function rowsJson(rows: BulkRow[]): string {
  return `[${rows
    .map(
      (row) =>
        `{${COLUMNS.map((key) => `"${column(key).name}":${encode(row[key], JSONB.has(key))}`).join(',')}}`,
    )
    .join(',')}]`;
}

/** The rows of these names, locked for the batch's transaction. */
export async function lockByNames(tx: Db, names: string[]): Promise<ScheduleRecord[]> {
  if (names.length === 0) return [];
  return tx
    .select()
    .from(schedules)
    .where(sql`${schedules.name} in (select jsonb_array_elements_text(${JSON.stringify(names)}::jsonb))`)
    .for('update');
}

/**
 * Insert the new rows and overwrite the database-owned ones of the same names (a code-owned row
 * is never overwritten, whatever the caller checked). Returns each written name's version.
 */
export async function upsertRows(database: Database, tx: Db, rows: BulkRow[]): Promise<Map<string, number>> {
  if (rows.length === 0) return new Map();
  const written = await database.rows<{ name: string; version: string | number }>(
    sql`insert into metronome.schedules (${sql.raw(NAMES)})
        select ${sql.raw(NAMES)} from jsonb_to_recordset(${rowsJson(rows)}::jsonb) as r(${sql.raw(RECORD_TYPE)})
        on conflict ("name") do update set ${sql.raw(UPDATE_SET)}, "invalid_reason" = null
        where metronome.schedules."managed_by" = 'db'
        returning "name", "version"`,
    tx,
  );
  return new Map(written.map((w) => [w.name, Number(w.version)]));
}
