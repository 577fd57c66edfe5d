/**
 * A brute-force reference for crontab fire times, written to share nothing with the engine's walk
 * or its zone table:
 * - day and time matching come from cron-parser itself, evaluated in UTC on the wall-clock fields
 *   (in UTC there is no DST, so cron-parser's own `includesDate` is right there); Celery's object
 *   form is checked as two expressions that must both match;
 * - wall times are resolved with raw Intl offsets, by the rule in docs/time.md ("DST: one rule"), or
 *   by an explicit DST policy (first / second / both passes of a repeated time, shift or skip a
 *   missing one: all that matters is which valid instants a wall time has). Offsets are
 *   memoised per minute (every tzdata transition since 1970 is on a whole minute — not always a
 *   quarter hour: St. John's changed clocks at 00:01 until 2011); to keep this fast, a quarter hour
 *   whose two ends have the same offset is taken whole.
 * It walks every local day and every candidate of that day, so it is slow; tests keep windows short.
 */
import { CronExpressionParser } from 'cron-parser';

type Expr = ReturnType<typeof CronExpressionParser.parse>;
const MINUTE = 60_000;
const QUARTER = 15 * MINUTE;
const HOUR = 3_600_000;
const DAY = 86_400_000;

/** One memo per zone, shared by every call: offsets never change for a given minute. */
const OFFSETS = new Map<string, IntlOffsets>();
function offsetsFor(zone: string): IntlOffsets {
  let offsets = OFFSETS.get(zone);
  if (!offsets) {
    offsets = new IntlOffsets(zone);
    OFFSETS.set(zone, offsets);
  }
  return offsets;
}

