/**
 * Which segments of the window `--check` replays, and Metronome's fires in them. Pure.
 *
 * A schedule that fires at most CAP times in the window is compared over all of it. A more frequent
 * one (every minute is 576,000 fires in 400 days: minutes of Celery's Python) is compared over its
 * first FIRST fires and the two days around each UTC offset change of its zone in the window — the
 * only places where its times can part. Each segment starts as if both beats had just run it there:
 * Celery's replay starts with `last_run_at` at the segment's start, and an interval's segment starts
 * on its grid.
 */
import { nextFireWithin, type ScheduleFields } from '../../model/index.ts';
import { DAY, formatDuration, HOUR, type Schedule, ZoneRules } from '../../time/index.ts';

const CAP = 5_000;
const FIRST = 1_000;
/** The least reach either side of an offset change: the longest move (2 h) plus PAIR (3 h). */
const CHANGE_REACH = 5 * HOUR;

export interface Segment {
  start: number;
  end: number;
}

export interface Segments {
  segments: Segment[];
  /** How the window was cut down, for the report; null when it was compared whole. */
  partial: string | null;
}

type Window = Pick<ScheduleFields, 'startAt' | 'endAt' | 'maxRuns' | 'kind' | 'everyMs' | 'anchorAt'>;

/** The instant a segment starting at `at` really starts from: for an interval, its grid point at or before. */
function segmentStart(fields: Window, at: number): number {
  if (fields.kind !== 'interval' || fields.everyMs === null) return at;
  const anchor = fields.anchorAt?.getTime() ?? 0;
  return anchor + Math.floor((at - anchor) / fields.everyMs) * fields.everyMs;
}

/** Metronome's fires in (start, end], as the runtime would make them (start/end window, max runs). */
export function metronomeFires(
  schedule: Schedule,
  fields: Window,
  segment: Segment,
  limit = Infinity,
): number[] {
  const fires: number[] = [];
  const window = { ...fields, totalRuns: 0 };
  for (let t = nextFireWithin(schedule, window, segment.start); t !== null && t <= segment.end; ) {
    fires.push(t);
    if (fires.length >= limit || (fields.maxRuns !== null && fires.length >= fields.maxRuns)) break;
    t = nextFireWithin(schedule, window, t);
  }
  return fires;
}

export function planSegments(
  schedule: Schedule,
  fields: Window,
  from: number,
  to: number,
  zone: string | null,
): Segments {
  const whole = { start: segmentStart(fields, from), end: to };
  const fires = metronomeFires(schedule, fields, whole, CAP + 1);
  if (fires.length <= CAP) return { segments: [whole], partial: null };
  const changes = zone ? offsetChanges(ZoneRules.get(zone), from, to) : [];
  const reach = changeReach(fires, changes.length);
  const segments = merge([
    { start: whole.start, end: fires[FIRST - 1]! },
    ...changes.map((c) => ({ start: segmentStart(fields, c - reach), end: c + reach })),
  ]);
  return {
    segments,
    partial: `it fires more than ${CAP.toLocaleString('en')} times in the window: compared its first ${FIRST.toLocaleString('en')} fires${
      changes.length > 0
        ? ` and the ${reach === DAY ? 'two days' : `${formatDuration(2 * reach)}`} around each of the ${changes.length} UTC offset changes of ${zone}`
        : ''
    }`,
  };
}

/**
 * How far either side of an offset change to compare: a day, or less where that holds more than the
 * cap's share of fires — but never under CHANGE_REACH, which covers a fire a change moves (at most
 * two hours) plus the pairing margin (PAIR) at the segment's ends.
 */
function changeReach(fires: number[], changes: number): number {
  if (changes === 0) return DAY;
  const spacing = (fires[fires.length - 1]! - fires[0]!) / Math.max(1, fires.length - 1);
  const share = ((CAP - FIRST) / changes / 2) * spacing;
  return Math.min(DAY, Math.max(CHANGE_REACH, share));
}

function merge(segments: Segment[]): Segment[] {
  const sorted = [...segments].sort((a, b) => a.start - b.start);
  const out: Segment[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

/** The instants in (from, to] at which the zone's UTC offset changes, to the second. */
export function offsetChanges(zone: ZoneRules, from: number, to: number): number[] {
  const changes: number[] = [];
  let t = from;
  let offset = zone.offsetAt(t);
  while (t < to) {
    const n = Math.min(t + HOUR, to);
    if (zone.offsetAt(n) !== offset) {
      let lo = t;
      let hi = n;
      while (hi - lo > 1000) {
        const mid = Math.floor((lo + hi) / 2);
        if (zone.offsetAt(mid) === offset) lo = mid;
        else hi = mid;
      }
      changes.push(hi);
      offset = zone.offsetAt(n);
    }
    t = n;
  }
  return changes;
}
