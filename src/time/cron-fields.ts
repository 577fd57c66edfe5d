/**
 * Crontab parsing: a cron string (5 or 6 fields, macros, names, ranges, steps, lists, `L`, `#`,
 * `H`) or Celery's object form, parsed and range-checked by cron-parser and reduced to the plain
 * sets the engine walks. cron-parser's own next() is not used: it is wrong across several real DST
 * transitions, so instants are resolved in `cron.ts` with our own zone rules.
 */
import { CronExpressionParser } from 'cron-parser';
import { civilFromDays, daysFromCivil, daysInMonth, weekdayOfDays } from './civil.ts';
import { ScheduleSpecError } from './errors.ts';

/** Celery's `crontab(minute=…, hour=…, day_of_week=…, day_of_month=…, month_of_year=…)`. */
export interface CeleryCrontab {
  minute?: CronFieldValue;
  hour?: CronFieldValue;
  dayOfWeek?: CronFieldValue;
  dayOfMonth?: CronFieldValue;
  monthOfYear?: CronFieldValue;
}
export type CronFieldValue = string | number | readonly number[];

/** What the engine needs from a crontab: sorted value lists and day-matching masks. */
export interface CronFields {
  seconds: number[];
  minutes: number[];
  hours: number[];
  /** Bit m set for each month 1–12. */
  monthMask: number;
  /** Bit d set for each day of month 1–31. */
  domMask: number;
  /** `L` in the day-of-month field: the last day of the month. */
  domLast: boolean;
  /** Bit w set for each weekday 0–6 (Sunday = 0). */
  dowMask: number;
  /** Bit w set for each `wL` (the last such weekday of the month). */
  dowLastMask: number;
  /** The k of `w#k` (k-th such weekday of the month), 0 when absent. */
  nth: number;
  domRestricted: boolean;
  dowRestricted: boolean;
  /** `or`: standard cron (day-of-month OR day-of-week when both are restricted); `and`: Celery's rule. */
  dayRule: 'or' | 'and';
  /**
   * The hour field starts with `*` (hourly, every N minutes, every second): the expression runs on
   * real time across DST instead of being resolved as a fixed local time. See docs/time.md, "DST: one rule".
   */
  realTime: boolean;
}

/** `@daily`-style macros and the five fields each stands for. */
export const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIELD_NAMES = ['second', 'minute', 'hour', 'day of month', 'month', 'day of week'] as const;
const SYNTAX = '"*", numbers, lists "a,b", ranges "a-b", steps "*/n" or "a-b/n", and "H" (hashed)';
const FIELD_ALLOWED = [
  `0-59 with ${SYNTAX}`,
  `0-59 with ${SYNTAX}`,
  `0-23 with ${SYNTAX}`,
  `1-31 or L (last day), with ${SYNTAX}`,
  `1-12 or JAN-DEC, with ${SYNTAX}`,
  `0-7 or SUN-SAT (0 and 7 are Sunday), "wL" (last w of the month) or "w#k" (k-th w), with ${SYNTAX}`,
];
const CRON_ALLOWED =
  '5 fields "minute hour day-of-month month day-of-week", 6 with seconds first, or @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly';

/** `H` as a token (not the H inside a name such as THU). */
const HASHED = /(^|[^A-Za-z])H($|[^A-Za-z])/;

/**
 * Parse a cron string. `name` seeds `H` so a hashed field is stable across restarts and hosts; it is
 * required when the expression uses `H`.
 */
export function parseCronString(expression: unknown, name?: string): CronFields {
  if (typeof expression !== 'string' || expression.trim() === '') {
    throw new ScheduleSpecError('cron', expression, 'a cron expression is required', CRON_ALLOWED);
  }
  const trimmed = expression.trim();
  let text = trimmed;
  if (trimmed.startsWith('@')) {
    const macro = CRON_MACROS[trimmed.toLowerCase()];
    if (!macro) throw new ScheduleSpecError('cron', expression, `unknown macro ${trimmed}`, CRON_ALLOWED);
    text = macro;
  }
  const atoms = text.split(/\s+/);
  if (atoms.length !== 5 && atoms.length !== 6) {
    throw new ScheduleSpecError('cron', expression, `it has ${atoms.length} fields`, CRON_ALLOWED);
  }
  const six = atoms.length === 5 ? ['0', ...atoms] : atoms;
  return parseSixFields(six, expression, 'cron', name, 'or');
}

