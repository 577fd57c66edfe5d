/**
 * One tick's batch, decided without I/O: for each due schedule, its plan (src/model/plan.ts) becomes a cursor
 * advance and the occurrences to insert — claimed ones to send, missed and skipped ones to record
 * (the advance takes the skipped ones from the schedule's skip count, in the same transaction). The claim
 * (claim.ts) then writes them in one transaction, and the dispatcher sends what it inserted.
 */

import type { NewOccurrence } from '../db/sql/occurrences.ts';
import type { CursorAdvance } from '../db/sql/schedules.ts';
import type { LoadedSchedule } from '../db/store.ts';
import type { CatchupPolicy, ScheduleRecord } from '../model/index.ts';
import { fireAtOf, MISSED_ROWS_CAP, planGuarded, skippedBecause } from '../model/plan.ts';
import { taskIdFor } from '../model/task-id.ts';
import type { DroppedBacklog } from './schedule-book.ts';

export interface BatchInput {
  /** The due schedules (undefined: gone since they were indexed). */
  due: Array<{ id: number; loaded: LoadedSchedule | undefined }>;
  now: number;
  graceMs: number;
  /**
   * How far ahead of their fire instant slots are claimed (claimed-ahead.ts). A schedule with
   * `maxRuns` is claimed at its instant: its count of runs moves with the claim, and a claim taken
   * back by a change would have to give a run back.
   */
  claimAheadMs: number;
  /**
   * The lookahead the due index is read with (term.ts): a schedule looked at again later is put
   * back that much after the instant it waits for. Default `claimAheadMs` (a herd's claims reach
   * further than the index is read: herd-window.ts).
   */
  indexAheadMs?: number;
  /** Catch-up runs a schedule may take now (policy `all`); `spend` takes them from the budget. */
  catchup: { available(record: ScheduleRecord): number; spend(runs: number): void };
}

export interface BatchPlan {
  advances: CursorAdvance[];
  occurrences: NewOccurrence[];
  /** Schedules to drop from the due index (gone, or no cursor). */
  dropped: number[];
  /**
   * Schedules to look at again at `at` (the due index's time, database ms), cursor unchanged: out of
   * catch-up budget (shortly), or not to be claimed ahead (then at its fire instant).
   */
  recheck: Array<{ id: number; at: number }>;
  /** Schedules that could not be planned (a value validation should have stopped), and why. */
  failed: Array<{ id: number; error: Error }>;
}

export function planBatch(input: BatchInput): BatchPlan {
  const plan: BatchPlan = { advances: [], occurrences: [], dropped: [], recheck: [], failed: [] };
  for (const { id, loaded } of input.due) {
    const cursor = loaded?.nextFireAt;
    if (!loaded || cursor === null || cursor === undefined) {
      plan.dropped.push(id);
      continue;
    }
    const record = loaded.record;
    const ahead = record.maxRuns === null ? input.claimAheadMs : 0;
    const due = planGuarded({
      name: record.name,
      schedule: loaded.schedule,
      cursor,
      now: input.now,
      claimUntil: input.now + ahead,
      catchup: record.catchup as CatchupPolicy,
      catchupWindowMs: record.catchupWindowMs,
      jitterMs: record.jitterMs,
      graceMs: input.graceMs,
      startAt: record.startAt?.getTime() ?? null,
      endAt: record.endAt?.getTime() ?? null,
      runsLeft: record.maxRuns === null ? Number.POSITIVE_INFINITY : record.maxRuns - record.totalRuns,
      catchupBudget: input.catchup.available(record),
      skipLeft: record.skipCount,
    });
    if (due instanceof Error) {
      plan.failed.push({ id, error: due });
      continue;
    }
    input.catchup.spend(due.catchupRuns);
    if (
      due.run.length === 0 &&
      due.missed.length === 0 &&
      due.skipped.length === 0 &&
      due.cursor === cursor
    ) {
      // Out of budget: look again shortly; not due yet (a schedule claimed at its instant): at its
      // instant. The index is read the lookahead ahead (term.ts), so its time is that much later.
      const fireAt = fireAtOf(record.name, cursor, record.jitterMs);
      const at = (fireAt > input.now ? fireAt : input.now + 250) + (input.indexAheadMs ?? input.claimAheadMs);
      plan.recheck.push({ id, at });
      continue;
    }
    const lastRun = due.run[due.run.length - 1];
    plan.advances.push({
      scheduleId: id,
      version: record.version,
      nextFireAt: due.cursor,
      runs: due.run.length,
      skipped: due.skipped.length,
      lastFireAt: lastRun ? lastRun.scheduledFor : null,
    });
    for (const s of due.run) {
      plan.occurrences.push({
        ...occurrence(record, s.scheduledFor, s.fireAt),
        status: 'claimed',
        error: null,
      });
    }
    for (const k of due.skipped) {
      plan.occurrences.push({
        ...occurrence(record, k.scheduledFor, k.fireAt),
        status: 'skipped',
        error: skippedBecause(record.skipReason),
      });
    }
    for (const m of due.missed) {
      plan.occurrences.push({
        ...occurrence(record, m.scheduledFor, m.fireAt),
        status: 'missed',
        error: m.reason,
      });
    }
    const handled = [...due.run, ...due.missed].map((x) => x.scheduledFor);
    if (handled.length > 0) plan.occurrences.push(...calendarSkips(loaded, Math.max(...handled)));
  }
  return plan;
}

