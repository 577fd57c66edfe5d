/**
 * The operators' edits of business calendars kept in the database (`managed_by = 'db'`): import
 * an `.ics` file's days, add or take out a day, set the excluded weekdays, delete. A calendar
 * declared in code (`defineCalendar`) is refused with the file to edit instead. Each edit is one
 * transaction, and (through the tables' triggers, migration 0014) an edit of every schedule that
 * names the calendar: the leader re-plans them, live.
 *
 * Deleting a calendar that schedules still name is refused unless forced: those schedules would be
 * quarantined until it exists again.
 */
import type { Database, Db } from '../db/database.ts';
import type { CalendarRow } from '../db/schema.ts';
import { type Actor, recordActions } from '../db/sql/audit.ts';
import {
  deleteCalendar,
  insertCalendarDays,
  lockCalendarIfAny,
  readCalendars,
  removeCalendarDay,
  replaceCalendarDays,
  schedulesNamingCalendar,
  schedulesUsingCalendar,
  upsertCalendar,
} from '../db/sql/calendars.ts';
import {
  Calendar,
  type CalendarDayRange,
  calendarName,
  formatCivilDay,
  parseCivilDay,
  ScheduleSpecError,
} from '../time/index.ts';
import { OperationError } from './errors.ts';

export interface CalendarEdit {
  name: string;
  /** Whether the calendar was created by this edit. */
  created: boolean;
  /** Excluded days (rows) after the edit. */
  days: number;
  /** The schedules that name it: each re-planned. */
  schedules: string[];
}

function notFound(name: string): OperationError {
  return new OperationError(
    'not_found',
    `no calendar named ${JSON.stringify(name)} (beat calendar list shows them; beat calendar add-day or import creates one)`,
  );
}

function invalid(error: unknown): never {
  if (error instanceof ScheduleSpecError) throw new OperationError('invalid', error.message);
  throw error;
}

/** The calendar, locked, refused when code owns it; undefined when there is none. */
async function lockOwned(tx: Db, name: string): Promise<CalendarRow | undefined> {
  const row = await lockCalendarIfAny(tx, name);
  if (row?.managedBy === 'code') {
    throw new OperationError(
      'managed_by_code',
      `calendar ${JSON.stringify(name)} is declared in code (${row.source ?? 'schedules/*.ts'}): edit it there and run 'beat sync'`,
    );
  }
  return row;
}

/** Create the calendar, or set what is given; whether it was created. */
async function ensure(
  tx: Db,
  name: string,
  weekdays?: number[],
  description?: string | null,
): Promise<boolean> {
  const row = await lockOwned(tx, name);
  if (row && weekdays === undefined && description === undefined) return false;
  await upsertCalendar(tx, name, {
    weekdays: weekdays ?? [...(row?.weekdays ?? [])],
    description: description === undefined ? (row?.description ?? null) : description,
    managedBy: 'db',
    source: row?.source ?? null,
  });
  return row === undefined;
}

/** What changed, for an edit's audit records. */
export type Change = 'import' | 'add-day' | 'remove-day' | 'weekdays' | 'delete';

/**
 * The edit's answer, and its audit records, in its transaction: one `calendar` record for each
 * schedule that names the calendar (the edit is an edit of each: who made it, and the version it left).
 */
async function finish(
  database: Database,
  tx: Db,
  actor: Actor,
  name: string,
  created: boolean,
  change: Change,
  detail: Record<string, unknown> = {},
): Promise<CalendarEdit> {
  const stored = (await readCalendars(tx, [name])).get(name);
  const named = await schedulesNamingCalendar(tx, name);
  await recordActions(
    database,
    tx,
    actor,
    named.map((s) => ({
      name: s.name,
      action: 'calendar' as const,
      detail: { calendar: name, change, version: s.version, ...detail },
    })),
  );
  return { name, created, days: stored?.spec.days.length ?? 0, schedules: named.map((s) => s.name) };
}

/** Checked days (`YYYY-MM-DD` ranges), ready to store; refuses any that would not compile. */
export function checkDays(days: readonly CalendarDayRange[]): CalendarDayRange[] {
  try {
    Calendar.compile({ name: 'check', days });
    return days.map((d) => ({
      from: formatCivilDay(parseCivilDay(d.from, 'from')),
      to: formatCivilDay(parseCivilDay(d.to, 'to')),
      ...(d.label ? { label: d.label } : {}),
    }));
  } catch (error) {
    invalid(error);
  }
}

/** Checked weekdays (0–6, names allowed), ascending. */
export function checkWeekdays(weekdays: ReadonlyArray<number | string>): number[] {
  try {
    const mask = Calendar.compile({ name: 'check', weekdays }).weekdayMask;
    return [0, 1, 2, 3, 4, 5, 6].filter((d) => (mask & (1 << d)) !== 0);
  } catch (error) {
    invalid(error);
  }
}

