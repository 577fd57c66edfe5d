/**
 * Next fire of a crontab in a time zone, with DST resolved by the schedule's policy (src/time/dst.ts,
 * docs/time.md "DST: one rule, and a policy per schedule"). By default:
 *
 * - fixed hour field (does not start with `*`): each matching local time fires once. A time in a
 *   spring-forward gap fires shifted forward by the gap's length; a time that occurs twice fires at
 *   the first occurrence; two local times that land on one instant fire once.
 * - hour field starting with `*`: real time. It fires at every instant whose local wall clock
 *   matches: nothing inside a gap, both passes of a repeated hour.
 *
 * A policy chooses, for every crontab, the first, second or both passes of a repeated time, and
 * shifting or skipping a missing one.
 *
 * The walk goes over local days and, inside a matching day, over matching times in order; each
 * wall-clock candidate is resolved to instants by the zone rules. Resolved instants are increasing in
 * wall order except right after a transition (a gap-shifted time can land after later wall times;
 * the second pass of a repeated hour comes after the first pass of later times), so once a candidate
 * is found the walk goes on until no later wall time can resolve earlier than it.
 */
import { civilFromDays, DAY, daysInMonth, formatWall, HOUR, MINUTE, SECOND, weekdayOfDays } from './civil.ts';
import { type CronFields, dayMatches } from './cron-fields.ts';
import { type DstPolicy, type DstRepeated, defaultDstPolicy } from './dst.ts';
import { newResolution, WallKind, type ZoneRules } from './zone.ts';

/** A walk that finds nothing in this many days has no next fire (validation makes this unreachable). */
const MAX_SCAN_DAYS = 150_000;

/** How the DST policy treats the matching wall times of one clock change (see {@link CronSchedule.dstEffects}). */
export interface DstEffect {
  /** The instant the clocks change. */
  at: number;
  /** `gap`: the clocks go forward over these wall times; `fold`: they go back and repeat them. */
  kind: 'gap' | 'fold';
  offsetBeforeMs: number;
  offsetAfterMs: number;
  /** The matching wall times in the skipped or repeated span (the first few), `YYYY-MM-DDTHH:MM:SS`. */
  walls: string[];
  /** How many wall times in the span match. */
  count: number;
  /** What the policy does with them. */
  outcome: 'shifted' | 'skipped' | 'first' | 'second' | 'both';
  /** The fires the policy makes of the walls listed (empty when skipped). */
  fires: number[];
}

/** How many matching wall times of one span {@link CronSchedule.dstEffects} lists. */
const EFFECT_WALLS = 3;

/** How DST touched one fire, for people reading `beat next` and `beat show`. */
export type DstNote =
  | { kind: 'shifted'; wall: string; byMs: number }
  | { kind: 'merged'; walls: string[] }
  | { kind: 'fold-first'; repeated: DstRepeated }
  | { kind: 'fold-second'; repeated: DstRepeated };

export class CronSchedule {
  readonly #fields: CronFields;
  readonly #zone: ZoneRules;
  readonly #policy: DstPolicy;
  readonly #resolution = newResolution();

  constructor(fields: CronFields, zone: ZoneRules, policy: DstPolicy = defaultDstPolicy(fields.realTime)) {
    this.#fields = fields;
    this.#zone = zone;
    this.#policy = policy;
  }

