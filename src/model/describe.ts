/**
 * Schedules and instants in words, for people: the CLI's tables and the dashboard both show these,
 * so they live here, below both. Pure: no I/O, no clock.
 */
import {
  CRON_MACROS,
  type DstEffect,
  type DstNote,
  type DstPolicy,
  formatDuration,
  type Schedule,
  type ZoneRules,
} from '../time/index.ts';
import type { KindColumn, ScheduleRecord } from './schedule.ts';

/** `2026-03-29 03:30:00 +02:00` in the given zone. */
export function formatLocal(instant: number, zone: ZoneRules): string {
  if (!Number.isFinite(instant) || Math.abs(instant) > 8.64e15) return 'invalid';
  const offset = zone.offsetAt(instant);
  const wall = new Date(instant + offset).toISOString();
  return `${wall.slice(0, 10)} ${wall.slice(11, 19)} ${formatOffset(offset)}`;
}

export function formatOffset(offsetMs: number): string {
  const sign = offsetMs < 0 ? '-' : '+';
  const minutes = Math.round(Math.abs(offsetMs) / 60_000);
  const hh = String(Math.floor(minutes / 60)).padStart(2, '0');
  const mm = String(minutes % 60).padStart(2, '0');
  return `${sign}${hh}:${mm}`;
}

/** One short phrase for a DST mark, or '' when DST did not touch the fire. */
export function describeDst(note: DstNote | undefined): string {
  if (!note) return '';
  switch (note.kind) {
    case 'shifted':
      return `shifted: ${note.wall.slice(11)} does not exist (DST gap), runs ${formatDuration(note.byMs)} later`;
    case 'merged':
      return `merged: ${note.walls.map((w) => w.slice(11)).join(' and ')} land on one instant (DST gap), runs once`;
    case 'fold-first':
      return note.repeated === 'both'
        ? 'repeated hour (DST fall-back): first pass, runs at both'
        : 'repeated hour (DST fall-back): runs at the first occurrence only';
    case 'fold-second':
      return note.repeated === 'both'
        ? 'repeated hour (DST fall-back): second pass, runs at both'
        : 'repeated hour (DST fall-back): runs at the second occurrence only';
  }
}

/** A DST policy in words: `repeated times: first; missing times: shifted by the gap`. */
export function describeDstPolicy(policy: DstPolicy): string {
  const repeated = { first: 'the first', second: 'the second', both: 'both' }[policy.repeated];
  const missing = policy.missing === 'shift' ? 'shifted later by the gap' : 'skipped';
  return `a time that occurs twice runs at ${repeated}; a time that does not exist is ${missing}`;
}

/**
 * One clock change and what the policy does there, e.g. `2026-03-29 clocks +01:00 → +02:00: 02:30:00
 * does not exist: shifted, runs 03:30:00 +02:00 (01:30:00Z)`.
 */
export function describeDstEffect(effect: DstEffect, zone: ZoneRules): string {
  const day = new Date(effect.at + effect.offsetAfterMs).toISOString().slice(0, 10);
  const more = effect.count > effect.walls.length ? ` and ${effect.count - effect.walls.length} more` : '';
  const walls = `${effect.walls.map((w) => w.slice(11)).join(', ')}${more}`;
  const one = effect.count === 1;
  const what = effect.kind === 'gap' ? `do${one ? 'es' : ''} not exist` : `occur${one ? 's' : ''} twice`;
  const change = `${day} clocks ${formatOffset(effect.offsetBeforeMs)} → ${formatOffset(effect.offsetAfterMs)}`;
  const fires =
    effect.fires.length === 0
      ? 'no run'
      : `runs ${effect.fires.map((at) => `${formatLocal(at, zone).slice(11)} (${new Date(at).toISOString().slice(11, 19)}Z)`).join(', ')}`;
  return `${change}: ${walls} ${what}: ${effect.outcome}, ${fires}`;
}

