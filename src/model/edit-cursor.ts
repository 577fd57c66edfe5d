/**
 * Where a schedule's cursor (next_fire_at) goes when a change cleared it (an edit, or an edit of a
 * business calendar it names: migration 0014) — pure; the store writes it (src/db/store.ts).
 *
 * In general the next fire after `now` (never at or before the last slot fired): an edit does not
 * replay the new rule's past. A calendar edit is different, for the fires it moves — the slot is the
 * same business slot, only its day changed:
 * - `previous`: a fire moved back from a slot still ahead to an instant already past is owed (a
 *   holiday declared on the 30th moves the 31st's month-end close to the 30th at 09:00, after 09:00).
 *   The cursor goes back to it, and the catch-up policy decides, as for any fire a leader reached
 *   late: run now, or recorded `missed` with the reason — never lost without a row.
 * - `next`: a fire moved forward from a slot that already fired (its day excluded after the fact)
 *   is not fired again.
 */
import type { Schedule } from '../time/index.ts';
import type { ScheduleRecord } from './schedule.ts';
import { nextFireWithin } from './validate.ts';

/**
 * How far the moves of a calendar edit are looked for: a closure of up to two weeks, and at most
 * about 2,000 of the schedule's slots (an every-second schedule looks half an hour around).
 */
const MOVE_REACH_MS = 14 * 86_400_000;
const MOVE_REACH_SLOTS = 2_000;

function reachOf(schedule: Schedule, from: number): number {
  const first = schedule.next(from);
  const second = first === null ? null : schedule.next(first);
  if (first === null || second === null) return MOVE_REACH_MS;
  return Math.min(MOVE_REACH_MS, Math.max(1_000, second - first) * MOVE_REACH_SLOTS);
}

type Window = Pick<ScheduleRecord, 'startAt' | 'endAt' | 'maxRuns' | 'totalRuns'>;

export function cursorAfterChange(
  schedule: Schedule,
  window: Window,
  lastFire: number | null,
  now: number,
): number | null {
  const after = lastFire === null ? now : Math.max(now, lastFire);
  const next = nextFireWithin(schedule, window, after);
  const action = schedule.calendars?.action;
  if (action === 'previous') return owedMovedBack(schedule, window, lastFire, now, next);
  if (action === 'next' && lastFire !== null) return notFiredAgain(schedule, window, lastFire, next);
  return next;
}

function owedMovedBack(
  schedule: Schedule,
  window: Window,
  lastFire: number | null,
  now: number,
  next: number | null,
): number | null {
  if (window.maxRuns !== null && window.totalRuns >= window.maxRuns) return next;
  let owed = next;
  for (const mark of schedule.calendarMarks(now, now + reachOf(schedule, now))) {
    const to = mark.to;
    if (mark.kind !== 'moved' || to === null || to > now) continue;
    if (lastFire !== null && to <= lastFire) continue; // fired already
    if (window.startAt && to < window.startAt.getTime()) continue;
    if (owed === null || to < owed) owed = to;
  }
  return owed;
}

function notFiredAgain(
  schedule: Schedule,
  window: Window,
  lastFire: number,
  next: number | null,
): number | null {
  const refired = new Set<number>();
  for (const mark of schedule.calendarMarks(lastFire - reachOf(schedule, lastFire), lastFire))
    if (mark.kind === 'moved' && mark.to !== null && mark.to > lastFire) refired.add(mark.to);
  let cursor = next;
  for (let n = 0; cursor !== null && refired.has(cursor) && n < 1_000; n++)
    cursor = nextFireWithin(schedule, window, cursor);
  return cursor;
}
