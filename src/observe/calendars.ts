/**
 * Business calendars as the CLI, the API and the dashboard show them: who owns each, what it
 * excludes (weekdays, days with their labels), the next excluded days, and the schedules that name
 * it. Read-only.
 */
import type { Database } from '../db/database.ts';
import { readCalendars, type StoredCalendar, schedulesUsingCalendar } from '../db/sql/calendars.ts';
import { Calendar, type CalendarDayRange, formatCivilDay, ScheduleSpecError } from '../time/index.ts';

const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
/** How many upcoming excluded days a summary lists. */
const UPCOMING = 5;
/** How far ahead upcoming excluded days are looked for. */
const UPCOMING_REACH_DAYS = 2 * 366;

export interface CalendarSummary {
  name: string;
  managedBy: 'code' | 'db';
  /** The declaration file of a code-owned calendar. */
  source: string | null;
  description: string | null;
  /** Excluded weekdays, by name (`sat`, `sun`). */
  weekdays: string[];
  /** Excluded day entries (one day or a range each). */
  dayEntries: number;
  /** The next excluded days from `today` on (weekdays aside), with their labels. */
  upcoming: Array<{ day: string; label: string | null }>;
  /** Why the stored calendar cannot be used (a bad row edited with SQL); null when it can. */
  problem: string | null;
  version: number;
  updatedAt: string;
}

export interface CalendarDetail extends CalendarSummary {
  days: CalendarDayRange[];
  /** The schedules that name it. */
  schedules: string[];
}

/** Every calendar, by name; `today` is a civil day (days since 1970) for the upcoming days. */
export async function listCalendars(database: Database, today: number): Promise<CalendarSummary[]> {
  const stored = await readCalendars(database.db);
  return [...stored.values()].map((c) => summarize(c, today));
}

/** One calendar in full, or null when there is none. */
export async function calendarDetail(
  database: Database,
  name: string,
  today: number,
): Promise<CalendarDetail | null> {
  const stored = (await readCalendars(database.db, [name])).get(name);
  if (!stored) return null;
  return {
    ...summarize(stored, today),
    days: stored.spec.days,
    schedules: await schedulesUsingCalendar(database.db, name),
  };
}

function summarize(stored: StoredCalendar, today: number): CalendarSummary {
  let problem: string | null = null;
  let upcoming: CalendarSummary['upcoming'] = [];
  try {
    const calendar = Calendar.compile(stored.spec);
    const dayOnly = Calendar.compile({ ...stored.spec, weekdays: [] });
    for (let d = today; d < today + UPCOMING_REACH_DAYS && upcoming.length < UPCOMING; d++) {
      if (dayOnly.excludes(d)) upcoming.push({ day: formatCivilDay(d), label: calendar.labelOf(d) ?? null });
    }
  } catch (error) {
    if (!(error instanceof ScheduleSpecError)) throw error;
    problem = error.message;
    upcoming = [];
  }
  return {
    name: stored.spec.name,
    managedBy: stored.managedBy,
    source: stored.source,
    description: stored.description,
    weekdays: stored.spec.weekdays.map((d) => WEEKDAY_NAMES[d] ?? String(d)),
    dayEntries: stored.spec.days.length,
    upcoming,
    problem,
    version: stored.version,
    updatedAt: stored.updatedAt.toISOString(),
  };
}
