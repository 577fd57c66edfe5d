/**
 * Durations as people write them in declarations: `'15m'`, `'1h30m'`, `'2d'`, `'500ms'`, or a
 * number of milliseconds.
 */
import { ScheduleSpecError } from './errors.ts';

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;
const ALLOWED =
  'a number of milliseconds, or a string of number-unit parts such as "30s", "15m", "1h30m", "2d" (units ms, s, m, h, d, w)';

/** Parse a duration to whole milliseconds. `field` names the spec field in the error. */
export function parseDuration(value: unknown, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) {
      throw new ScheduleSpecError(field, value, 'not a finite, non-negative number of milliseconds', ALLOWED);
    }
    return Math.round(value);
  }
  if (typeof value !== 'string') throw new ScheduleSpecError(field, value, 'not a duration', ALLOWED);
  const text = value.trim().toLowerCase();
  if (text === '') throw new ScheduleSpecError(field, value, 'empty', ALLOWED);
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  for (let match = PART.exec(text); match; match = PART.exec(text)) {
    total += Number(match[1]) * (UNIT_MS[match[2] as string] as number);
    consumed = PART.lastIndex;
  }
  if (consumed !== text.length) {
    const reason = /^\d+(\.\d+)?$/.test(text) ? 'a number in a string needs a unit' : 'not a duration';
    throw new ScheduleSpecError(field, value, reason, ALLOWED);
  }
  return Math.round(total);
}

/** `900000` → `'15m'`, for display. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
