/**
 * Write one imported schedule: insert it, or update one this import made before. Its cursor
 * (`next_fire_at`, `last_fire_at`, `total_runs`, src/import/cursor.ts) is written with it, or left
 * alone when the plan says so. Called inside the import's one transaction; each returns the
 * version it left, for the audit record.
 */
import { eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { schedules } from '../../db/schema.ts';
import type { ScheduleFields } from '../../model/index.ts';
import type { Cursor } from '../cursor.ts';

const date = (ms: number | null) => (ms === null ? null : new Date(ms));

function cursorColumns(cursor: Cursor | null) {
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
  cursor: Cursor,
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
  cursor: Cursor | null,
): Promise<number> {
  const [row] = await tx
    .update(schedules)
    .set({ ...fields, source, invalidReason: null, ...cursorColumns(cursor) })
    .where(eq(schedules.id, id))
    .returning({ version: schedules.version });
  return row!.version;
}
