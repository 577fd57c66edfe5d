/**
 * Time zone rules: the UTC offset in force at an instant, and the resolution of a local wall-clock
 * time to the instant(s) it names. This is where DST is decided, so nothing else in the engine has
 * to think about it.
 *
 * Offsets come from the platform's tzdata through Intl, which is exact but slow (microseconds per
 * call). So each zone keeps a table of offset periods, built lazily in 400-day chunks by sampling
 * Intl every few hours and bisecting each change down to the second; a lookup is then a Map hit and
 * a short binary search, and the common case (same period as the last lookup) is two comparisons.
 */
import { DAY, daysFromCivil, SECOND } from './civil.ts';
import { ScheduleSpecError } from './errors.ts';

/** Chunk length: a whole number of days (so chunk edges are whole seconds) a bit over a year. */
const CHUNK = 400 * DAY;
/**
 * Sampling step inside a chunk. Two offset changes closer together than this would be missed; no
 * zone in tzdata since 1970 has them (the closest real pairs are Ramadan suspensions, weeks apart).
 */
const SAMPLE_STEP = 6 * 3_600_000;

interface Chunk {
  /** Start instant of each offset period inside the chunk, ascending; starts[0] is the chunk start. */
  starts: number[];
  /** Offset (ms, local minus UTC) of each period. */
  offsets: number[];
  end: number;
}

/** How a wall-clock time maps to instants. */
export const WallKind = {
  /** Exactly one instant has this wall-clock time. */
  Unique: 0,
  /** No instant has it: the clocks jumped over it (spring forward). */
  Gap: 1,
  /** Two instants have it: the clocks went back over it (fall back). */
  Fold: 2,
} as const;
export type WallKind = (typeof WallKind)[keyof typeof WallKind];

/** Out-parameter of {@link ZoneRules.resolve}, reused by callers to keep the hot path allocation-free. */
export interface WallResolution {
  kind: WallKind;
  /**
   * Unique: the instant. Fold: the earlier instant. Gap: the wall time read with the offset in force
   * before the gap, i.e. shifted forward by the gap's length (RFC 5545 / Temporal "compatible").
   */
  first: number;
  /** Fold: the later instant. Otherwise NaN. */
  second: number;
}

export function newResolution(): WallResolution {
  return { kind: WallKind.Unique as WallKind, first: Number.NaN, second: Number.NaN };
}

export class ZoneRules {
  readonly name: string;
  readonly #format: Intl.DateTimeFormat;
  readonly #chunks = new Map<number, Chunk>();
  // The period of the last lookup: most lookups in a scan land in it again.
  #lastFrom = 1;
  #lastTo = 0;
  #lastOffset = 0;

  private constructor(name: string, format: Intl.DateTimeFormat) {
    this.name = name;
    this.#format = format;
  }

  static #cache = new Map<string, ZoneRules>();

  /** The rules of an IANA zone; throws {@link ScheduleSpecError} for a name that is not one. */
  static get(name: unknown, field = 'timezone'): ZoneRules {
    if (typeof name === 'string') {
      const cached = ZoneRules.#cache.get(name);
      if (cached) return cached;
    }
    const format = createFormat(name, field);
    const rules = new ZoneRules(name as string, format);
    ZoneRules.#cache.set(rules.name, rules);
    return rules;
  }

