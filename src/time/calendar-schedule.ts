/**
 * A schedule seen through business calendars. The base schedule gives slots; a slot whose civil
 * day (in the schedule's zone) a calendar excludes is either skipped, or moved to the same local
 * time on the nearest day the calendars allow, before (`previous`) or after (`next`). What comes
 * out is again a {@link Schedule}: next() is the first *effective* fire strictly after an instant,
 * so the planner, the leader, `beat next` and the previews all go through this one rule.
 *
 * Invariants: fires strictly increase; a moved fire that lands on another fire is one fire (fires
 * are instants, and equal instants are one); a slot that cannot be moved (no allowed day within
 * {@link MAX_MOVE_DAYS}) is skipped. A moved local time resolves as RFC 5545 does (a time in a
 * spring-forward gap shifted forward by the gap, a repeated time at its first occurrence).
 *
 * Moving makes effective fires non-monotone in their slots (Tuesday 09:00 moved back lands before
 * Monday 17:00), so next() scans base slots in order while their effective day can still beat the
 * best found: the effective day of a slot never decreases as slots increase.
 */

import { type Calendar, type CalendarAction, CalendarSet, dayOfWall, formatCivilDay } from './calendar.ts';
import { DAY } from './civil.ts';
import type { CalendarMark, Schedule } from './schedule.ts';
import { newResolution, ZoneRules } from './zone.ts';

/** How far a fire may move, in days; a slot with no allowed day that near is skipped. */
export const MAX_MOVE_DAYS = 366;
/**
 * How far past the instant asked about one next() looks, and how many base slots it may look at:
 * a schedule whose every slot in 30 years is excluded (Sundays only, Sundays excluded) is read as
 * never firing again, which is what validation then reports.
 */
const HORIZON_MS = 30 * 366 * DAY;
const SCAN_LIMIT = 200_000;

export interface CalendarRule {
  calendars: readonly Calendar[];
  action: CalendarAction;
}

export function withCalendars(base: Schedule, rule: CalendarRule): Schedule {
  if (rule.calendars.length === 0) return base;
  const zone = ZoneRules.get(base.timezone);
  const set = new CalendarSet(rule.calendars);
  const resolution = newResolution();
  const dayOf = (at: number) => dayOfWall(zone.wallAt(at));
  const startOfDay = (day: number) => zone.resolve(day * DAY, resolution).first;
  const direction = rule.action === 'next' ? 1 : -1;

  /** The day a slot's fire happens on, or null when it is not fired. */
  const effectiveDay = (day: number): number | null =>
    !set.excludedBy(day)
      ? day
      : rule.action === 'skip'
        ? null
        : set.allowedDay(day, direction, MAX_MOVE_DAYS);

  /** The slot's local time of day on another day. */
  const moveTo = (slot: number, day: number): number => {
    const wall = zone.wallAt(slot);
    return zone.resolve(day * DAY + (wall - dayOfWall(wall) * DAY), resolution).first;
  };

  const effective = (slot: number): number | null => {
    const day = dayOf(slot);
    const target = effectiveDay(day);
    return target === null ? null : target === day ? slot : moveTo(slot, target);
  };

  /** Skip: the first allowed slot, jumping over excluded runs of days. */
  const nextSkipping = (after: number): number | null => {
    let slot = base.next(after);
    for (let n = 0; slot !== null && slot - after <= HORIZON_MS && n < SCAN_LIMIT; n++) {
      const day = dayOf(slot);
      if (!set.excludedBy(day)) return slot;
      const allowed = set.allowedDay(day, 1, MAX_MOVE_DAYS);
      const from = allowed === null ? startOfDay(day + MAX_MOVE_DAYS) : startOfDay(allowed);
      slot = base.next(Math.max(from - 1, slot));
    }
    return null;
  };

  /** The instant from which slots can have an effective fire after `after`. */
  const scanFrom = (after: number): number => {
    if (rule.action === 'previous') return after; // moved fires only go back: slot ≥ fire
    // `next`: a slot on an excluded day just before after's day can land on it or later.
    let day = dayOf(after);
    for (let n = 0; n < MAX_MOVE_DAYS && set.excludedBy(day - 1); n++) day--;
    return Math.min(after, startOfDay(day) - 1);
  };

  const nextMoving = (after: number): number | null => {
    let best: number | null = null;
    let bestDay = Number.POSITIVE_INFINITY;
    let slot = base.next(scanFrom(after));
    for (
      let n = 0;
      slot !== null && slot - after <= HORIZON_MS + MAX_MOVE_DAYS * DAY && n < SCAN_LIMIT;
      n++
    ) {
      const day = dayOf(slot);
      const target = effectiveDay(day);
      if (target !== null) {
        if (target > bestDay) break;
        const at = target === day ? slot : moveTo(slot, target);
        if (at > after && (best === null || at < best)) {
          best = at;
          bestDay = dayOf(at);
        }
      }
      slot = base.next(slot);
    }
    return best;
  };

  const next = !set.allowsSomeDay ? () => null : rule.action === 'skip' ? nextSkipping : nextMoving;

  const marks = (after: number, until: number): CalendarMark[] => {
    const out: CalendarMark[] = [];
    for (
      let slot = base.next(after);
      slot !== null && slot <= until && out.length < SCAN_LIMIT;
      slot = base.next(slot)
    ) {
      const day = dayOf(slot);
      const calendar = set.excludedBy(day);
      if (!calendar) continue;
      const to = effective(slot);
      const label = calendar.labelOf(day);
      out.push({
        slot,
        kind: to === null ? 'skipped' : 'moved',
        to,
        calendar: calendar.name,
        day: formatCivilDay(day),
        ...(label ? { label } : {}),
      });
    }
    return out;
  };

  return {
    ...base,
    next,
    *fires(after: number) {
      for (let at = next(after); at !== null; at = next(at)) yield at;
    },
    calendarMarks: marks,
    calendars: { names: rule.calendars.map((c) => c.name), action: rule.action },
  };
}
