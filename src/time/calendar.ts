/**
 * Business calendars: named sets of excluded civil days (single days, day ranges, weekdays). A
 * calendar says nothing about time zones: a day is a civil date, and the schedule that names the
 * calendar reads its fires' days in its own zone (src/time/calendar-schedule.ts). Pure; bad input
 * raises {@link ScheduleSpecError} naming the calendar field.
 */
import { civilFromDays, DAY, daysFromCivil, daysInMonth, weekdayOfDays } from './civil.ts';
import { ScheduleSpecError } from './errors.ts';

/** A calendar as declared or stored: days are `YYYY-MM-DD`, weekdays 0 = Sunday … 6 = Saturday. */
export interface CalendarSpec {
  name: string;
  /** Excluded days, each one day or an inclusive range. */
  days?: ReadonlyArray<string | CalendarDayRange>;
  /** Excluded weekdays: 0–6 (0 = Sunday, 7 also Sunday) or names such as `'sat'`. */
  weekdays?: ReadonlyArray<number | string>;
}

export interface CalendarDayRange {
  from: string;
  /** Inclusive. */
  to: string;
  /** Why the days are excluded (a holiday's name), for display. */
  label?: string;
}

/** What a schedule does with a fire that falls on an excluded day. */
export const CALENDAR_ACTIONS = ['skip', 'previous', 'next'] as const;
export type CalendarAction = (typeof CALENDAR_ACTIONS)[number];

/** The longest day range one entry may hold, and the most excluded days a calendar may hold. */
export const MAX_RANGE_DAYS = 3_660;
export const MAX_CALENDAR_DAYS = 100_000;

const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A compiled calendar: answers "is this civil day excluded?" in constant time. */
export class Calendar {
  readonly name: string;
  readonly #days: ReadonlySet<number>;
  readonly #weekdays: number;
  readonly #labels: ReadonlyMap<number, string>;

  private constructor(
    name: string,
    days: ReadonlySet<number>,
    weekdays: number,
    labels: ReadonlyMap<number, string>,
  ) {
    this.name = name;
    this.#days = days;
    this.#weekdays = weekdays;
    this.#labels = labels;
  }

  /** Compile a spec; throws {@link ScheduleSpecError} naming `calendar NAME`'s bad field. */
  static compile(spec: CalendarSpec): Calendar {
    const name = calendarName(spec.name);
    const days = new Set<number>();
    const labels = new Map<number, string>();
    for (const [index, entry] of (spec.days ?? []).entries()) {
      const field = `days[${index}]`;
      const [from, to] =
        typeof entry === 'string'
          ? [parseCivilDay(entry, field), parseCivilDay(entry, field)]
          : [parseCivilDay(entry?.from, `${field}.from`), parseCivilDay(entry?.to, `${field}.to`)];
      if (to < from || to - from >= MAX_RANGE_DAYS) {
        throw new ScheduleSpecError(
          `${field}.to`,
          typeof entry === 'string' ? entry : entry.to,
          to < from ? 'before the range starts' : `a range longer than ${MAX_RANGE_DAYS} days`,
          'an inclusive range of days: to on or after from, at most 10 years',
        );
      }
      const label = typeof entry === 'string' ? undefined : entry.label;
      for (let d = from; d <= to; d++) {
        days.add(d);
        if (label) labels.set(d, label);
      }
      if (days.size > MAX_CALENDAR_DAYS) {
        throw new ScheduleSpecError(
          'days',
          `${days.size} days`,
          'too many days',
          `at most ${MAX_CALENDAR_DAYS}`,
        );
      }
    }
    let weekdays = 0;
    for (const [index, value] of (spec.weekdays ?? []).entries()) {
      weekdays |= 1 << parseWeekday(value, `weekdays[${index}]`);
    }
    return new Calendar(name, days, weekdays, labels);
  }

  /** True when the civil day (days since 1970-01-01) is excluded. */
  excludes(day: number): boolean {
    return this.#days.has(day) || (this.#weekdays & (1 << weekdayOfDays(day))) !== 0;
  }

