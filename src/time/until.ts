/**
 * When a pause ends (`beat pause --until`, the API's and the client's `until`): an instant (a Date,
 * epoch ms, or an ISO 8601 date-time with an offset) or a duration from now (`90m`, `2h`, `1d12h`).
 * Pure: `now` is the caller's (the database's) clock.
 */
import { parseDuration } from './duration.ts';
import { ScheduleSpecError } from './errors.ts';
import { parseInstant } from './schedule.ts';

const ALLOWED =
  'an ISO 8601 date-time with Z or an offset (2026-12-14T09:00:00+01:00), or a duration from now such as "90m", "2h", "1d12h"';

/** The instant `value` names, read against `now` when it is a duration. */
export function resolveUntil(value: unknown, now: number, field: string): number {
  if (typeof value === 'string' && /^\s*\d/.test(value) && !/^\s*\d{4}-/.test(value)) {
    try {
      return now + parseDuration(value.trim(), field);
    } catch {
      throw new ScheduleSpecError(field, value, 'neither a duration nor an instant', ALLOWED);
    }
  }
  try {
    return parseInstant(value, field);
  } catch {
    throw new ScheduleSpecError(field, value, 'not an instant with an offset, nor a duration', ALLOWED);
  }
}
