/**
 * The writes to `metronome.schedules`, and the row locks taken before them.
 *
 * The leader's bookkeeping (cursor, run count, last fire) is made with a version check so that a
 * concurrent edit wins; the trigger that bumps `version` and notifies on every change is told these
 * writes are bookkeeping (no bump, no notification). The operators' edits (src/operate/) lock the
 * row by name first, so that two operators' actions on one schedule apply one after the other; each
 * edit bumps `version` through that trigger. The bulk upsert is schedules-bulk.ts; the reads of
 * observe/ and the client are schedules-read.ts; the importer's, schedules-import.ts; loading and
 * refresh are in src/db/store.ts.
 */
import { and, asc, eq, isNotNull, lte, sql } from 'drizzle-orm';
import {
  type ManagedBy,
  nextFireWithin,
  type ScheduleFields,
  type ScheduleRecord,
  validateRecord,
} from '../../model/index.ts';
import type { Database, Db } from '../database.ts';
import { schedules } from '../schema.ts';
import { calendarLookup } from './calendars.ts';

export interface CursorAdvance {
  scheduleId: number;
  version: number;
  nextFireAt: number | null;
  runs: number;
  /** Occurrences an operator's skip took (recorded `skipped`): taken from the skip count. */
  skipped?: number;
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
      skipped: a.skipped ?? 0,
      last: iso(a.lastFireAt),
    })),
  );
  await markBookkeeping(database, tx);
  const rows = await database.rows<{ id: string | number; version: string | number }>(
    sql`update metronome.schedules s
          set next_fire_at = v.next, total_runs = s.total_runs + v.runs, last_fire_at = coalesce(v.last, s.last_fire_at),
              skip_count = greatest(0, s.skip_count - v.skipped),
              skip_reason = case when s.skip_count - v.skipped > 0 then s.skip_reason end
          from jsonb_to_recordset(${batch}::jsonb) as v(id bigint, version bigint, next timestamptz, runs int, skipped int, last timestamptz)
          where s.id = v.id and s.version = v.version
          returning s.id, s.version`,
    tx,
  );
  for (const row of rows) advanced.set(Number(row.id), Number(row.version));
  return advanced;
}

/** The row by name, locked `FOR UPDATE` for the transaction `tx`; undefined when there is none. */
export async function lockScheduleIfAny(tx: Db, name: string): Promise<ScheduleRecord | undefined> {
  const [row] = await tx.select().from(schedules).where(eq(schedules.name, name)).for('update');
  return row;
}

/** Insert a new schedule with its first next_fire_at. */
export async function insertSchedule(
  db: Db,
  name: string,
  fields: ScheduleFields,
  owner: { managedBy: ManagedBy; source: string | null },
  nextFireAt: number | null,
): Promise<ScheduleRecord> {
  const [row] = await db
    .insert(schedules)
    .values({
      name,
      ...fields,
      managedBy: owner.managedBy,
      source: owner.source,
      nextFireAt: nextFireAt === null ? null : new Date(nextFireAt),
    })
    .returning();
  return row!;
}

/**
 * Pause (an operator action: `sync` never clears it). Keeps an existing pause's start; `until` is
 * when the leader resumes it (null: until resumed by hand).
 */
export async function pauseSchedule(
  db: Db,
  id: number,
  reason: string | null,
  until: Date | null = null,
): Promise<ScheduleRecord> {
  const [row] = await db
    .update(schedules)
    .set({ pausedAt: sql`coalesce(${schedules.pausedAt}, now())`, pausedReason: reason, pausedUntil: until })
    .where(eq(schedules.id, id))
    .returning();
  return row!;
}

/**
 * Skip the next `count` occurrences with `reason` (an operator action, so the version moves and
 * the leader hears of it: a claim already held for its instant is taken back). `count` 0 clears it.
 */
export async function writeSkip(
  db: Db,
  id: number,
  count: number,
  reason: string | null,
): Promise<ScheduleRecord> {
  const [row] = await db
    .update(schedules)
    .set({ skipCount: count, skipReason: count === 0 ? null : reason })
    .where(eq(schedules.id, id))
    .returning();
  return row!;
}

