/**
 * The time engine's one entry point: validate a schedule spec and compile it into something that
 * answers "when is the next fire strictly after this instant?". Everything here is pure; invalid
 * input of any shape raises {@link ScheduleSpecError} and nothing else.
 */
import { type Calendar, type CalendarAction, parseCalendarAction } from './calendar.ts';
import { withCalendars } from './calendar-schedule.ts';
import { ClockedSchedule } from './clocked.ts';
import { CronSchedule, type DstEffect, type DstNote } from './cron.ts';
import { type CeleryCrontab, parseCeleryCrontab, parseCronString } from './cron-fields.ts';
import { type DstPolicy, type DstPolicyInput, parseDstPolicy } from './dst.ts';
import { parseDuration } from './duration.ts';
import { ScheduleSpecError } from './errors.ts';
import { IntervalSchedule } from './interval.ts';
import { SOLAR_EVENTS, type SolarEvent, SolarSchedule } from './solar.ts';
import { ZoneRules } from './zone.ts';

/** An instant as the API accepts it: a Date, epoch milliseconds, or an ISO 8601 string with an offset. */
export type InstantInput = Date | number | string;

export interface CrontabSpec {
  kind: 'crontab';
  /** A cron string, or Celery's object form (all fields must match). */
  cron: string | CeleryCrontab;
  /** IANA time zone the expression is read in; required. */
  timezone: string;
  /** What a local time that occurs twice or not at all does (src/time/dst.ts); default by the hour field. */
  dst?: DstPolicyInput | null;
}
export interface IntervalSpec {
  kind: 'interval';
  /** Milliseconds (at least 1 s) or a duration string such as `'15m'`. */
  every: number | string;
  /** Grid anchor; default the Unix epoch. */
  anchor?: InstantInput | null;
}
export interface SolarSpec {
  kind: 'solar';
  event: SolarEvent;
  latitude: number;
  longitude: number;
}
export interface ClockedSpec {
  kind: 'clocked';
  runAt: InstantInput;
}
/** Business calendars, for any kind: the calendars that exclude days, and what an excluded fire does. */
export interface CalendarFields {
  /** Names of the calendars whose excluded days this schedule does not fire on. */
  calendars?: readonly string[] | null;
  /** What a fire on an excluded day does: `skip` (default), or move to the `previous`/`next` allowed day. */
  onExcluded?: CalendarAction | null;
}
/** A spec of one of the kinds; compileSchedule also reads {@link CalendarFields} beside its fields. */
export type ScheduleSpec = CrontabSpec | IntervalSpec | SolarSpec | ClockedSpec;
export type ScheduleKind = ScheduleSpec['kind'];
export const SCHEDULE_KINDS: readonly ScheduleKind[] = ['crontab', 'interval', 'solar', 'clocked'];

export interface CompileOptions {
  /** The schedule's name: seeds `H` in cron fields. */
  name?: string;
  /** The calendars a spec's `calendars` names are looked up in. */
  calendars?: CalendarLookup;
}

/** Where calendars are found by name: compiled ones, or specs compiled on use. */
export type CalendarLookup = (name: string) => Calendar | undefined;

/** How a calendar changed one of the base schedule's slots (src/time/calendar-schedule.ts). */
export interface CalendarMark {
  /** The slot the schedule's own rule gives. */
  slot: number;
  /** `skipped`: not fired; `moved`: fired at `to` instead (which may be another fire too). */
  kind: 'skipped' | 'moved';
  to: number | null;
  /** The first calendar that excludes the day. */
  calendar: string;
  /** The excluded civil day, in the schedule's zone: `YYYY-MM-DD`. */
  day: string;
  /** Why the day is excluded, when the calendar says (a holiday's name). */
  label?: string;
}

/** A validated, compiled schedule. Instants are epoch milliseconds. */
export interface Schedule {
  readonly kind: ScheduleKind;
  /** The zone its fires are best shown in (the crontab's zone; UTC for the other kinds). */
  readonly timezone: string;
  /** The first fire strictly after `after`, or null when there is none (clocked done, solar dormant). */
  next(after: number): number | null;
  /** The fires strictly after `after`, in order. */
  fires(after: number): Generator<number, void, undefined>;
  /** How DST moved a fire returned by next(), for display; undefined when it did not. */
  explain(at: number): DstNote | undefined;
  /** A crontab's DST policy, in full (defaults filled in); undefined for the other kinds. */
  readonly dst?: DstPolicy;
  /** What the DST policy does at the clock changes in (after, until]; empty for the other kinds. */
  dstEffects(after: number, until: number): DstEffect[];
  /** The base slots in (after, until] that calendars skipped or moved; empty without calendars. */
  calendarMarks(after: number, until: number): CalendarMark[];
  /** The calendars it names and what an excluded fire does; undefined without calendars. */
  readonly calendars?: { readonly names: readonly string[]; readonly action: CalendarAction };
}

export const MIN_INTERVAL_MS = 1_000;
const MAX_INTERVAL_MS = 100 * 366 * 86_400_000;

export function compileSchedule(spec: unknown, options: CompileOptions = {}): Schedule {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    throw new ScheduleSpecError(
      'schedule',
      spec,
      'not a schedule spec object',
      `an object with kind ${KINDS}`,
    );
  }
  const s = spec as Record<string, unknown>;
  return applyCalendars(compileBase(s, options), s, options.calendars);
}

/**
 * A compiled schedule seen through the calendars a spec names (`calendars`, `onExcluded`); the
 * schedule itself when it names none. Throws {@link ScheduleSpecError} for a name `lookup` does not
 * know, a list that is not one, or an unknown action.
 */
