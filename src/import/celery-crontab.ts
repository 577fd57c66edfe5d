/**
 * Celery's crontab field syntax, read the way Celery 5.2 reads it (`celery.schedules.crontab_parser`),
 * for rows of django-celery-beat's crontab table, which hold Celery's strings and are read with SQL
 * (no Python at import time). It is not cron's syntax: ranges wrap (`fri-mon` is 5, 6, 0, 1), week
 * days are names of at least three letters in any field (`monday`), `a/n` is an error, there is no
 * `L`, `#` or `?`, and day-of-week runs 0–6 with Sunday 0.
 *
 * The result is the set of values Celery fires on; src/import/cron-fields.ts turns it into
 * Metronome's stored form of Celery's object crontab (`cron_fields`).
 */

export interface CeleryFieldRange {
  /** The Celery field name, for messages. */
  name: 'minute' | 'hour' | 'day_of_week' | 'day_of_month' | 'month_of_year';
  min: number;
  /** Count of values: the field runs min … min + size − 1. */
  size: number;
}

export const CELERY_FIELDS = {
  minute: { name: 'minute', min: 0, size: 60 },
  hour: { name: 'hour', min: 0, size: 24 },
  dayOfWeek: { name: 'day_of_week', min: 0, size: 7 },
  dayOfMonth: { name: 'day_of_month', min: 1, size: 31 },
  monthOfYear: { name: 'month_of_year', min: 1, size: 12 },
} as const satisfies Record<string, CeleryFieldRange>;

export type CeleryFieldKey = keyof typeof CELERY_FIELDS;

export class CeleryCrontabError extends Error {}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
// crontab_parser's patterns, anchored at the start only, as Python's re.match is.
const RANGE_STEPS = /^(\w+?)-(\w+)\/(\w+)?/;
const RANGE = /^(\w+?)-(\w+)/;
const STAR_STEPS = /^\*\/(\w+)?/;
const STAR = /^\*$/;

/** The values of one Celery crontab field, sorted; throws CeleryCrontabError with Celery's reason. */
export function parseCeleryField(spec: string, field: CeleryFieldRange): number[] {
  const values = new Set<number>();
  for (const part of spec.split(',')) {
    if (part === '') throw new CeleryCrontabError('empty part');
    for (const value of parsePart(part, field)) values.add(value);
  }
  return [...values].sort((a, b) => a - b);
}

function parsePart(part: string, field: CeleryFieldRange): number[] {
  let m = RANGE_STEPS.exec(part);
  if (m) {
    if (!m[3]) throw new CeleryCrontabError('empty filter');
    return everyNth(expandRange(m[1]!, m[2]!, field), stepOf(m[3]));
  }
  m = RANGE.exec(part);
  if (m) return expandRange(m[1]!, m[2]!, field);
  m = STAR_STEPS.exec(part);
  if (m) {
    if (!m[1]) throw new CeleryCrontabError('empty filter');
    return everyNth(star(field), stepOf(m[1]));
  }
  if (STAR.test(part)) return star(field);
  return [expandNumber(part, field)];
}

function star(field: CeleryFieldRange): number[] {
  return Array.from({ length: field.size }, (_, i) => field.min + i);
}

function everyNth(values: number[], step: number): number[] {
  return values.filter((_, i) => i % step === 0);
}

function stepOf(text: string): number {
  const step = pythonInt(text);
  if (step === null) throw new CeleryCrontabError(`invalid literal for int() with base 10: '${text}'`);
  if (step <= 0) throw new CeleryCrontabError('slice step cannot be zero');
  return step;
}

function expandRange(fromText: string, toText: string, field: CeleryFieldRange): number[] {
  const from = expandNumber(fromText, field);
  const to = expandNumber(toText, field);
  const end = field.min + field.size;
  if (to < from) {
    // Celery wraps a backwards range around the end of the field.
    return [...range(from, end), ...range(field.min, to + 1)];
  }
  return range(from, to + 1);
}

function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from) }, (_, i) => from + i);
}

function expandNumber(text: string, field: CeleryFieldRange): number {
  if (text.startsWith('-')) throw new CeleryCrontabError('negative numbers not supported');
  let value = pythonInt(text);
  if (value === null) {
    value = WEEKDAYS.indexOf(text.slice(0, 3).toLowerCase());
    if (value < 0) throw new CeleryCrontabError(`Invalid weekday literal '${text}'.`);
  }
  const max = field.min + field.size - 1;
  if (value > max) throw new CeleryCrontabError(`Invalid end range: ${value} > ${max}.`);
  if (value < field.min) throw new CeleryCrontabError(`Invalid beginning range: ${value} < ${field.min}.`);
  return value;
}

/** Python's int() of a string: optional spaces and sign, digits (with single underscores between). */
function pythonInt(text: string): number | null {
  const m = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(text);
  if (!m) return null;
  const n = Number(m[2]!.replaceAll('_', ''));
  return m[1] === '-' ? -n : n;
}
