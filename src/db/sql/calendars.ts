/**
 * Every statement on `metronome.calendars` and `metronome.calendar_days` (migration 0014).
 *
 * Reads come back as {@link CalendarSpec}s (the time engine's shape) and as a lookup that compiles
 * them; a calendar stored with a bad value (a person's SQL) is left out of the lookup, so the
 * schedules naming it are quarantined with the reason rather than fired on a wrong calendar.
 * Writes never touch schedules: the table's triggers turn any change of a calendar or its days into
 * an edit of every schedule that names it (their calendar_revision), which is how it reaches the
 * leader, live.
 */
import { and, asc, eq, inArray, sql } from 'drizzle-orm';
import type { ManagedBy } from '../../model/index.ts';
import { Calendar, type CalendarDayRange, type CalendarLookup, ScheduleSpecError } from '../../time/index.ts';
import type { Db } from '../database.ts';
import { type CalendarRow, calendarDays, calendars, schedules } from '../schema.ts';

/** A calendar as stored: its spec, and who owns it. */
export interface StoredCalendar {
  spec: { name: string; days: CalendarDayRange[]; weekdays: number[] };
  description: string | null;
  managedBy: ManagedBy;
  source: string | null;
  version: number;
  updatedAt: Date;
}

/** The calendars with these names (every calendar when `names` is undefined), by name. */
export async function readCalendars(db: Db, names?: readonly string[]): Promise<Map<string, StoredCalendar>> {
  const out = new Map<string, StoredCalendar>();
  if (names !== undefined && names.length === 0) return out;
  const where = names === undefined ? undefined : inArray(calendars.name, [...names]);
  const rows = await db.select().from(calendars).where(where).orderBy(asc(calendars.name));
  if (rows.length === 0) return out;
  const days = await db
    .select()
    .from(calendarDays)
    .where(
      inArray(
        calendarDays.calendar,
        rows.map((r) => r.name),
      ),
    )
    .orderBy(asc(calendarDays.calendar), asc(calendarDays.firstDay));
  for (const row of rows) out.set(row.name, stored(row));
  for (const d of days) {
    out
      .get(d.calendar)
      ?.spec.days.push({ from: d.firstDay, to: d.lastDay, ...(d.label ? { label: d.label } : {}) });
  }
  return out;
}

function stored(row: CalendarRow): StoredCalendar {
  return {
    spec: { name: row.name, days: [], weekdays: [...row.weekdays].sort() },
    description: row.description,
    managedBy: row.managedBy,
    source: row.source,
    version: row.version,
    updatedAt: row.updatedAt,
  };
}

/**
 * A lookup over the calendars these schedules name, read now (one query for the calendars, one for
 * their days; nothing when no schedule names one). A calendar whose stored value does not compile
 * is missing from it, and `problems` says why.
 */
export async function calendarLookup(
  db: Db,
  names: Iterable<string>,
): Promise<{ lookup: CalendarLookup; problems: Map<string, string> }> {
  const wanted = [...new Set(names)];
  const compiled = new Map<string, Calendar>();
  const problems = new Map<string, string>();
  if (wanted.length === 0) return { lookup: () => undefined, problems };
  for (const [name, calendar] of await readCalendars(db, wanted)) {
    try {
      compiled.set(name, Calendar.compile(calendar.spec));
    } catch (error) {
      if (!(error instanceof ScheduleSpecError)) throw error;
      problems.set(name, error.message);
    }
  }
  const lookup: CalendarLookup = (name) => {
    const problem = problems.get(name);
    if (problem !== undefined) {
      throw new ScheduleSpecError(
        'calendars',
        name,
        `the calendar's stored days or weekdays are invalid (${problem})`,
        'a valid calendar: fix its rows in metronome.calendars / calendar_days, or beat calendar import it again',
      );
    }
    return compiled.get(name);
  };
  return { lookup, problems };
}

/** A lookup over the calendars these rows name (nothing is read when they name none). */
export async function calendarsOf(
  db: Db,
  rows: ReadonlyArray<{ calendars?: readonly string[] | null }>,
): Promise<CalendarLookup> {
  return (await calendarLookup(db, namedCalendars(rows))).lookup;
}