/** `30 s`, `15 min`, `1 h 30 min`, `2 d`. */
function durationInWords(ms: number): string {
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['min', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)} ${unit}`);
      rest %= size;
    }
  }
  return parts.length === 0 ? '0 s' : parts.join(' ');
}

const SOLAR_WORDS: Record<string, string> = {
  dawn_astronomical: 'astronomical dawn',
  dawn_nautical: 'nautical dawn',
  dawn_civil: 'civil dawn',
  sunrise: 'sunrise',
  solar_noon: 'solar noon',
  sunset: 'sunset',
  dusk_civil: 'civil dusk',
  dusk_nautical: 'nautical dusk',
  dusk_astronomical: 'astronomical dusk',
};

/**
 * What a schedule does, as a person would say it: `every 30 s`, `02:30 Europe/Berlin`,
 * `Mon–Fri 09:00 UTC`, `sunset at 52.52, 13.40`, `once at 2030-01-01 09:00 UTC`. A cron expression
 * too unusual to put in words is shown as written, with its zone.
 */
export function specInWords(record: Pick<ScheduleRecord, KindColumn>): string {
  switch (record.kind) {
    case 'interval':
      if (record.everyMs === null) return 'every ?';
      return `every ${durationInWords(record.everyMs)}${
        record.anchorAt ? ` from ${utcMinute(record.anchorAt.getTime())}` : ''
      }`;
    case 'solar':
      return `${SOLAR_WORDS[record.solarEvent ?? ''] ?? record.solarEvent ?? '?'} at ${coordinate(
        record.latitude,
      )}, ${coordinate(record.longitude)}`;
    case 'clocked':
      return record.runAt ? `once at ${utcMinute(record.runAt.getTime())}` : 'once at ?';
    case 'crontab': {
      const words = record.cronFields ? celeryInWords(record.cronFields) : cronInWords(record.cron ?? '');
      // Every second or minute is the same in every zone; anything else is read in the zone.
      return ZONELESS.test(words) ? words : `${words} ${record.timezone ?? '?'}`;
    }
    default:
      return `unknown kind ${JSON.stringify(record.kind)}`;
  }
}

const ZONELESS = /^every (second|minute|\d+ s)$/;

function coordinate(value: number | null): string {
  return value === null ? '?' : value.toFixed(2);
}

function utcMinute(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, iso.endsWith(':00.000Z') ? 16 : 19)} UTC`;
}

interface CronParts {
  second: string;
  minute: string;
  hour: string;
  dayOfMonth: string;
  month: string;
  dayOfWeek: string;
}

/** A cron string in words (standard cron: day-of-month OR day-of-week when both are restricted). */
function cronInWords(expression: string): string {
  const text = expression.trim();
  const fields = (CRON_MACROS[text.toLowerCase()] ?? text).split(/\s+/);
  if (fields.length !== 5 && fields.length !== 6) return text;
  const [second, minute, hour, dayOfMonth, month, dayOfWeek] =
    fields.length === 6 ? fields : ['0', ...fields];
  const words = partsInWords({ second, minute, hour, dayOfMonth, month, dayOfWeek } as CronParts, 'or');
  return words ?? text;
}

/** Celery's object form in words (all fields must match, Celery's rule). */
function celeryInWords(fields: Record<string, unknown>): string {
  const field = (key: string) => {
    const value = fields[key];
    if (value === undefined || value === null) return '*';
    return Array.isArray(value) ? value.join(',') : String(value);
  };
  const parts: CronParts = {
    second: '0',
    minute: field('minute'),
    hour: field('hour'),
    dayOfMonth: field('dayOfMonth'),
    month: field('monthOfYear'),
    dayOfWeek: field('dayOfWeek'),
  };
  return (
    partsInWords(parts, 'and') ??
    Object.entries(fields)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(' ')
  );
}

const NUMBER = /^\d{1,2}$/;
const STEP = /^(?:\*|0)\/(\d+)$/;

