/**
 * What to do with a due schedule: which slots run now, which are recorded missed, and where its
 * cursor (`next_fire_at`, the first slot not yet handled) moves. Pure: the tick calls it inside the
 * claim; tests call it directly.
 *
 * A slot is *on time* while its fire instant (slot + jitter) is at most `graceMs` in the past: it
 * runs, whatever the policy — that is normal operation, including a tick that woke late. Older due
 * slots were *missed* (downtime, a failover, a pause) and follow the schedule's catch-up policy
 * within its catch-up window:
 * - `latest`: one run now for the most recent missed slot, unless an on-time slot runs anyway;
 * - `all`: each missed slot in the window runs (the most recent `ALL_CAP`), oldest first, as fast as
 *   the catch-up budget allows — the cursor stops where the budget ran out (the caller gives a
 *   budget of one run at a time to schedules whose runs must not overlap);
 * - `skip`: none run.
 * Every slot that does not run gets a `missed` row. A very long outage of a very frequent schedule
 * records the first `MISSED_ROWS_CAP` missed slots one by one and then one row that covers the rest.
 *
 * An operator's skip (`beat skip`: `skipLeft`) takes the first slots that would run, in order: each is
 * `skipped` instead (recorded with the operator's reason, never sent), and the claim consumes them
 * from the schedule's skip count in its own transaction. A skipped slot is not a run (maxRuns).
 */

import { jitterFor, type Schedule } from '../time/index.ts';
import type { CatchupPolicy } from './schedule.ts';

export const ALL_CAP = 100;
export const MISSED_ROWS_CAP = 1_000;
/** How many due slots one plan looks at; a backlog beyond it is handled over the next ticks. */
const SCAN_CAP = 20_000;

export interface PlanInput {
  name: string;
  schedule: Schedule;
  cursor: number;
  now: number;
  /**
   * Slots whose fire instant is at most this are handled now (claimed ahead of their instant when it
   * is later than `now`: see src/beat/claimed-ahead.ts); default `now`. Lateness is judged by `now` alone.
   */
  claimUntil?: number;
  catchup: CatchupPolicy;
  catchupWindowMs: number;
  jitterMs: number;
  graceMs: number;
  startAt: number | null;
  endAt: number | null;
  /** Runs still allowed by maxRuns (Infinity without a limit). */
  runsLeft: number;
  /** Catch-up runs the global budget allows now (policy `all`). */
  catchupBudget: number;
  /** How many of the next runs an operator skipped (`beat skip`); default 0. */
  skipLeft?: number;
}

export interface PlannedSlot {
  scheduledFor: number;
  fireAt: number;
}

export interface MissedSlot extends PlannedSlot {
  reason: string;
}

export interface Plan {
  run: PlannedSlot[];
  missed: MissedSlot[];
  /** Slots that would have run, skipped by an operator (`skipLeft`), oldest first. */
  skipped: PlannedSlot[];
  /** The new cursor: the first slot not handled; null when the schedule is done. */
  cursor: number | null;
  /** Catch-up runs taken from the global budget. */
  catchupRuns: number;
}

export function fireAtOf(name: string, scheduledFor: number, jitterMs: number): number {
  return scheduledFor + jitterFor(name, scheduledFor, jitterMs);
}