  /** Offset in milliseconds (local time minus UTC) in force at `instant`. */
  offsetAt(instant: number): number {
    if (instant >= this.#lastFrom && instant < this.#lastTo) return this.#lastOffset;
    const chunk = this.#chunk(Math.floor(instant / CHUNK));
    const { starts, offsets } = chunk;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= instant) lo = mid;
      else hi = mid - 1;
    }
    this.#lastFrom = starts[lo] as number;
    this.#lastTo = lo + 1 < starts.length ? (starts[lo + 1] as number) : chunk.end;
    this.#lastOffset = offsets[lo] as number;
    return this.#lastOffset;
  }

  /** The instants in (after, until] where the offset changes, with the offsets either side. */
  transitions(
    after: number,
    until: number,
  ): Array<{ at: number; offsetBefore: number; offsetAfter: number }> {
    const out: Array<{ at: number; offsetBefore: number; offsetAfter: number }> = [];
    for (let index = Math.floor(after / CHUNK); index * CHUNK <= until; index++) {
      const { starts, offsets } = this.#chunk(index);
      for (let i = 0; i < starts.length; i++) {
        const at = starts[i] as number;
        if (at <= after || at > until) continue;
        // A chunk's first period may continue the previous chunk's: not a change.
        const offsetBefore = i > 0 ? (offsets[i - 1] as number) : this.offsetAt(at - SECOND);
        const offsetAfter = offsets[i] as number;
        if (offsetBefore !== offsetAfter) out.push({ at, offsetBefore, offsetAfter });
      }
    }
    return out;
  }

  #chunk(index: number): Chunk {
    let chunk = this.#chunks.get(index);
    if (!chunk) {
      chunk = this.#buildChunk(index);
      this.#chunks.set(index, chunk);
    }
    return chunk;
  }

  /** The local wall-clock time at `instant`, as milliseconds since 1970 read as if it were UTC. */
  wallAt(instant: number): number {
    return instant + this.offsetAt(instant);
  }

  /**
   * Resolve a wall-clock time (ms since 1970 read as UTC) to instants. Assumes offset changes are
   * more than a day apart, as they are in every zone; the offsets a day either side of the wall time
   * are the two that can apply to it.
   */
  resolve(wall: number, out: WallResolution): WallResolution {
    const before = this.offsetAt(wall - DAY);
    const after = this.offsetAt(wall + DAY);
    const t1 = wall - before;
    if (before === after && this.offsetAt(t1) === before) {
      out.kind = WallKind.Unique;
      out.first = t1;
      out.second = Number.NaN;
      return out;
    }
    const t2 = wall - after;
    const valid1 = this.offsetAt(t1) === before;
    const valid2 = this.offsetAt(t2) === after;
    if (valid1 && valid2 && t1 !== t2) {
      out.kind = WallKind.Fold;
      out.first = Math.min(t1, t2);
      out.second = Math.max(t1, t2);
    } else if (valid1 || valid2) {
      out.kind = WallKind.Unique;
      out.first = valid1 ? t1 : t2;
      out.second = Number.NaN;
    } else {
      out.kind = WallKind.Gap;
      out.first = t1;
      out.second = Number.NaN;
    }
    return out;
  }

  #buildChunk(index: number): Chunk {
    const start = index * CHUNK;
    const end = start + CHUNK;
    const starts = [start];
    const offsets = [this.#intlOffset(start)];
    let previous = start;
    let current = offsets[0] as number;
    for (let t = Math.min(start + SAMPLE_STEP, end - SECOND); ; t = Math.min(t + SAMPLE_STEP, end - SECOND)) {
      const offset = this.#intlOffset(t);
      if (offset !== current) {
        // Bisect (previous, t] down to the first second that has the new offset.
        let lo = previous;
        let hi = t;
        while (hi - lo > SECOND) {
          const mid = lo + Math.floor((hi - lo) / 2 / SECOND) * SECOND;
          if (this.#intlOffset(mid) === current) lo = mid;
          else hi = mid;
        }
        starts.push(hi);
        offsets.push(offset);
        current = offset;
      }
      previous = t;
      if (t === end - SECOND) break;
    }
    return { starts, offsets, end };
  }

  #intlOffset(instant: number): number {
    const second = Math.floor(instant / SECOND) * SECOND;
    let year = 0;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let sec = 0;
    let bc = false;
    for (const part of this.#format.formatToParts(second)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          minute = Number(part.value);
          break;
        case 'second':
          sec = Number(part.value);
          break;
        case 'era':
          bc = part.value.startsWith('B');
          break;
      }
    }
    if (bc) year = 1 - year;
    const wall = daysFromCivil(year, month, day) * DAY + hour * 3_600_000 + minute * 60_000 + sec * SECOND;
    return wall - second;
  }
}

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+\-/]*$/;

function createFormat(name: unknown, field: string): Intl.DateTimeFormat {
  if (typeof name !== 'string' || name === '') {
    throw new ScheduleSpecError(field, name, 'a time zone is required', ALLOWED_ZONES);
  }
  if (!ZONE_NAME.test(name)) {
    throw new ScheduleSpecError(field, name, 'not an IANA time zone name', ALLOWED_ZONES);
  }
  try {
    return new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      era: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    const hint = suggestZone(name);
    throw new ScheduleSpecError(
      field,
      name,
      `unknown time zone${hint ? ` (did you mean "${hint}"?)` : ''}`,
      ALLOWED_ZONES,
    );
  }
}

const ALLOWED_ZONES = 'an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"';

function suggestZone(name: string): string | undefined {
  const wanted = name.toLowerCase().replace(/[ -]/g, '_');
  const last = wanted.split('/').pop() ?? wanted;
  for (const zone of Intl.supportedValuesOf('timeZone')) {
    const lower = zone.toLowerCase();
    if (lower === wanted || lower.endsWith(`/${last}`)) return zone;
  }
  return undefined;
}
