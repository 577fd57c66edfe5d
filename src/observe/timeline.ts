/**
 * One schedule's timeline: the last and the next hours in equal buckets. Past buckets count the
 * ledger's occurrences by outcome; future buckets count the fires to come. Bucketed, so a schedule
 * that fires every second draws as cheaply as a daily one.
 */
import type { Database } from '../db/database.ts';
import { statusCountsByBucket } from '../db/sql/occurrences-read.ts';
import { countFires } from './fire-counts.ts';
import type { RecordView } from './schedule-view.ts';

interface TimelineBucket {
  /** Bucket start, ISO 8601. */
  start: string;
  /** Runs enqueued or finished well (enqueued, running, succeeded). */
  ran: number;
  /** Slots that did not run or runs that did not succeed (missed, skipped, failed, expired, revoked). */
  problems: number;
  /** Occurrences claimed or waiting (claimed, buffered). */
  pending: number;
  /** Fires still to come. */
  upcoming: number;
}

export interface Timeline {
  from: string;
  to: string;
  now: string;
  bucketMs: number;
  buckets: TimelineBucket[];
  /** False when the future part stopped at its cap (a very frequent schedule). */
  complete: boolean;
}

const BUCKETS = 96;
const UPCOMING_CAP = 50_000;
const RAN = new Set(['enqueued', 'running', 'succeeded']);
const PENDING = new Set(['claimed', 'buffered']);

export async function scheduleTimeline(
  database: Database,
  view: RecordView,
  now: number,
  hours: number,
): Promise<Timeline> {
  const bucketMs = Math.ceil((2 * hours * 3_600_000) / BUCKETS);
  const from = now - (BUCKETS / 2) * bucketMs;
  const to = from + BUCKETS * bucketMs;
  const buckets: TimelineBucket[] = Array.from({ length: BUCKETS }, (_, i) => ({
    start: new Date(from + i * bucketMs).toISOString(),
    ran: 0,
    problems: 0,
    pending: 0,
    upcoming: 0,
  }));
  const rows = await statusCountsByBucket(database, view.record.name, { from, to, bucketMs });
  for (const row of rows) {
    const bucket = buckets[Number(row.bucket)];
    if (!bucket) continue;
    const n = Number(row.n);
    if (RAN.has(row.status)) bucket.ran += n;
    else if (PENDING.has(row.status)) bucket.pending += n;
    else bucket.problems += n;
  }
  let complete = true;
  if (view.schedule && view.state === 'enabled') {
    const result = countFires(
      view.schedule,
      view.record,
      Math.max(now, view.nextFireAt === null ? now : view.nextFireAt - 1),
      { from, bucketMs, buckets: BUCKETS },
      UPCOMING_CAP,
      (i, n) => {
        const bucket = buckets[i];
        if (bucket) bucket.upcoming += n;
      },
    );
    complete = result.complete;
  }
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    now: new Date(now).toISOString(),
    bucketMs,
    buckets,
    complete,
  };
}
