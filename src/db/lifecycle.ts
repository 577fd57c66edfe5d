/**
 * An occurrence's lifecycle, written once: which status may follow which. Every status write of the
 * leader goes through `transition` (src/beat/ledger-writer.ts, src/db/sql/occurrences.ts), which refuses a step this table
 * does not have — a write can never move an occurrence backwards or out of a finished status.
 *
 *   (claim) ─► claimed ─┬─► enqueued ─► running ─┬─► succeeded | failed | expired | revoked
 *      │                │       └────────────────┴─► lease_ended
 *      │                ├─► buffered ─► claimed (released) | enqueued | skipped_overlap | …
 *      │                ├─► skipped_overlap | missed (superseded, out of window, taken back)
 *      │                ├─► skipped (an operator's skip, or a calendar that now excludes its day, landed
 *      │                │   while it was claimed ahead)
 *      │                └─► succeeded (done on enqueue) | failed (schedule gone before the send)
 *      └─► missed | skipped (a slot recorded without running; skipped: `beat skip`, a business calendar)
 *
 * `claimed` to `claimed` is not a step: it notes why an attempt failed, the status unchanged.
 * Nor is a backfill's claim of a `missed` slot (never sent) as `claimed`: that is a claim, made in
 * the backfill's own fenced transaction (src/db/sql/backfills.ts), not a status write.
 */
import type { OccurrenceStatus } from '../db/schema.ts';

/** For each status, the statuses it may follow. */
const MAY_FOLLOW: Readonly<Record<OccurrenceStatus, readonly OccurrenceStatus[]>> = {
  claimed: ['claimed', 'buffered'],
  buffered: ['claimed'],
  enqueued: ['claimed', 'buffered'],
  running: ['enqueued'],
  succeeded: ['claimed', 'buffered', 'enqueued', 'running'],
  failed: ['claimed', 'buffered', 'enqueued', 'running'],
  expired: ['enqueued', 'running'],
  revoked: ['enqueued', 'running'],
  lease_ended: ['enqueued', 'running'],
  skipped_overlap: ['claimed', 'buffered'],
  missed: ['claimed', 'buffered'],
  skipped: ['claimed'],
  paused: [],
};

/** Statuses nothing follows: the occurrence is over (finished_at is set when it gets one). */
export const FINISHED_STATUSES: ReadonlySet<OccurrenceStatus> = new Set([
  'succeeded',
  'failed',
  'expired',
  'skipped_overlap',
  'missed',
  'skipped',
  'revoked',
  'lease_ended',
]);

/** The statuses `status` may follow. */
export function mayFollow(status: OccurrenceStatus): readonly OccurrenceStatus[] {
  return MAY_FOLLOW[status];
}

/**
 * The step to `to` from `from` (default: every status it may follow). Throws when the table has no
 * such step: a programming error, never a user's.
 */
export function transition(
  to: OccurrenceStatus,
  from: readonly OccurrenceStatus[] = MAY_FOLLOW[to],
): readonly OccurrenceStatus[] {
  const allowed = MAY_FOLLOW[to];
  const wrong = from.filter((f) => !allowed.includes(f));
  if (wrong.length > 0 || from.length === 0)
    throw new Error(
      `no occurrence status step ${wrong.join('|') || '(none)'} → ${to} (see src/db/lifecycle.ts)`,
    );
  return from;
}