export class IntlOffsets {
  readonly #format: Intl.DateTimeFormat;
  readonly #memo = new Map<number, number>();
  constructor(zone: string) {
    this.#format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  }
  /** Local minus UTC in ms at `instant`. */
  at(instant: number): number {
    const quarter = Math.floor(instant / QUARTER) * QUARTER;
    const start = this.#minute(quarter);
    if (start === this.#minute(quarter + QUARTER)) return start;
    return this.#minute(Math.floor(instant / MINUTE) * MINUTE);
  }

  #minute(t: number): number {
    const cached = this.#memo.get(t);
    if (cached !== undefined) return cached;
    const p: Record<string, number> = {};
    for (const part of this.#format.formatToParts(t)) p[part.type] = Number(part.value);
    const wall = Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute, p.second);
    const offset = wall - t;
    this.#memo.set(t, offset);
    return offset;
  }
}

export interface ReferenceFire {
  at: number;
  wall: number;
}

interface Matcher {
  days(wallDayStart: number): boolean;
  seconds: number[];
  minutes: number[];
  hours: number[];
  realTime: boolean;
}

function matcherFor(cron: string | Record<string, unknown>, name?: string): Matcher {
  if (typeof cron === 'string') {
    const macros: Record<string, string> = {
      '@yearly': '0 0 1 1 *',
      '@annually': '0 0 1 1 *',
      '@monthly': '0 0 1 * *',
      '@weekly': '0 0 * * 0',
      '@daily': '0 0 * * *',
      '@midnight': '0 0 * * *',
      '@hourly': '0 * * * *',
    };
    const text = macros[cron.trim()] ?? cron.trim();
    const atoms = text.split(/\s+/);
    const six = atoms.length === 5 ? ['0', ...atoms] : atoms;
    const expr = CronExpressionParser.parse(six.join(' '), { tz: 'UTC', hashSeed: name });
    return fromExprs([expr], six[2] as string);
  }
  const f = (key: string) => {
    const v = cron[key];
    if (v === undefined) return '*';
    return Array.isArray(v) ? v.join(',') : String(v);
  };
  const [minute, hour, dom, month, dow] = [
    f('minute'),
    f('hour'),
    f('dayOfMonth'),
    f('monthOfYear'),
    f('dayOfWeek'),
  ];
  // Celery: every field must match. Check day-of-month and day-of-week as two separate expressions.
  const byDom = CronExpressionParser.parse(`0 ${minute} ${hour} ${dom} ${month} *`, { tz: 'UTC' });
  const byDow = CronExpressionParser.parse(`0 ${minute} ${hour} * ${month} ${dow}`, { tz: 'UTC' });
  return fromExprs([byDom, byDow], hour);
}

function fromExprs(exprs: Expr[], hourText: string): Matcher {
  const f = (exprs[0] as Expr).fields;
  const nums = (v: readonly (number | string)[]) => v.filter((x): x is number => typeof x === 'number');
  const seconds = nums(f.second.values);
  const minutes = nums(f.minute.values);
  const hours = nums(f.hour.values);
  return {
    seconds,
    minutes,
    hours,
    realTime: hourText.startsWith('*'),
    // includesDate on a UTC date whose fields are the wall-clock fields: pure calendar matching.
    days: (dayStart) =>
      exprs.every((e) =>
        e.includesDate(
          new Date(
            dayStart +
              (hours[0] as number) * HOUR +
              (minutes[0] as number) * MINUTE +
              (seconds[0] as number) * 1000,
          ),
        ),
      ),
  };
}

/** A DST policy as the reference reads it (the engine's is src/time/dst.ts). */
export interface ReferencePolicy {
  repeated: 'first' | 'second' | 'both';
  missing: 'shift' | 'skip';
}

/** The rule without a policy: real time fires every valid instant; a time of day the first, or shifted. */
export function referenceDefault(realTime: boolean): ReferencePolicy {
  return realTime ? { repeated: 'both', missing: 'skip' } : { repeated: 'first', missing: 'shift' };
}

/** Resolve a wall time by a policy: the valid instant(s) it picks, or the gap-shifted one, or none. */
export function resolveWall(wall: number, offsets: IntlOffsets, policy: ReferencePolicy): number[] {
  const candidates = new Set<number>();
  for (const probe of [-26, -13, 0, 13, 26]) candidates.add(offsets.at(wall + probe * HOUR));
  const valid = [...new Set([...candidates].map((o) => wall - o).filter((t) => t + offsets.at(t) === wall))];
  valid.sort((a, b) => a - b);
  if (valid.length === 2) {
    if (policy.repeated === 'first') return [valid[0] as number];
    if (policy.repeated === 'second') return [valid[1] as number];
    return valid;
  }
  if (valid.length > 0) return valid;
  // A gap: read the wall time with the offset in force before it (the smaller one), or skip it.
  return policy.missing === 'shift' ? [wall - Math.min(...candidates)] : [];
}

/** The first `count` fires strictly after `after`, by brute force. */
export function referenceFires(
  cron: string | Record<string, unknown>,
  zone: string,
  after: number,
  count: number,
  name?: string,
  maxDays = 3 * 366,
  policy?: ReferencePolicy,
): ReferenceFire[] {
  const m = matcherFor(cron, name);
  const dst = policy ?? referenceDefault(m.realTime);
  const offsets = offsetsFor(zone);
  const startDay = Math.floor((after + offsets.at(after)) / DAY) - 2;
  const found = new Map<number, number>();
  // No offset is beyond ±15 h and a gap shifts by at most a day, so a wall time more than 15 h
  // before `after`, or 15 h + a day past the count-th fire found so far, cannot change the answer.
  const low = after - 15 * HOUR;
  let cutoff = Number.POSITIVE_INFINITY;
  for (let d = startDay; d < startDay + maxDays; d++) {
    const dayStart = d * DAY;
    if (dayStart > cutoff) break;
    if (dayStart + DAY < low || !m.days(dayStart)) continue;
    for (const h of m.hours)
      for (const mi of m.minutes)
        for (const s of m.seconds) {
          const wall = dayStart + h * HOUR + mi * MINUTE + s * 1000;
          if (wall < low || wall > cutoff) continue;
          for (const t of resolveWall(wall, offsets, dst)) {
            if (t > after && !found.has(t)) found.set(t, wall);
          }
        }
    if (found.size >= count) {
      const nth = [...found.keys()].sort((a, b) => a - b)[count - 1] as number;
      cutoff = nth + 15 * HOUR + DAY;
    }
  }
  return [...found.entries()]
    .sort((a, b) => a[0] - b[0])
    .slice(0, count)
    .map(([at, wall]) => ({ at, wall }));
}

/** Instants where the zone's offset changes in [from, to), found by hourly sampling and bisection. */
export function findTransitions(zone: string, from: number, to: number): number[] {
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: zone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
  });
  // Not memoised: this is what checks the quarter-hour assumption of IntlOffsets.
  const offsets = {
    at(t: number) {
      const p: Record<string, number> = {};
      for (const part of format.formatToParts(t)) p[part.type] = Number(part.value);
      return (
        Date.UTC(p.year as number, (p.month as number) - 1, p.day, p.hour, p.minute) -
        Math.floor(t / MINUTE) * MINUTE
      );
    },
  };
  const out: number[] = [];
  for (let t = from; t < to; t += HOUR) {
    if (offsets.at(t) !== offsets.at(t + HOUR)) {
      let lo = t;
      let hi = t + HOUR;
      while (hi - lo > MINUTE) {
        const mid = lo + Math.floor((hi - lo) / 2 / MINUTE) * MINUTE;
        if (offsets.at(mid) === offsets.at(lo)) lo = mid;
        else hi = mid;
      }
      out.push(hi);
    }
  }
  return out;
}