/**
 * Resume: the cursor (next_fire_at) stays where the pause left it, so the runtime treats the paused
 * stretch like downtime: the schedule's catch-up policy decides (latest: one run now; all: each,
 * one at a time and rate-limited; skip: none) and every slot not run gets a `missed` row — no
 * burst and no silent gap. Only a schedule without a cursor gets one computed from now.
 */
export async function resumeSchedule(db: Db, record: ScheduleRecord, now: number): Promise<ScheduleRecord> {
  const { lookup } = await calendarLookup(db, record.calendars);
  const check = validateRecord(record, now, lookup);
  const next = check.ok
    ? (record.nextFireAt?.getTime() ?? nextFireWithin(check.schedule, record, now))
    : null;
  const [row] = await db
    .update(schedules)
    .set({
      pausedAt: null,
      pausedReason: null,
      pausedUntil: null,
      nextFireAt: next === null ? null : new Date(next),
      invalidReason: check.ok ? null : check.reason,
    })
    .where(eq(schedules.id, record.id))
    .returning();
  return row!;
}

/** Set `enabled` and the next fire that goes with it. */
export async function writeEnabled(
  tx: Db,
  id: number,
  enabled: boolean,
  nextFireAt: Date | null,
): Promise<ScheduleRecord> {
  const [row] = await tx
    .update(schedules)
    .set({ enabled, nextFireAt })
    .where(eq(schedules.id, id))
    .returning();
  return row!;
}

/**
 * Overwrite a schedule's definition and clear its verdict: an operator's edit of a database-owned
 * row, or `beat sync` restoring a code-owned one from its declaration (then `source`, the file that
 * declares it, is written too). `nextFireAt` undefined keeps the cursor where it is.
 */
export async function writeDefinition(
  tx: Db,
  id: number,
  fields: ScheduleFields,
  nextFireAt: number | null | undefined,
  source?: string,
): Promise<ScheduleRecord> {
  const [row] = await tx
    .update(schedules)
    .set({
      ...fields,
      ...(source === undefined ? {} : { source }),
      invalidReason: null,
      ...(nextFireAt === undefined ? {} : { nextFireAt: nextFireAt === null ? null : new Date(nextFireAt) }),
    })
    .where(eq(schedules.id, id))
    .returning();
  return row!;
}

/** Delete a schedule; its occurrences have no foreign key and stay, found by name. */
export async function deleteSchedule(tx: Db, id: number): Promise<void> {
  await tx.delete(schedules).where(eq(schedules.id, id));
}

/** Every row, in no particular order: what `beat sync` plans against, under its advisory lock. */
export async function allSchedules(tx: Db): Promise<ScheduleRecord[]> {
  return tx.select().from(schedules);
}

/**
 * The earliest end of a pause with an end (`beat pause --until`), database ms; null when none is
 * pending. The leader wakes for it (src/beat/pause-ends.ts); a small partial index answers it.
 */
export async function nextPauseEnd(database: Database): Promise<number | null> {
  const [row] = await database.rows<{ ms: number | string | null }>(
    sql`select (extract(epoch from min(paused_until)) * 1000)::float8 as ms
        from metronome.schedules where paused_until is not null`,
  );
  return row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
}

/**
 * Paused rows whose pause has ended by `now` (database ms), locked `FOR UPDATE SKIP LOCKED` for the
 * transaction `tx` (an operator acting on one meanwhile keeps it: it is looked at again after).
 */
export async function lockEndedPauses(tx: Db, now: number, limit: number): Promise<ScheduleRecord[]> {
  return tx
    .select()
    .from(schedules)
    .where(and(isNotNull(schedules.pausedUntil), lte(schedules.pausedUntil, new Date(now))))
    .orderBy(asc(schedules.pausedUntil))
    .limit(limit)
    .for('update', { skipLocked: true });
}
