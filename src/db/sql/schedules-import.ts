/**
 * The importer's statements on `metronome.schedules` (src/import/apply.ts), all inside the import's
 * one transaction: the rows it must plan against, locked, and the write of each imported schedule.
 * An imported row carries its cursor (`next_fire_at`, `last_fire_at`, `total_runs`, computed by
 * src/import/cursor.ts), written with it or left alone when the plan says so; each write returns
 * the version it left, for the audit record.
 */
import { eq, inArray, or } from 'drizzle-orm';
import type { ScheduleFields, ScheduleRecord } from '../../model/index.ts';
import type { Db } from '../database.ts';
import { schedules } from '../schema.ts';

/** The cursor columns an import writes (src/import/cursor.ts computes them). */
export interface ImportCursor {
  nextFireAt: number | null;
  lastFireAt: number | null;
  totalRuns: number;
}

/**
 * The rows an import must plan against: those with the names it brings (a name may be taken) and
 * those it made before (for orphans), locked for the rest of the transaction.
 */
export async function rowsForImport(tx: Db, names: string[], source: string): Promise<ScheduleRecord[]> {
  const bySource = eq(schedules.source, source);
  return tx
    .select()
    .from(schedules)
    .where(names.length > 0 ? or(inArray(schedules.name, names), bySource) : bySource)
    .for('update');
}

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function cursorColumns(cursor: ImportCursor | null) {
  return cursor
    ? {
        nextFireAt: date(cursor.nextFireAt),
        lastFireAt: date(cursor.lastFireAt),
        totalRuns: cursor.totalRuns,
      }
    : {};
}

export async function insertImportedSchedule(
  tx: Db,
  name: string,
  fields: ScheduleFields,
  source: string,
  cursor: ImportCursor,
): Promise<number> {
  const [row] = await tx
    .insert(schedules)
    .values({ name, ...fields, managedBy: 'db', source, ...cursorColumns(cursor) })
    .returning({ version: schedules.version });
  return row!.version;
}

export async function updateImportedSchedule(
  tx: Db,
  id: number,
  fields: ScheduleFields,
  source: string,
  cursor: ImportCursor | null,
): Promise<number> {
  const [row] = await tx
    .update(schedules)
    .set({ ...fields, source, invalidReason: null, ...cursorColumns(cursor) })
    .where(eq(schedules.id, id))
    .returning({ version: schedules.version });
  return row!.version;
}