/**
 * The slots a business calendar skipped (on_excluded = skip, or a move with no allowed day near),
 * from the last fire (or the schedule's creation) up to `until`, the last slot this plan handles:
 * each recorded `skipped` with the calendar, the day and its label, once its turn has come,
 * so a calendar never leaves a silent gap. A slot recorded twice (a plan whose slots were all
 * missed leaves last_fire_at where it was) is one row: its task id is the slot's. At most
 * skipReach back and MISSED_ROWS_CAP rows per plan (the last one says so).
 */
export function calendarSkips(loaded: LoadedSchedule, until: number): NewOccurrence[] {
  const { record, schedule } = loaded;
  if (!schedule.calendars) return [];
  const since = record.lastFireAt?.getTime() ?? record.createdAt.getTime();
  const from = Math.max(since, until - skipReach(schedule, since));
  if (!(from < until)) return [];
  const marks = schedule.calendarMarks(from, until).filter((m) => m.kind === 'skipped');
  const last = marks[marks.length - 1];
  return marks.slice(0, MISSED_ROWS_CAP).map((m, n) => ({
    ...occurrence(record, m.slot, fireAtOf(record.name, m.slot, record.jitterMs)),
    status: 'skipped' as const,
    error: `skipped: calendar ${JSON.stringify(m.calendar)} excludes ${m.day}${m.label ? ` (${m.label})` : ''}${
      n === MISSED_ROWS_CAP - 1 && last && last !== m
        ? ` (and every excluded slot after it up to ${new Date(last.slot).toISOString()}: one row for all)`
        : ''
    }`,
  }));
}

/**
 * How far back a plan looks for slots a calendar skipped (a longer closure is recorded from here):
 * 40 days, and up to 800 for a schedule with few slots (a quarterly or yearly one whose excluded
 * slot lies a season back) — about 2,000 of its slots at the most beyond the 40 days.
 */
function skipReach(schedule: LoadedSchedule['schedule'], since: number): number {
  const first = schedule.next(since);
  const second = first === null ? null : schedule.next(first);
  const period = first === null || second === null ? 0 : second - first;
  return Math.min(MAX_SKIP_REACH_MS, Math.max(MIN_SKIP_REACH_MS, period * 2_000));
}

const MIN_SKIP_REACH_MS = 40 * 86_400_000;
const MAX_SKIP_REACH_MS = 800 * 86_400_000;

/**
 * The `missed` rows for slots a change took away before they were handled (schedule-book.ts,
 * DroppedBacklog): one per slot up to MISSED_ROWS_CAP, then one row for the rest.
 */
export function droppedBacklog(backlogs: readonly DroppedBacklog[]): NewOccurrence[] {
  const out: NewOccurrence[] = [];
  for (const { loaded, from, until, why } of backlogs) {
    const { record, schedule } = loaded;
    const reason = `missed: the schedule was ${why === 'removed' ? 'removed' : why === 'edited' ? 'edited' : 'found invalid'} before this slot was handled`;
    const endAt = record.endAt?.getTime() ?? Number.POSITIVE_INFINITY;
    let slot: number | null = from;
    for (let n = 0; slot !== null && slot <= until && slot <= endAt; n++) {
      const last = n === MISSED_ROWS_CAP - 1;
      const error = last
        ? `${reason} (and every slot after it up to ${new Date(until).toISOString()}: one row for all)`
        : reason;
      const fireAt = fireAtOf(record.name, slot, record.jitterMs);
      out.push({ ...occurrence(record, slot, fireAt), status: 'missed', error });
      if (last) break;
      slot = schedule.next(slot);
    }
  }
  return out;
}

function occurrence(record: ScheduleRecord, scheduledFor: number, fireAt: number) {
  return {
    scheduleId: record.id,
    scheduleName: record.name,
    scheduledFor,
    fireAt,
    taskId: taskIdFor(record.id, scheduledFor),
    manual: false,
  };
}
