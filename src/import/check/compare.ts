/**
 * Celery's fires against Metronome's, instant by instant. Pure.
 *
 * Two instants within the tolerance are the same fire (a minute for solar events, whose two sun
 * models agree to within a minute: docs/time.md; a second otherwise). Two that differ by less than
 * PAIR are shown side by side as one moved fire (a DST change moves a fire by at most two hours);
 * anything else is a fire only one side makes. Instants within PAIR of a segment's end are not
 * judged, since their counterpart may lie just past it.
 */
import { HOUR, MINUTE, SECOND } from '../../time/index.ts';
import type { Segment } from './segments.ts';

const PAIR = 3 * HOUR;

export interface Difference {
  /** Celery's fire (epoch ms), null when only Metronome fires. */
  celery: number | null;
  /** Metronome's fire, null when only Celery fires. */
  metronome: number | null;
}

export function toleranceFor(kind: string): number {
  return kind === 'solar' ? MINUTE : SECOND;
}

export function compareFires(
  celery: number[],
  metronome: number[],
  tolerance: number,
  segments: Segment[],
): Difference[] {
  const near = (a: number, b: number) => Math.abs(a - b) <= tolerance;
  const out: Difference[] = [];
  let i = 0;
  let j = 0;
  while (i < celery.length || j < metronome.length) {
    const a = celery[i];
    const b = metronome[j];
    if (a !== undefined && b !== undefined) {
      if (near(a, b)) {
        i++;
        j++;
        continue;
      }
      // A fire the other side makes later on is a match there, not a moved fire here.
      const betterLater = hasNear(metronome, j + 1, a, tolerance) || hasNear(celery, i + 1, b, tolerance);
      if (Math.abs(a - b) < PAIR && !betterLater) {
        out.push({ celery: a, metronome: b });
        i++;
        j++;
        continue;
      }
    }
    if (b === undefined || (a !== undefined && a < b)) {
      out.push({ celery: a!, metronome: null });
      i++;
    } else {
      out.push({ celery: null, metronome: b });
      j++;
    }
  }
  return out.filter((d) => !nearSegmentEnd(d, segments));
}

/** Whether sorted `fires` has one within `tolerance` of `at`, from index `from` on. */
function hasNear(fires: number[], from: number, at: number, tolerance: number): boolean {
  let lo = from;
  let hi = fires.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (fires[mid]! < at - tolerance) lo = mid + 1;
    else hi = mid;
  }
  return lo < fires.length && fires[lo]! <= at + tolerance;
}

function nearSegmentEnd(d: Difference, segments: Segment[]): boolean {
  if (d.celery !== null && d.metronome !== null) return false;
  const at = (d.celery ?? d.metronome) as number;
  return segments.some((s) => at > s.end - PAIR && at <= s.end + PAIR);
}
