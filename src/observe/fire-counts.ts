/**
 * How many fires of a schedule land in each bucket of a time range: the 24-hour view's per-minute
 * counts and a schedule's timeline. Pure. A fire lands at its slot plus the schedule's jitter (the
 * same deterministic jitter the leader applies). An interval without jitter is counted by
 * arithmetic on its grid, whatever its frequency; anything else is walked fire by fire, at most
 * `cap` fires (a walk that stops there says so).
 */

import { nextFireWithin, type ScheduleRecord } from '../model/index.ts';
import { fireAtOf } from '../model/plan.ts';
import type { Schedule } from '../time/index.ts';

export type FireWindow = Pick<
  ScheduleRecord,
  'name' | 'kind' | 'everyMs' | 'anchorAt' | 'jitterMs' | 'startAt' | 'endAt' | 'maxRuns' | 'totalRuns'
>;

export interface BucketRange {
  /** First bucket's start, epoch ms. */
  from: number;
  bucketMs: number;
  buckets: number;
}

export interface CountResult {
  fires: number;
  /** False when the walk stopped at the cap. */
  complete: boolean;
  /** Fires walked (the cost), for budgets across many schedules. */
  walked: number;
}

/** Count the fires after `after` (exclusive) that land in the range; `add(bucket, n)` receives them. */
export function countFires(
  schedule: Schedule,
  record: FireWindow,
  after: number,
  range: BucketRange,
  cap: number,
  add: (bucket: number, n: number) => void,
): CountResult {
  if (record.kind === 'interval' && record.everyMs && record.jitterMs === 0 && record.maxRuns === null) {
    return countGrid(record.everyMs, record.anchorAt?.getTime() ?? 0, record, after, range, add);
  }
  const end = range.from + range.bucketMs * range.buckets;
  let fires = 0;
  let walked = 0;
  let cursor = after;
  let runs = record.totalRuns;
  while (walked < cap) {
    const slot = nextFireWithin(schedule, { ...record, totalRuns: runs }, cursor);
    // Jitter only delays, so a slot at or past the end cannot land inside.
    if (slot === null || slot >= end) return { fires, complete: true, walked };
    walked++;
    runs++;
    cursor = slot;
    const at = fireAtOf(record.name, slot, record.jitterMs);
    if (at < range.from || at >= end) continue;
    add(Math.floor((at - range.from) / range.bucketMs), 1);
    fires++;
  }
  return { fires, complete: false, walked };
}

/** Fires of `anchor + k × every` in each bucket, within the window and after `after`. */
function countGrid(
  every: number,
  anchor: number,
  record: FireWindow,
  after: number,
  range: BucketRange,
  add: (bucket: number, n: number) => void,
): CountResult {
  const lo = Math.max(after + 1, record.startAt?.getTime() ?? Number.NEGATIVE_INFINITY);
  const hi = record.endAt ? record.endAt.getTime() + 1 : Number.POSITIVE_INFINITY;
  // Grid points in [a, b): ceil((b - anchor) / every) - ceil((a - anchor) / every).
  const upTo = (t: number) => Math.ceil((t - anchor) / every);
  let fires = 0;
  for (let i = 0; i < range.buckets; i++) {
    const a = Math.max(lo, range.from + i * range.bucketMs);
    const b = Math.min(hi, range.from + (i + 1) * range.bucketMs);
    if (b <= a) continue;
    const n = upTo(b) - upTo(a);
    if (n > 0) {
      add(i, n);
      fires += n;
    }
  }
  return { fires, complete: true, walked: range.buckets };
}