/** The common shapes in words; null for anything else (shown as written). */
function partsInWords(p: CronParts, dayRule: 'or' | 'and'): string | null {
  const everyDay = p.dayOfMonth === '*' && p.month === '*' && p.dayOfWeek === '*';
  if (p.second === '*' && p.minute === '*' && p.hour === '*' && everyDay) return 'every second';
  const secondStep = STEP.exec(p.second);
  if (secondStep && p.minute === '*' && p.hour === '*' && everyDay) return `every ${secondStep[1]} s`;
  if (!NUMBER.test(p.second)) return null;
  if (p.minute === '*' && p.hour === '*' && everyDay && p.second === '0') return 'every minute';
  const minuteStep = STEP.exec(p.minute);
  if (minuteStep && p.hour === '*' && everyDay && p.second === '0') return `every ${minuteStep[1]} min`;
  if (NUMBER.test(p.minute) && p.hour === '*' && everyDay) return `hourly at :${pad(p.minute)}`;
  const hours = p.hour.split(',');
  if (!NUMBER.test(p.minute) || !hours.every((h) => NUMBER.test(h))) return null;
  const seconds = p.second === '0' ? '' : `:${pad(p.second)}`;
  const times = hours.map((h) => `${pad(h)}:${pad(p.minute)}${seconds}`).join(' and ');
  const days = daysInWords(p, dayRule);
  if (days === null) return null;
  return days ? `${days} ${times}` : times;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const WEEKDAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** '' for every day; null when the day fields are beyond simple words. */
function daysInWords(p: CronParts, dayRule: 'or' | 'and'): string | null {
  const weekdays = p.dayOfWeek === '*' ? '' : listInWords(p.dayOfWeek, weekdayName);
  const monthDays =
    p.dayOfMonth === '*' ? '' : p.dayOfMonth === 'L' ? 'last day' : listInWords(p.dayOfMonth, (d) => d);
  const months = p.month === '*' ? '' : listInWords(p.month, (m) => MONTHS[Number(m) - 1]);
  if (weekdays === null || monthDays === null || months === null) return null;
  if (weekdays && monthDays && dayRule === 'or') return null;
  const dayWord = monthDays === 'last day' ? '' : /[,–]/.test(monthDays) ? 'days ' : 'day ';
  const dayPart = [weekdays, monthDays && `${dayWord}${monthDays}${months ? '' : ' of the month'}`]
    .filter(Boolean)
    .join(' on ');
  return [dayPart, months && `in ${months}`].filter(Boolean).join(' ');
}

function weekdayName(token: string): string | undefined {
  const index = NUMBER.test(token) ? Number(token) : WEEKDAY_NAMES.indexOf(token.toLowerCase());
  return WEEKDAYS[index];
}

/** `1-5` → `Mon–Fri`, `1,3` → `Mon, Wed`; null for steps and other shapes. */
function listInWords(field: string, name: (token: string) => string | undefined): string | null {
  const out: string[] = [];
  for (const item of field.split(',')) {
    const range = /^(\w+)-(\w+)$/.exec(item);
    const words = range ? [name(range[1]!), name(range[2]!)] : [name(item)];
    if (words.some((w) => w === undefined)) return null;
    out.push(words.join('–'));
  }
  return out.join(', ');
}

function pad(value: string): string {
  return value.padStart(2, '0');
}

/** How far around a list of fires calendar marks are looked for (a move of more is not marked). */
const CALENDAR_NOTE_REACH_MS = 14 * 86_400_000;
/** How many skipped slots are listed at most. */
const SKIPPED_SHOWN = 20;

/** What calendars did around a list of fires: which fires were moved there, and which slots were skipped. */
export interface CalendarNotes {
  /** Fire instant → `moved from Sat 2026-03-07 09:00 (calendar "weekends")`. */
  moved: Map<number, string>;
  /** Slots in the span of the fires that no fire replaces: `2026-12-25 09:00 +01:00 skipped (calendar "holidays": Christmas)`. */
  skipped: Array<{ at: number; text: string }>;
}

/**
 * The calendar marks for fires computed from `after` (src/time/calendar-schedule.ts): each moved
 * fire says where it comes from; each skipped slot up to the last fire is listed. Empty without
 * calendars.
 */
export function calendarNotes(
  schedule: Schedule,
  after: number,
  fires: readonly number[],
  zone: ZoneRules,
): CalendarNotes {
  const notes: CalendarNotes = { moved: new Map(), skipped: [] };
  const last = fires[fires.length - 1];
  if (!schedule.calendars || last === undefined) return notes;
  const shown = new Set(fires);
  // Not before the fires' own span (a schedule that starts later), and a bounded list.
  const first = fires[0] as number;
  for (const mark of schedule.calendarMarks(
    Math.max(after, first - CALENDAR_NOTE_REACH_MS) - CALENDAR_NOTE_REACH_MS,
    last + CALENDAR_NOTE_REACH_MS,
  )) {
    const why = `calendar ${JSON.stringify(mark.calendar)}${mark.label ? `: ${mark.label}` : ''}`;
    if (mark.kind === 'moved' && mark.to !== null && shown.has(mark.to)) {
      const from = `moved from ${formatLocal(mark.slot, zone).slice(0, 16)} (${why})`;
      const earlier = notes.moved.get(mark.to);
      notes.moved.set(mark.to, earlier ? `${earlier}; ${from}` : from);
    } else if (
      mark.kind === 'skipped' &&
      mark.slot > Math.max(after, first - CALENDAR_NOTE_REACH_MS) &&
      mark.slot <= last &&
      notes.skipped.length < SKIPPED_SHOWN
    ) {
      notes.skipped.push({ at: mark.slot, text: `${formatLocal(mark.slot, zone)} skipped (${why})` });
    }
  }
  return notes;
}