function checkName(name: string): string {
  try {
    return calendarName(name);
  } catch (error) {
    invalid(error);
  }
}

/**
 * One calendar edit, as a step inside a transaction: what it did, for the answer and the audit
 * records. Steps are applied ({@link applyCalendarEdit}) or previewed and rolled back
 * (src/observe/calendar-preview.ts).
 */
export interface CalendarStep {
  /** The calendar it edits. */
  name: string;
  run(tx: Db): Promise<{ created: boolean; change: Change; detail?: Record<string, unknown> }>;
}

/** Apply a step: one transaction, audit records on each schedule naming the calendar. */
export function applyCalendarEdit(
  database: Database,
  step: CalendarStep,
  actor: Actor,
): Promise<CalendarEdit> {
  return database.db.transaction(async (tx) => {
    const done = await step.run(tx);
    return finish(database, tx, actor, step.name, done.created, done.change, done.detail);
  });
}

/**
 * Import days into a calendar (created if missing): by default they replace the calendar's days
 * (the file is the truth: importing it again changes nothing); with `merge`, they are added.
 */
export function importDaysStep(
  name: string,
  days: readonly CalendarDayRange[],
  options: { merge?: boolean; weekdays?: number[]; description?: string | null } = {},
): CalendarStep {
  checkName(name);
  const checked = checkDays(days);
  return {
    name,
    async run(tx) {
      const created = await ensure(tx, name, options.weekdays, options.description);
      if (options.merge) await insertCalendarDays(tx, name, checked);
      else await replaceCalendarDays(tx, name, checked);
      return { created, change: 'import', detail: { days: checked.length, merge: options.merge ?? false } };
    },
  };
}

/** Exclude a day or an inclusive range (created if missing). */
export function addDaysStep(name: string, range: CalendarDayRange): CalendarStep {
  checkName(name);
  const [checked] = checkDays([range]);
  return {
    name,
    async run(tx) {
      const created = await ensure(tx, name);
      await insertCalendarDays(tx, name, [checked!]);
      return { created, change: 'add-day', detail: { from: checked!.from, to: checked!.to } };
    },
  };
}

/** Allow a day again (a range holding it is split around it). */
export function removeDayStep(name: string, day: string): CalendarStep {
  const [checked] = checkDays([{ from: day, to: day }]);
  return {
    name,
    async run(tx) {
      if (!(await lockOwned(tx, name))) throw notFound(name);
      if (!(await removeCalendarDay(tx, name, checked!.from))) {
        throw new OperationError(
          'not_found',
          `calendar ${JSON.stringify(name)} does not exclude ${checked!.from} (beat calendar show ${name} lists its days)`,
        );
      }
      return { created: false, change: 'remove-day', detail: { day: checked!.from } };
    },
  };
}

/** Set the excluded weekdays (created if missing). */
export function weekdaysStep(name: string, weekdays: ReadonlyArray<number | string>): CalendarStep {
  checkName(name);
  const checked = checkWeekdays(weekdays);
  return {
    name,
    async run(tx) {
      const created = await ensure(tx, name, checked);
      return { created, change: 'weekdays', detail: { weekdays: checked } };
    },
  };
}

/** Delete a calendar; refused while schedules name it, unless `force` (they are quarantined then). */
export function deleteStep(name: string, options: { force?: boolean } = {}): CalendarStep {
  return {
    name,
    async run(tx) {
      if (!(await lockOwned(tx, name))) throw notFound(name);
      const schedules = await schedulesUsingCalendar(tx, name);
      if (schedules.length > 0 && !options.force) {
        throw new OperationError(
          'conflict',
          `calendar ${JSON.stringify(name)} is named by ${schedules.map((s) => JSON.stringify(s)).join(', ')}: take it out of their calendars first, or delete with --force (they are quarantined until it exists again)`,
        );
      }
      await deleteCalendar(tx, name);
      return { created: false, change: 'delete' };
    },
  };
}

/** {@link importDaysStep}, applied. */
export function importCalendarDays(
  database: Database,
  name: string,
  days: readonly CalendarDayRange[],
  actor: Actor,
  options: { merge?: boolean; weekdays?: number[]; description?: string | null } = {},
): Promise<CalendarEdit> {
  return applyCalendarEdit(database, importDaysStep(name, days, options), actor);
}

/** {@link deleteStep}, applied. */
export function removeCalendar(
  database: Database,
  name: string,
  actor: Actor,
  options: { force?: boolean } = {},
): Promise<CalendarEdit> {
  return applyCalendarEdit(database, deleteStep(name, options), actor);
}
