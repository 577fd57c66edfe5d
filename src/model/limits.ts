/**
 * The limits every schedule value keeps, whichever way it arrives: a declaration, `beat add`, or a
 * row written with SQL (and the runtime's own bookkeeping columns, which a person can edit too).
 * Each check says why a value is wrong, or returns null; the caller names the value the way its
 * reader knows it (`--expires`, `expires`, `column expires_ms`). Documented in docs/schedules.md,
 * "Limits".
 */
import { formatDuration, type Schedule } from '../time/index.ts';

const DAY_MS = 86_400_000;

/** The longest duration anywhere (jitter, expiry, time limits, leases): 100 years, as for intervals. */
export const MAX_DURATION_MS = 100 * 366 * DAY_MS;

/**
 * Instants Celery workers can read (Python's datetime: years 1 to 9999); JavaScript's Date reaches
 * further, Postgres further still, and `infinity` is a timestamp too.
 */
const EARLIEST_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** The largest value of a Postgres `integer` column (max_runs, total_runs, time limits). */
export const MAX_INT4 = 2_147_483_647;

/** Why `value` is not an instant a schedule can use; null when it is one (or null). */
export function instantProblem(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  const ms = value instanceof Date ? value.getTime() : typeof value === 'number' ? value : undefined;
  if (ms === undefined) return `${JSON.stringify(value) ?? String(value)} is not an instant`;
  const fix = 'use a date-time from year 1 to 9999, or NULL for none';
  // postgres.js reads 'infinity' and '-infinity' as an Invalid Date, PGlite as ±Infinity.
  if (Number.isNaN(ms))
    return `not a finite instant ('infinity', '-infinity', or a date-time JavaScript cannot hold); ${fix}`;
  if (!Number.isFinite(ms)) return `'${ms > 0 ? 'infinity' : '-infinity'}' is not a finite instant; ${fix}`;
  if (ms < EARLIEST_INSTANT_MS || ms > LATEST_INSTANT_MS) {
    return `${new Date(ms).toISOString()} is outside the years 1 to 9999 that Celery workers (Python) can read; ${fix}`;
  }
  return null;
}

export interface WholeNumberRule {
  min: number;
  max: number;
  /** How the number reads in messages, e.g. `ms`, `seconds`, `runs`. */
  unit?: string;
}

/** Why `value` is not a whole number within the rule; null when it is (or null). */
export function wholeNumberProblem(value: unknown, rule: WholeNumberRule): string | null {
  if (value === null || value === undefined) return null;
  const unit = rule.unit ? ` ${rule.unit}` : '';
  if (typeof value !== 'number' || !Number.isInteger(value) || value < rule.min || value > rule.max) {
    return `${String(value)} is not a whole number from ${rule.min} to ${rule.max}${unit}`;
  }
  return null;
}

/** Why a duration in milliseconds is out of range (at least `minMs`, at most 100 years). */
export function durationProblem(value: unknown, minMs: number): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < minMs || value > MAX_DURATION_MS) {
    return `${String(value)} ms is out of range: use ${minMs === 0 ? '0' : formatDuration(minMs)} to 100 years (${MAX_DURATION_MS} ms)`;
  }
  return null;
}

/** Celery's time limits: whole seconds, at least one, at most 100 years. */
export function secondsProblem(value: unknown): string | null {
  return wholeNumberProblem(value, { min: 1, max: MAX_DURATION_MS / 1_000, unit: 'seconds' });
}

/**
 * Characters that may not appear in names, task names, queues, routing keys and pause reasons: they
 * are invisible or move the cursor or reorder text, so a name holding them can look like another
 * one in `beat list`, forge lines of a table or colour a terminal. Every Unicode control (Cc) and
 * format character (Cf: zero-width spaces and joiners, bidirectional controls, the byte order mark,
 * soft hyphens, tags), the line and paragraph separators, and lone surrogates. The SQL CHECK
 * constraints of migration 0013 refuse the same set (lone surrogates cannot reach Postgres at all).
 */
const NOT_PRINTABLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/u;
const NOT_PRINTABLE_ALL = new RegExp(NOT_PRINTABLE.source, 'gu');

/** Why `text` may not be a name: it holds an invisible or control character. */
/** What an exclusion group's name may be: it is part of a run lock's key and shown everywhere. */
export const EXCLUSION_GROUP_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** Why `value` is not an exclusion group's name (null or a plain name), or null when it is. */
export function exclusionGroupProblem(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string' && EXCLUSION_GROUP_PATTERN.test(value)) return null;
  return `${JSON.stringify(value)} is not a group name: use 1 to 100 letters, digits, ".", "_", ":" or "-", starting with a letter or digit (e.g. "nightly-db")`;
}

export function printableProblem(text: string): string | null {
  const found = NOT_PRINTABLE.exec(text);
  if (!found) return null;
  return `${escapeNonPrintable(JSON.stringify(text))} contains the invisible or control character ${codePoint(found[0])}; use printable characters only`;
}

/** Why a pause reason cannot be stored: one line of printable text, at most 500 characters. */
export function reasonProblem(text: string): string | null {
  if (text.length > 500) return `is ${text.length} characters long; use at most 500`;
  return printableProblem(text);
}

const codePoint = (ch: string) => `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;

/** Why free text cannot be stored: Postgres text cannot hold the NUL character. */
export function storableTextProblem(text: string): string | null {
  return text.includes('\u0000') ? 'contains the NUL character (\\u0000), which Postgres cannot store' : null;
}

/**
 * `text` with every character of the not-printable set written as an escape: for people
 * (`\n`, `\x1b`, `\u202e`), or as JSON's `\u001b` (JSON text stays valid and means the same).
 */
export function escapeNonPrintable(text: string, style: 'text' | 'json' = 'text'): string {
  return text.replace(NOT_PRINTABLE_ALL, style === 'json' ? jsonEscape : escapeChar);
}

// In JSON text a raw newline is layout (JSON.stringify escapes the ones inside strings).
const jsonEscape = (ch: string) =>
  ch === '\n'
    ? ch
    : // An astral character (a tag) is two UTF-16 units, each escaped: JSON's form for it.
      ch
        .split('')
        .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, '0')}`)
        .join('');

function escapeChar(ch: string): string {
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  const code = ch.codePointAt(0) ?? 0;
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code <= 0xffff ? `\\u${code.toString(16).padStart(4, '0')}` : `\\u{${code.toString(16)}}`;
}

/**
 * Why a jitter makes the schedule fall behind for ever: each fire may be delayed by up to the
 * jitter, so a jitter as long as the time between two fires pushes a fire past the next slot (and
 * one of 1,000,000 days never fires at all). The time between fires is measured on the next few
 * fires after `now` (exact for intervals).
 */
export function jitterProblem(schedule: Schedule, jitterMs: number, now: number): string | null {
  if (jitterMs <= 0 || schedule.kind === 'clocked') return null;
  let shortest = Number.POSITIVE_INFINITY;
  let previous = schedule.next(now);
  for (let i = 0; i < 8 && previous !== null; i++) {
    const next = schedule.next(previous);
    if (next === null) break;
    shortest = Math.min(shortest, next - previous);
    previous = next;
  }
  if (jitterMs < shortest) return null;
  return `${formatDuration(jitterMs)} is not shorter than the time between two fires (${formatDuration(shortest)}): each fire would be pushed past the next one; use less than ${formatDuration(shortest)}`;
}