/** The calendar names a set of schedule rows uses. */
export function namedCalendars(rows: ReadonlyArray<{ calendars?: readonly string[] | null }>): string[] {
  const names = new Set<string>();
  for (const row of rows) for (const name of row.calendars ?? []) names.add(name);
  return [...names];
}

/** Create or replace a calendar's row (not its days), keeping its creation time. */
export async function upsertCalendar(
  db: Db,
  name: string,
  fields: { weekdays: number[]; description: string | null; managedBy: ManagedBy; source: string | null },
): Promise<void> {
  await db
    .insert(calendars)
    .values({ name, ...fields })
    .onConflictDoUpdate({ target: calendars.name, set: fields });
}

/** Replace a calendar's days with these, in one statement each way (one edit for the schedules). */
export async function replaceCalendarDays(
  db: Db,
  name: string,
  days: readonly CalendarDayRange[],
): Promise<void> {
  await db.delete(calendarDays).where(eq(calendarDays.calendar, name));
  await insertCalendarDays(db, name, days);
}

/**
 * Add days (ranges) to a calendar; a range starting on a day that already starts one replaces it.
 * Returns how many rows were written.
 */
export async function insertCalendarDays(
  db: Db,
  name: string,
  days: readonly CalendarDayRange[],
): Promise<number> {
  if (days.length === 0) return 0;
  const rows = await db
    .insert(calendarDays)
    .values(days.map((d) => ({ calendar: name, firstDay: d.from, lastDay: d.to, label: d.label ?? null })))
    .onConflictDoUpdate({
      target: [calendarDays.calendar, calendarDays.firstDay],
      set: { lastDay: sql`excluded.last_day`, label: sql`excluded.label` },
    })
    .returning({ first: calendarDays.firstDay });
  return rows.length;
}

/**
 * Take a day out of a calendar: a one-day entry is deleted; a range that covers it is split
 * around it. Returns whether any entry covered the day.
 */
export async function removeCalendarDay(db: Db, name: string, day: string): Promise<boolean> {
  const covering = await db
    .select()
    .from(calendarDays)
    .where(
      and(
        eq(calendarDays.calendar, name),
        sql`${calendarDays.firstDay} <= ${day}::date and ${calendarDays.lastDay} >= ${day}::date`,
      ),
    );
  if (covering.length === 0) return false;
  await db.delete(calendarDays).where(
    and(
      eq(calendarDays.calendar, name),
      inArray(
        calendarDays.firstDay,
        covering.map((c) => c.firstDay),
      ),
    ),
  );
  const pieces: CalendarDayRange[] = [];
  for (const c of covering) {
    const label = c.label ?? undefined;
    if (c.firstDay < day)
      pieces.push({ from: c.firstDay, to: shiftDay(day, -1), ...(label ? { label } : {}) });
    if (c.lastDay > day) pieces.push({ from: shiftDay(day, 1), to: c.lastDay, ...(label ? { label } : {}) });
  }
  await insertCalendarDays(db, name, pieces);
  return true;
}

/** Delete a calendar and its days; false when there was none. */
export async function deleteCalendar(db: Db, name: string): Promise<boolean> {
  const rows = await db.delete(calendars).where(eq(calendars.name, name)).returning({ name: calendars.name });
  return rows.length > 0;
}

/** The calendar's row locked for the transaction; undefined when there is none. */
export async function lockCalendarIfAny(db: Db, name: string): Promise<CalendarRow | undefined> {
  const [row] = await db.select().from(calendars).where(eq(calendars.name, name)).for('update');
  return row;
}

/** The schedules that name this calendar, with their versions (after an edit: the versions it left). */
export async function schedulesNamingCalendar(
  db: Db,
  name: string,
): Promise<Array<{ name: string; version: number }>> {
  return db
    .select({ name: schedules.name, version: schedules.version })
    .from(schedules)
    .where(sql`${schedules.calendars} @> array[${name}]::text[]`)
    .orderBy(asc(schedules.name));
}

/** The names of the schedules that name this calendar, by name. */
export async function schedulesUsingCalendar(db: Db, name: string): Promise<string[]> {
  const rows = await db
    .select({ name: schedules.name })
    .from(schedules)
    .where(sql`${schedules.calendars} @> array[${name}]::text[]`)
    .orderBy(asc(schedules.name));
  return rows.map((r) => r.name);
}

function shiftDay(day: string, by: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + by * 86_400_000).toISOString().slice(0, 10);
}