export function applyCalendars(
  base: Schedule,
  spec: { calendars?: unknown; onExcluded?: unknown },
  lookup: CalendarLookup | undefined,
): Schedule {
  const names = calendarNames(spec.calendars);
  const action = parseCalendarAction(spec.onExcluded);
  if (names.length === 0) return base;
  const calendars = names.map((name, index) => {
    const calendar = lookup?.(name);
    if (!calendar) {
      throw new ScheduleSpecError(
        `calendars[${index}]`,
        name,
        'no calendar has this name',
        'the name of an existing calendar (beat calendar list): create it (beat calendar add-day or import, or defineCalendar in schedules/*.ts), or leave it out of calendars',
      );
    }
    return calendar;
  });
  return withCalendars(base, { calendars, action });
}

function calendarNames(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
    throw new ScheduleSpecError(
      'calendars',
      value,
      'not a list of calendar names',
      'an array of names, such as ["weekends", "holidays-de"]',
    );
  }
  const seen = new Set<string>();
  for (const name of value as string[]) {
    if (seen.has(name)) {
      throw new ScheduleSpecError('calendars', value, `"${name}" is named twice`, 'each calendar once');
    }
    seen.add(name);
  }
  return value as string[];
}

function compileBase(s: Record<string, unknown>, options: CompileOptions): Schedule {
  if (s.kind !== 'crontab' && s.dst !== undefined && s.dst !== null) {
    throw new ScheduleSpecError(
      'dst',
      s.dst,
      'applies to crontabs only',
      'leave it out: interval, solar and one-off schedules fire at instants, not local times',
    );
  }
  switch (s.kind) {
    case 'crontab':
      return compileCrontab(s, options);
    case 'interval': {
      const every = parseDuration(s.every, 'every');
      if (every < MIN_INTERVAL_MS || every > MAX_INTERVAL_MS) {
        throw new ScheduleSpecError(
          'every',
          s.every,
          every < MIN_INTERVAL_MS ? 'shorter than one second' : 'longer than 100 years',
          'a duration from 1s to 100 years, such as "30s", "15m" or 60000',
        );
      }
      const anchor = s.anchor === undefined || s.anchor === null ? 0 : parseInstant(s.anchor, 'anchor');
      const interval = new IntervalSchedule(every, anchor);
      return wrap('interval', 'UTC', (after) => interval.next(after));
    }
    case 'solar': {
      const event = s.event;
      if (typeof event !== 'string' || !(SOLAR_EVENTS as readonly string[]).includes(event)) {
        throw new ScheduleSpecError('event', event, 'not a solar event', SOLAR_EVENTS.join(', '));
      }
      const latitude = parseCoordinate(s.latitude, 'latitude', 90);
      const longitude = parseCoordinate(s.longitude, 'longitude', 180);
      const solar = new SolarSchedule(event as SolarEvent, latitude, longitude);
      return wrap('solar', 'UTC', (after) => solar.next(after));
    }
    case 'clocked': {
      const clocked = new ClockedSchedule(parseInstant(s.runAt, 'runAt'));
      return wrap('clocked', 'UTC', (after) => clocked.next(after));
    }
    default:
      throw new ScheduleSpecError('kind', s.kind, 'not a schedule kind', KINDS);
  }
}

const KINDS = SCHEDULE_KINDS.join(', ');

function compileCrontab(s: Record<string, unknown>, options: CompileOptions): Schedule {
  const zone = ZoneRules.get(s.timezone, 'timezone');
  const fields =
    typeof s.cron === 'object' && s.cron !== null
      ? parseCeleryCrontab(s.cron, options.name)
      : parseCronString(s.cron, options.name);
  const policy = parseDstPolicy(s.dst, fields.realTime);
  const cron = new CronSchedule(fields, zone, policy);
  return {
    ...wrap(
      'crontab',
      zone.name,
      (after) => cron.next(after),
      (at) => cron.explain(at),
    ),
    dst: cron.dst,
    dstEffects: (after, until) => cron.dstEffects(after, until),
  };
}

function wrap(
  kind: ScheduleKind,
  timezone: string,
  next: (after: number) => number | null,
  explain: (at: number) => DstNote | undefined = () => undefined,
): Schedule {
  return {
    kind,
    timezone,
    next,
    explain,
    dstEffects: () => [],
    calendarMarks: () => [],
    *fires(after: number) {
      for (let at = next(after); at !== null; at = next(at)) yield at;
    },
  };
}

function parseCoordinate(value: unknown, field: string, limit: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < -limit || value > limit) {
    throw new ScheduleSpecError(
      field,
      value,
      'out of range',
      `a number from -${limit} to ${limit} (degrees)`,
    );
  }
  return value;
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const INSTANT_ALLOWED = 'a Date, epoch milliseconds, or an ISO 8601 date-time with Z or an offset';

/** Parse an instant; strings must carry an offset so they never depend on the host's zone. */
export function parseInstant(value: unknown, field: string): number {
  let ms = Number.NaN;
  if (value instanceof Date) ms = value.getTime();
  else if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    if (!ISO_WITH_OFFSET.test(value.trim())) {
      throw new ScheduleSpecError(field, value, 'not an ISO 8601 date-time with an offset', INSTANT_ALLOWED);
    }
    ms = Date.parse(value.trim());
  }
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) {
    throw new ScheduleSpecError(field, value, 'not a valid instant', INSTANT_ALLOWED);
  }
  return ms;
}