/** Parse Celery's object form; every field must match (Celery's rule), unlike a cron string. */
export function parseCeleryCrontab(fields: unknown, name?: string): CronFields {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    throw new ScheduleSpecError('cron', fields, 'not a crontab object', CELERY_ALLOWED);
  }
  const known = new Set(['minute', 'hour', 'dayOfWeek', 'dayOfMonth', 'monthOfYear']);
  for (const key of Object.keys(fields)) {
    if (!known.has(key)) {
      throw new ScheduleSpecError(
        `cron.${key}`,
        (fields as Record<string, unknown>)[key],
        'unknown field',
        CELERY_ALLOWED,
      );
    }
  }
  const f = fields as CeleryCrontab;
  const keys = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'] as const;
  const atoms = keys.map((key) => celeryFieldText(f[key], `cron.${key}`));
  return parseSixFields(['0', ...atoms], fields, 'cron', name, 'and', keys);
}

const CELERY_ALLOWED =
  '{ minute, hour, dayOfWeek, dayOfMonth, monthOfYear }, each a number, an array of numbers or a cron field string (default "*")';

function celeryFieldText(value: CronFieldValue | undefined, field: string): string {
  if (value === undefined) return '*';
  if (typeof value === 'number' && Number.isInteger(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '' && !/\s/.test(value.trim())) return value.trim();
  if (
    Array.isArray(value) &&
    value.length > 0 &&
    value.every((v) => typeof v === 'number' && Number.isInteger(v))
  ) {
    return value.join(',');
  }
  throw new ScheduleSpecError(field, value, 'not a cron field', CELERY_ALLOWED);
}

/**
 * cron-parser's parse costs ~0.2 ms, and many schedules share an expression ("0 * * * *"), so
 * parsed fields are memoised (bounded; the key includes the hash seed only when H is used).
 */
const PARSED = new Map<string, CronFields>();
const PARSED_LIMIT = 10_000;

function parseSixFields(
  six: string[],
  original: unknown,
  field: string,
  name: string | undefined,
  dayRule: 'or' | 'and',
  celeryKeys?: readonly string[],
): CronFields {
  const hashed = six.some((atom) => HASHED.test(atom));
  const key = `${dayRule}|${six.join(' ')}|${hashed ? (name ?? '') : ''}`;
  const cached = PARSED.get(key);
  if (cached) return cached;
  const fields = parseSixFieldsUncached(six, original, field, name, dayRule, celeryKeys);
  if (PARSED.size >= PARSED_LIMIT) PARSED.delete(PARSED.keys().next().value as string);
  PARSED.set(key, fields);
  return fields;
}

function parseSixFieldsUncached(
  six: string[],
  original: unknown,
  field: string,
  name: string | undefined,
  dayRule: 'or' | 'and',
  celeryKeys?: readonly string[],
): CronFields {
  const fieldLabel = (i: number) => (celeryKeys ? `cron.${celeryKeys[i - 1]}` : `${field}.${FIELD_NAMES[i]}`);
  if (six.some((atom) => HASHED.test(atom)) && !name) {
    throw new ScheduleSpecError(
      field,
      original,
      '"H" is hashed with the schedule name, and no name was given',
      'a schedule name (or a cron expression without H)',
    );
  }
  for (let i = 0; i < 6; i++) {
    if ((six[i] as string).includes('?') && i !== 3 && i !== 5) {
      throw new ScheduleSpecError(
        fieldLabel(i),
        six[i],
        '"?" is only allowed in the day fields',
        FIELD_ALLOWED[i] as string,
      );
    }
  }
  let parsed: ReturnType<typeof CronExpressionParser.parse>;
  try {
    parsed = CronExpressionParser.parse(six.join(' '), { tz: 'UTC', hashSeed: name });
  } catch (error) {
    throw explainParseError(six, original, field, fieldLabel, error);
  }
  const f = parsed.fields;
  const numbers = (values: readonly (number | string)[]) =>
    values.filter((v): v is number => typeof v === 'number');
  let monthMask = 0;
  for (const m of numbers(f.month.values)) monthMask |= 1 << m;
  let domMask = 0;
  for (const d of numbers(f.dayOfMonth.values)) domMask |= 1 << d;
  let dowMask = 0;
  let dowLastMask = 0;
  for (const w of f.dayOfWeek.values) {
    if (typeof w === 'number') dowMask |= 1 << (w % 7);
    else if (w.endsWith('L')) dowLastMask |= 1 << (Number.parseInt(w.charAt(0), 10) % 7);
  }
  const hourText = six[2] as string;
  const result: CronFields = {
    seconds: [...new Set(numbers(f.second.values))].sort((a, b) => a - b),
    minutes: [...new Set(numbers(f.minute.values))].sort((a, b) => a - b),
    hours: [...new Set(numbers(f.hour.values))].sort((a, b) => a - b),
    monthMask,
    domMask,
    domLast: f.dayOfMonth.hasLastChar,
    dowMask,
    dowLastMask,
    nth: f.dayOfWeek.nthDay ?? 0,
    domRestricted: !f.dayOfMonth.isWildcard,
    dowRestricted: !f.dayOfWeek.isWildcard,
    dayRule,
    realTime: hourText.startsWith('*'),
  };
  if (!firesOnSomeDay(result)) {
    throw new ScheduleSpecError(
      field,
      original,
      'no day ever matches its day-of-month, month and day-of-week fields, so it can never fire',
      'a combination of days that occurs, such as "0 0 29 2 *" (every leap day)',
    );
  }
  return result;
}

/** Map a cron-parser error to the field at fault, by parsing each field alone. */
function explainParseError(
  six: string[],
  original: unknown,
  field: string,
  fieldLabel: (i: number) => string,
  error: unknown,
): ScheduleSpecError {
  const message = error instanceof Error ? error.message : String(error);
  for (let i = 0; i < 6; i++) {
    const alone = six.map((atom, j) => (j === i ? atom : j === 0 ? '0' : '*'));
    try {
      CronExpressionParser.parse(alone.join(' '), { tz: 'UTC', hashSeed: 'x' });
    } catch (fieldError) {
      const reason = fieldError instanceof Error ? fieldError.message : String(fieldError);
      return new ScheduleSpecError(fieldLabel(i), six[i], reason, FIELD_ALLOWED[i] as string);
    }
  }
  if (/day of month/i.test(message)) {
    return new ScheduleSpecError(
      field,
      original,
      'the day of month never occurs in the months given, so it can never fire',
      'a day that exists in at least one of the months, such as "0 0 29 2 *" (every leap day)',
    );
  }
  return new ScheduleSpecError(field, original, message, CRON_ALLOWED);
}

/**
 * Whether any day matches. The Gregorian calendar repeats every 400 years, but every combination
 * of (month, day, weekday, last-day-ness) already occurs in the 28 years from 2001 (no century
 * year inside), so walking them is a complete check; it runs once per compile.
 */
function firesOnSomeDay(fields: CronFields): boolean {
  const end = daysFromCivil(2029, 1, 1);
  for (let days = daysFromCivil(2001, 1, 1); days < end; days++) {
    const { year, month, day } = civilFromDays(days);
    if (dayMatches(fields, year, month, day, weekdayOfDays(days))) return true;
  }
  return false;
}

/** Day matching exactly as cron-parser's (standard cron), or Celery's all-fields rule. */
export function dayMatches(
  f: CronFields,
  year: number,
  month: number,
  day: number,
  weekday: number,
): boolean {
  if (((f.monthMask >>> month) & 1) === 0) return false;
  const last = daysInMonth(year, month);
  const domMatch = ((f.domMask >>> day) & 1) === 1 || (f.domLast && day === last);
  const dowMatch =
    (((f.dowMask >>> weekday) & 1) === 1 && (f.nth <= 0 || Math.ceil(day / 7) === f.nth)) ||
    (((f.dowLastMask >>> weekday) & 1) === 1 && day + 7 > last);
  if (f.dayRule === 'and') return domMatch && dowMatch;
  if (f.domRestricted && f.dowRestricted) return domMatch || dowMatch;
  if (f.domRestricted) return domMatch;
  if (f.dowRestricted) return dowMatch;
  return true;
}