  /** Why the day is excluded, when its entry says (a holiday's name). */
  labelOf(day: number): string | undefined {
    return this.#labels.get(day);
  }

  /** The excluded weekdays as a bit mask (bit 0 = Sunday). */
  get weekdayMask(): number {
    return this.#weekdays;
  }
}

/** Several calendars read as one: a day is excluded when any of them excludes it. */
export class CalendarSet {
  readonly calendars: readonly Calendar[];

  /** False when the calendars together exclude all seven weekdays: then no day is ever allowed. */
  readonly allowsSomeDay: boolean;

  constructor(calendars: readonly Calendar[]) {
    this.calendars = calendars;
    this.allowsSomeDay = calendars.reduce((mask, c) => mask | c.weekdayMask, 0) !== 0b1111111;
  }

  /** The first calendar that excludes the day, or undefined when the day is allowed. */
  excludedBy(day: number): Calendar | undefined {
    for (const calendar of this.calendars) if (calendar.excludes(day)) return calendar;
    return undefined;
  }

  /**
   * The nearest allowed day from `day` (inclusive) in a direction, at most `limit` days away; null
   * when every day in between is excluded.
   */
  allowedDay(day: number, direction: 1 | -1, limit: number): number | null {
    for (let n = 0; n <= limit; n++) {
      const d = day + n * direction;
      if (!this.excludedBy(d)) return d;
    }
    return null;
  }
}

/** A calendar's name: the same rule as a schedule's (printable, not blank, at most 200 characters). */
export function calendarName(value: unknown): string {
  if (
    typeof value !== 'string' ||
    value.trim() === '' ||
    value.length > 200 ||
    /[\p{Cc}\p{Cs}]/u.test(value)
  ) {
    throw new ScheduleSpecError(
      'name',
      value,
      'not a calendar name',
      'printable text of 1 to 200 characters, such as "holidays-de"',
    );
  }
  return value;
}

/** `YYYY-MM-DD` → days since 1970-01-01. */
export function parseCivilDay(value: unknown, field: string): number {
  const match = typeof value === 'string' ? DAY_TEXT.exec(value.trim()) : null;
  const [year, month, day] = match ? [Number(match[1]), Number(match[2]), Number(match[3])] : [0, 0, 0];
  if (!match || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || year < 1900) {
    throw new ScheduleSpecError(
      field,
      value,
      'not a civil date',
      'a date written YYYY-MM-DD, such as "2026-12-25"',
    );
  }
  return daysFromCivil(year, month, day);
}

/** Days since 1970-01-01 → `YYYY-MM-DD`. */
export function formatCivilDay(day: number): string {
  const { year, month, day: d } = civilFromDays(day);
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The civil day of a wall-clock value (ms since 1970 read as UTC). */
export function dayOfWall(wall: number): number {
  return Math.floor(wall / DAY);
}

function parseWeekday(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 7) return value % 7;
  if (typeof value === 'string') {
    const index = WEEKDAY_NAMES.indexOf(value.trim().slice(0, 3).toLowerCase());
    if (index >= 0) return index;
    if (/^[0-7]$/.test(value.trim())) return Number(value.trim()) % 7;
  }
  throw new ScheduleSpecError(
    field,
    value,
    'not a weekday',
    '0-7 (0 and 7 = Sunday) or a name such as "sat"',
  );
}

/** The action a schedule takes for an excluded fire; throws naming `field`. */
export function parseCalendarAction(value: unknown, field = 'onExcluded'): CalendarAction {
  if (value === undefined || value === null) return 'skip';
  if (typeof value === 'string' && (CALENDAR_ACTIONS as readonly string[]).includes(value)) {
    return value as CalendarAction;
  }
  throw new ScheduleSpecError(
    field,
    value,
    'not an action for an excluded fire',
    `${CALENDAR_ACTIONS.join(', ')} (skip: not fired; previous/next: moved to the nearest allowed day)`,
  );
}