  get dst(): DstPolicy {
    return { ...this.#policy };
  }

  get zone(): ZoneRules {
    return this.#zone;
  }

  get realTime(): boolean {
    return this.#fields.realTime;
  }

  next(after: number): number | null {
    const zone = this.#zone;
    const f = this.#fields;
    const { seconds, minutes, hours } = f;
    const offset = zone.offsetAt(after);
    // Wall times up to one offset change before `after`'s own can still resolve after it.
    const backoff = Math.max(
      Math.abs(offset - zone.offsetAt(after - DAY)),
      Math.abs(offset - zone.offsetAt(after + DAY)),
    );
    const startWall = after + offset - backoff;
    let days = Math.floor(startWall / DAY);
    let startSecond = Math.ceil((startWall - days * DAY) / SECOND);
    if (startSecond >= 86_400) {
      days += 1;
      startSecond = 0;
    }
    let { year, month, day } = civilFromDays(days);
    let best = Number.POSITIVE_INFINITY;
    let stopWall = Number.POSITIVE_INFINITY;
    const resolution = this.#resolution;
    const { repeated, missing } = this.#policy;

    scan: for (let scanned = 0; scanned < MAX_SCAN_DAYS; scanned++) {
      const dayWall = days * DAY;
      if (dayWall > stopWall) break;
      if (((f.monthMask >>> month) & 1) === 0) {
        // Jump to the first day of the next month.
        days += daysInMonth(year, month) - day + 1;
        day = 1;
        month += 1;
        if (month > 12) {
          month = 1;
          year += 1;
        }
        startSecond = 0;
        continue;
      }
      if (dayMatches(f, year, month, day, weekdayOfDays(days))) {
        const h0 = Math.floor(startSecond / 3600);
        const m0 = Math.floor(startSecond / 60) % 60;
        const s0 = startSecond % 60;
        for (let hi = lowerBound(hours, h0); hi < hours.length; hi++) {
          const h = hours[hi] as number;
          const firstHour = h === h0;
          for (let mi = lowerBound(minutes, firstHour ? m0 : 0); mi < minutes.length; mi++) {
            const m = minutes[mi] as number;
            const hourMinuteWall = dayWall + h * HOUR + m * MINUTE;
            for (let si = lowerBound(seconds, firstHour && m === m0 ? s0 : 0); si < seconds.length; si++) {
              const wall = hourMinuteWall + (seconds[si] as number) * SECOND;
              if (wall > stopWall) break scan;
              zone.resolve(wall, resolution);
              let candidate = Number.POSITIVE_INFINITY;
              if (resolution.kind === WallKind.Unique) {
                candidate = resolution.first;
              } else if (resolution.kind === WallKind.Fold) {
                candidate =
                  repeated === 'second' || (repeated === 'both' && resolution.first <= after)
                    ? resolution.second
                    : resolution.first;
              } else if (missing === 'shift') {
                candidate = resolution.first;
              }
              if (candidate > after && candidate < best) {
                best = candidate;
                stopWall = best + maxOffsetAround(zone, best);
              }
            }
          }
        }
      }
      days += 1;
      day += 1;
      startSecond = 0;
      if (day > daysInMonth(year, month)) {
        day = 1;
        month += 1;
        if (month > 12) {
          month = 1;
          year += 1;
        }
      }
    }
    return best === Number.POSITIVE_INFINITY ? null : best;
  }

  /** Whether a wall-clock time (ms since 1970 read as UTC) matches the expression. */
  matchesWall(wall: number): boolean {
    const f = this.#fields;
    const days = Math.floor(wall / DAY);
    const secondOfDay = Math.floor((wall - days * DAY) / SECOND);
    if (wall % SECOND !== 0) return false;
    const { year, month, day } = civilFromDays(days);
    return (
      dayMatches(f, year, month, day, weekdayOfDays(days)) &&
      f.hours.includes(Math.floor(secondOfDay / 3600)) &&
      f.minutes.includes(Math.floor(secondOfDay / 60) % 60) &&
      f.seconds.includes(secondOfDay % 60)
    );
  }

  /** How DST touched a fire instant returned by {@link next}, or undefined when it did not. */
  explain(at: number): DstNote | undefined {
    const zone = this.#zone;
    const wall = zone.wallAt(at);
    const resolution = zone.resolve(wall, newResolution());
    const direct = this.matchesWall(wall);
    // A gap time read with the offset in force before the gap lands on `at` too.
    const offsetBefore = zone.offsetAt(at - DAY);
    let shiftedFrom: number | undefined;
    if (this.#policy.missing === 'shift' && offsetBefore < zone.offsetAt(at)) {
      const gapWall = at + offsetBefore;
      const gap = zone.resolve(gapWall, newResolution());
      if (gap.kind === WallKind.Gap && gap.first === at && this.matchesWall(gapWall)) shiftedFrom = gapWall;
    }
    if (shiftedFrom !== undefined && direct)
      return { kind: 'merged', walls: [formatWall(shiftedFrom), formatWall(wall)] };
    if (shiftedFrom !== undefined)
      return { kind: 'shifted', wall: formatWall(shiftedFrom), byMs: wall - shiftedFrom };
    if (direct && resolution.kind === WallKind.Fold) {
      const { repeated } = this.#policy;
      return at === resolution.first ? { kind: 'fold-first', repeated } : { kind: 'fold-second', repeated };
    }
    return undefined;
  }

  /**
   * What the policy does at the zone's clock changes in (after, until]: for each change that skips
   * or repeats wall times this expression matches, which ones and what fires of them. Changes that
   * touch no matching time are left out.
   */
  dstEffects(after: number, until: number): DstEffect[] {
    const out: DstEffect[] = [];
    const { repeated, missing } = this.#policy;
    for (const change of this.#zone.transitions(after, until)) {
      const gap = change.offsetAfter > change.offsetBefore;
      // Gap: walls in [at + before, at + after) do not exist. Fold: walls in [at + after, at + before) occur twice.
      const from = change.at + Math.min(change.offsetBefore, change.offsetAfter);
      const to = change.at + Math.max(change.offsetBefore, change.offsetAfter);
      const walls: number[] = [];
      let count = 0;
      for (let wall = Math.ceil(from / SECOND) * SECOND; wall < to; wall += SECOND) {
        if (!this.matchesWall(wall)) continue;
        count++;
        if (walls.length < EFFECT_WALLS) walls.push(wall);
      }
      if (count === 0) continue;
      const fires: number[] = [];
      for (const wall of walls) {
        if (gap) {
          if (missing === 'shift') fires.push(wall - change.offsetBefore);
        } else {
          if (repeated !== 'second') fires.push(wall - change.offsetBefore);
          if (repeated !== 'first') fires.push(wall - change.offsetAfter);
        }
      }
      out.push({
        at: change.at,
        kind: gap ? 'gap' : 'fold',
        offsetBeforeMs: change.offsetBefore,
        offsetAfterMs: change.offsetAfter,
        walls: walls.map(formatWall),
        count,
        outcome: gap ? (missing === 'shift' ? 'shifted' : 'skipped') : repeated,
        fires: fires.sort((a, b) => a - b),
      });
    }
    return out;
  }
}

function maxOffsetAround(zone: ZoneRules, instant: number): number {
  return Math.max(zone.offsetAt(instant - DAY), zone.offsetAt(instant), zone.offsetAt(instant + DAY));
}

/** Index of the first value ≥ x in an ascending array (its length when there is none). */
function lowerBound(values: readonly number[], x: number): number {
  let lo = 0;
  let hi = values.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((values[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
