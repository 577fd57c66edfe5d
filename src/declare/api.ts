/**
 * The declaration API users write `schedules/*.ts` with:
 *
 *   import { crontab, defineSchedule, every } from 'metronome';
 *   export const nightly = defineSchedule({
 *     name: 'reports.nightly',
 *     task: 'reports.nightly',
 *     schedule: crontab('30 2 * * *', { tz: 'Europe/Berlin' }),
 *   });
 *
 * Nothing here throws: declarations are checked together by `beat sync`, which reports every
 * problem in every file at once (file, schedule, field) instead of stopping at the first import.
 */
import type { Duration, ScheduleDeclarationInput } from '../model/index.ts';
import type {
  CeleryCrontab,
  ClockedSpec,
  CrontabSpec,
  DstPolicy,
  InstantInput,
  IntervalSpec,
  SolarEvent,
  SolarSpec,
} from '../time/index.ts';

/** Marks objects made by defineSchedule; a global symbol, so two copies of this module agree. */
const DECLARATION = Symbol.for('metronome.declaration');

export type ScheduleDeclaration = Readonly<ScheduleDeclarationInput> & { readonly [DECLARATION]: true };

/**
 * Declare a schedule. Export the result (named or default, alone or in an array) from a file in
 * `schedules/`; `beat sync` finds it there. Defaults: args `[]`, kwargs `{}`, queue null (routing
 * decides), enabled true, overlap `'skip'`, catchup `'latest'` within `'1h'`, no jitter.
 */
export function defineSchedule(declaration: ScheduleDeclarationInput): ScheduleDeclaration {
  return Object.freeze({ ...declaration, [DECLARATION]: true as const });
}

export function isScheduleDeclaration(value: unknown): value is ScheduleDeclaration {
  return (
    typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DECLARATION] === true
  );
}

export interface CrontabOptions {
  /** The IANA zone the expression is read in, e.g. `'Europe/Berlin'` or `'UTC'`. Required: a
   * silent default zone is how schedules end up an hour off twice a year. */
  tz: string;
  /**
   * What a local time that occurs twice (clocks go back) or not at all (clocks go forward) does:
   * `repeated` runs at the `'first'`, the `'second'` or `'both'`; `missing` is `'shift'`ed later by
   * the gap or `'skip'`ped. Default, by the hour field: a fixed hour (`'30 2 * * *'`) is
   * `{ repeated: 'first', missing: 'shift' }` (once a day, DST or not); an hour field starting with
   * `*` (every 15 minutes, say) is `{ repeated: 'both', missing: 'skip' }` (real time). A part left out
   * keeps its default. docs/time.md, "DST: one rule, and a policy per schedule".
   */
  dst?: Partial<DstPolicy>;
}

/**
 * A crontab: a cron string (`'30 2 * * *'`, 6 fields with seconds, `'@daily'`, `H` hashed) with
 * standard cron day matching, or Celery's object form `{ minute, hour, dayOfWeek, dayOfMonth,
 * monthOfYear }`, where all fields must match (Celery's rule).
 */
export function crontab(expression: string | CeleryCrontab, options: CrontabOptions): CrontabSpec {
  const spec: CrontabSpec = { kind: 'crontab', cron: expression, timezone: options?.tz };
  if (options?.dst !== undefined) spec.dst = options.dst;
  return spec;
}

export interface EveryOptions {
  /** Where the grid starts; default the Unix epoch, so `every('5m')` fires at :00, :05, ... */
  anchor?: InstantInput;
}

/** An interval on a fixed grid (no drift): `every('15m')`, `every('1h30m')`, `every(60_000)` (ms). */
export function every(interval: Duration, options: EveryOptions = {}): IntervalSpec {
  return { kind: 'interval', every: interval, anchor: options.anchor ?? null };
}

/** A solar event at a place, e.g. `solar('sunset', 52.52, 13.405)`. Days without it are skipped. */
export function solar(event: SolarEvent, latitude: number, longitude: number): SolarSpec {
  return { kind: 'solar', event, latitude, longitude };
}

/**
 * A clocked (one-off) schedule: one run at an instant, a Date, epoch ms, or an ISO 8601 string with
 * an offset. `clocked` is the kind's one name (the stored kind, `beat list`, the API,
 * django-celery-beat's `ClockedSchedule`).
 */
export function clocked(instant: InstantInput): ClockedSpec {
  return { kind: 'clocked', runAt: instant };
}

/** The older name of {@link clocked}, kept so existing declaration files keep working. */
export const at = clocked;

/** Marks objects made by defineCalendar (a global symbol, like the schedules' marker). */
const CALENDAR = Symbol.for('metronome.calendar');

/** Everything a calendar declaration can say. Only `name` is required. */
export interface CalendarDeclarationInput {
  /** Unique name: schedules name it in `calendars`, `beat calendar` and the API show it. */
  name: string;
  /** Excluded weekdays: 0–6 (0 and 7 = Sunday) or names, e.g. `['sat', 'sun']`. */
  weekdays?: ReadonlyArray<number | string>;
  /** Excluded days: `'2026-12-25'`, or `{ from, to, label }` ranges (inclusive). */
  days?: ReadonlyArray<string | { from: string; to: string; label?: string }>;
  /** Free text for people. */
  description?: string | null;
}

export type CalendarDeclaration = Readonly<CalendarDeclarationInput> & { readonly [CALENDAR]: true };

/**
 * Declare a business calendar: days on which the schedules that name it do not fire (or from which
 * they move, by their `onExcluded`). Export it from a file in `schedules/`, and name it (or pass
 * the value) in a schedule's `calendars`:
 *
 *   export const weekends = defineCalendar({ name: 'weekends', weekdays: ['sat', 'sun'] });
 *   export const close = defineSchedule({ ..., schedule: crontab('0 9 L * *', { tz: 'Europe/Berlin' }),
 *     calendars: [weekends, 'holidays-de'], onExcluded: 'previous' }); // the last business day
 *
 * A calendar kept in the database instead (`beat calendar import NAME FILE.ics`) is named the same way.
 */
export function defineCalendar(declaration: CalendarDeclarationInput): CalendarDeclaration {
  return Object.freeze({ ...declaration, [CALENDAR]: true as const });
}

export function isCalendarDeclaration(value: unknown): value is CalendarDeclaration {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[CALENDAR] === true;
}
