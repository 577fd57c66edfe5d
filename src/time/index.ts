/** The time engine: pure schedule math, no I/O. See docs/time.md. */

export {
  CALENDAR_ACTIONS,
  Calendar,
  type CalendarAction,
  type CalendarDayRange,
  type CalendarSpec,
  calendarName,
  formatCivilDay,
  MAX_CALENDAR_DAYS,
  MAX_RANGE_DAYS,
  parseCalendarAction,
  parseCivilDay,
} from './calendar.ts';
export { MAX_MOVE_DAYS, withCalendars } from './calendar-schedule.ts';
export { DAY, HOUR, MINUTE, SECOND } from './civil.ts';
export type { DstEffect, DstNote } from './cron.ts';
export type { CeleryCrontab, CronFields, CronFieldValue } from './cron-fields.ts';
export { CRON_MACROS, parseCeleryCrontab } from './cron-fields.ts';
export {
  DST_MISSING,
  DST_REPEATED,
  type DstMissing,
  type DstPolicy,
  type DstPolicyInput,
  type DstRepeated,
  defaultDstPolicy,
  formatDstPolicy,
  parseDstPolicy,
} from './dst.ts';
export { formatDuration, parseDuration } from './duration.ts';
export { ScheduleSpecError } from './errors.ts';
export { hashToUnit, jitterFor } from './jitter.ts';
export {
  applyCalendars,
  type CalendarFields,
  type CalendarLookup,
  type CalendarMark,
  type ClockedSpec,
  type CompileOptions,
  type CrontabSpec,
  compileSchedule,
  type InstantInput,
  type IntervalSpec,
  MIN_INTERVAL_MS,
  parseInstant,
  SCHEDULE_KINDS,
  type Schedule,
  type ScheduleKind,
  type ScheduleSpec,
  type SolarSpec,
} from './schedule.ts';
export { SOLAR_EVENTS, type SolarEvent } from './solar.ts';
export { resolveUntil } from './until.ts';
export { ZoneRules } from './zone.ts';
