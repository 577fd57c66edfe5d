/**
 * A schedule's run lock: its key, and how long it lasts when nobody sees the run finish
 * (docs/runtime.md, "Overlap"). Pure: the beat takes and extends run locks with these; observe/
 * reads them by the same key.
 */
import type { ScheduleRecord } from './schedule.ts';

const HOUR = 3_600_000;
/** A lock shorter than this protects nothing (it would expire before the send is confirmed). */
const MIN_LOCK_MS = 100;

type LeaseFields = Pick<ScheduleRecord, 'runLeaseMs' | 'timeLimitS'>;

/**
 * How long a run lock lasts from now when nobody sees the run finish (docs/runtime.md, "Overlap"):
 * - `runLease` if the schedule sets one, else its hard time limit (at most an hour): how long the
 *   person who wrote the schedule says a run may take;
 * - otherwise until the next slot's fire instant: a lock whose run cannot be observed must never
 *   cost the next on-time slot. (Measured from the slot, not from the send: a lease of "one
 *   interval" counted from a send that was a little late would still be held when the next slot
 *   is due.) A run seen still going keeps its lock past that, lease by lease (see runs-in-flight.ts).
 */
export function lockLeaseMs(record: LeaseFields, nextFireAt: number | null, now: number): number {
  if (record.runLeaseMs !== null) return Math.max(1_000, record.runLeaseMs);
  if (record.timeLimitS !== null) return Math.min(HOUR, Math.max(1_000, record.timeLimitS * 1_000));
  if (nextFireAt !== null) return Math.min(HOUR, Math.max(MIN_LOCK_MS, Math.floor(nextFireAt - now)));
  return HOUR;
}

/** What one extension of a run seen still going adds: the run lease, else the interval, at least a second. */
export function extensionMs(record: LeaseFields, scheduledFor: number, nextSlot: number | null): number {
  if (record.runLeaseMs !== null) return Math.max(1_000, record.runLeaseMs);
  if (record.timeLimitS !== null) return Math.min(HOUR, Math.max(1_000, record.timeLimitS * 1_000));
  if (nextSlot !== null) return Math.min(HOUR, Math.max(1_000, nextSlot - scheduledFor));
  return HOUR;
}

/**
 * How long a run may keep its lock by looking active: its hard time limit (the worker kills it
 * then) plus a minute, or the configured maximum when it has none.
 */
export function holdMs(record: Pick<ScheduleRecord, 'timeLimitS'>, maxRunHoldMs: number): number {
  return record.timeLimitS !== null ? record.timeLimitS * 1_000 + 60_000 : maxRunHoldMs;
}

/**
 * The run lock a schedule's runs take: its exclusion group's when it names one (every schedule of
 * the group takes the same lock, so no two runs of the group overlap), else its own, keyed by its id
 * (stable across renames). The key is also the scope the runtime tracks runs in flight by.
 */
export function lockKey(record: Pick<ScheduleRecord, 'id' | 'exclusionGroup'>): string {
  return record.exclusionGroup === null ? `schedule:${record.id}` : `group:${record.exclusionGroup}`;
}