export function planDue(input: PlanInput): Plan {
  const { name, schedule, now, jitterMs, graceMs, catchup } = input;
  const slot = (scheduledFor: number): PlannedSlot => ({
    scheduledFor,
    fireAt: fireAtOf(name, scheduledFor, jitterMs),
  });
  const why = (detail: string) =>
    `missed: ${detail} (catch-up ${catchup}, window ${input.catchupWindowMs} ms)`;
  const windowStart = now - input.catchupWindowMs;
  const missed: MissedSlot[] = [];
  let cursor: number | null =
    input.startAt !== null && input.cursor < input.startAt ? schedule.next(input.startAt - 1) : input.cursor;
  const ended = (at: number) => input.endAt !== null && at > input.endAt;

  // Slots older than the catch-up window never run: record them, one row each up to the cap, then
  // one row for the rest and a jump to the window.
  while (cursor !== null && !ended(cursor) && cursor < windowStart && now - slot(cursor).fireAt > graceMs) {
    if (missed.length < MISSED_ROWS_CAP - 1) {
      missed.push({ ...slot(cursor), reason: why('older than the catch-up window') });
      cursor = schedule.next(cursor);
    } else {
      const jumpTo = schedule.next(windowStart - 1);
      missed.push({
        ...slot(cursor),
        reason: why(
          `every slot from ${new Date(cursor).toISOString()} to ${new Date(windowStart).toISOString()} (one row for all)`,
        ),
      });
      cursor = jumpTo;
    }
  }

  // The due slots inside the window, in order (and those claimed ahead, up to claimUntil).
  const claimUntil = Math.max(now, input.claimUntil ?? now);
  const due: PlannedSlot[] = [];
  while (cursor !== null && !ended(cursor) && due.length < SCAN_CAP) {
    const s = slot(cursor);
    if (s.fireAt > claimUntil) break;
    due.push(s);
    cursor = schedule.next(cursor);
  }
  if (cursor !== null && ended(cursor)) cursor = null;

  const late = due.filter((s) => now - s.fireAt > graceMs);
  const onTime = due.filter((s) => now - s.fireAt <= graceMs);
  const run: PlannedSlot[] = [];
  let catchupRuns = 0;
  if (catchup === 'all') {
    const allowed = new Set(late.slice(-ALL_CAP));
    for (const s of late) {
      if (!allowed.has(s)) missed.push({ ...s, reason: why(`more than ${ALL_CAP} to catch up`) });
      else if (catchupRuns < input.catchupBudget) {
        run.push(s);
        catchupRuns++;
      } else {
        // Out of budget: this slot and everything after it wait for the next tick.
        cursor = s.scheduledFor;
        break;
      }
    }
    if (catchupRuns === late.filter((s) => allowed.has(s)).length) run.push(...onTime);
  } else {
    // A slot claimed ahead (not due yet) does not count as one that "runs anyway".
    const runsNow = onTime.some((s) => s.fireAt <= now);
    const chosen = catchup === 'latest' && !runsNow ? late[late.length - 1] : undefined;
    for (const s of late) {
      if (s === chosen) run.push(s);
      else
        missed.push({ ...s, reason: why(catchup === 'skip' ? 'policy skip' : 'a later slot ran instead') });
    }
    run.push(...onTime);
  }

  // An operator's skip takes the first runs; they are not runs (maxRuns counts what is left).
  const skipped = run.splice(0, Math.max(0, Math.min(input.skipLeft ?? 0, run.length)));
  // maxRuns: only so many runs; the rest of the due slots are missed and the schedule is done.
  if (run.length >= input.runsLeft) {
    for (const s of run.splice(input.runsLeft)) missed.push({ ...s, reason: 'missed: maxRuns reached' });
    cursor = null;
  }
  missed.sort((a, b) => a.scheduledFor - b.scheduledFor);
  return { run, missed, skipped, cursor, catchupRuns };
}

/** The ledger's `error` of an occurrence an operator skipped (`beat skip`), with their reason. */
export function skippedBecause(reason: string | null): string {
  return reason === null || reason === '' ? 'skipped by an operator (no reason given)' : `skipped: ${reason}`;
}

/**
 * planDue, guarded: a plan that throws, or holds an instant that is not a finite number (which
 * would make the whole claim fail, for every schedule of the batch), comes back as an Error for the
 * tick to leave that one schedule out. Validation keeps such values out of rows; this is the guard
 * should one get through.
 */
export function planGuarded(input: PlanInput): Plan | Error {
  try {
    const plan = planDue(input);
    const instants = [
      plan.cursor,
      ...plan.run.flatMap((s) => [s.scheduledFor, s.fireAt]),
      ...plan.missed.flatMap((s) => [s.scheduledFor, s.fireAt]),
      ...plan.skipped.flatMap((s) => [s.scheduledFor, s.fireAt]),
    ];
    const bad = instants.find((at) => at !== null && !(Number.isFinite(at) && Math.abs(at) <= 8.64e15));
    return bad === undefined ? plan : new Error(`the plan holds an instant that is not one (${bad})`);
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
