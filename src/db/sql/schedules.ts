/**
 * The leader's writes to `metronome.schedules`: its bookkeeping (cursor, run count, last fire),
 * made with a version check so that a concurrent edit wins. The trigger that bumps `version` and
 * notifies on every change is told these writes are bookkeeping (no bump, no notification).
 * The table's other statements (loading, refresh, operators' edits) are in src/db/store.ts.
 */
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../database.ts';

export interface CursorAdvance {
  scheduleId: number;
  version: number;
  nextFireAt: number | null;
  runs: number;
  lastFireAt: number | null;
}

/**
 * Tell the schedules' update trigger that the rest of transaction `tx` is the runtime's bookkeeping
 * (cursor, run count, next fire, quarantine): no version bump, no change notification
 * (migrations/0008_change_cursor.sql).
 */
export async function markBookkeeping(database: Database, tx: Db): Promise<void> {
  await database.rows(sql`select set_config('metronome.bookkeeping', 'on', true)`, tx);
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Advance the cursors of schedules still at the version given, in the caller's transaction `tx`.
 * Returns the schedules whose cursor moved, with their new version.
 */
export async function advanceCursors(
  database: Database,
  tx: Db,
  advances: readonly CursorAdvance[],
): Promise<Map<number, number>> {
  const advanced = new Map<number, number>();
  if (advances.length === 0) return advanced;
  // One JSON parameter for the whole batch, expanded by the server: a fixed, tiny parameter
  // count whatever the batch size (a VALUES list of 500 rows is 2,500 parameters to build and plan).
  const batch = JSON.stringify(
    advances.map((a) => ({
      id: a.scheduleId,
      version: a.version,
      next: iso(a.nextFireAt),
      runs: a.runs,
      last: iso(a.lastFireAt),
    })),
  );
  await markBookkeeping(database, tx);
  const rows = await database.rows<{ id: string | number; version: string | number }>(
    sql`update metronome.schedules s
          set next_fire_at = v.next, total_runs = s.total_runs + v.runs, last_fire_at = coalesce(v.last, s.last_fire_at)
          from jsonb_to_recordset(${batch}::jsonb) as v(id bigint, version bigint, next timestamptz, runs int, last timestamptz)
          where s.id = v.id and s.version = v.version
          returning s.id, s.version`,
    tx,
  );
  for (const row of rows) advanced.set(Number(row.id), Number(row.version));
  return advanced;
}
