/**
 * Invariants 1, 3 and 5 (pure): what the workers executed and what the ledger says of it.
 *
 * 1. No task id executed twice by the workers, and no occurrence enqueued twice (two `enqueued`
 *    log lines for one task id, from any beats). A task id executed twice whose one successful send
 *    was preceded by an attempt that failed in a way that may have delivered the message anyway
 *    (the broker's reply was lost: any failure other than "unreachable" before sending) is a
 *    documented at-least-once case (docs/guarantees.md, section 1); so is an occurrence sent by a
 *    beat the harness killed or froze right after (within the lease TTL), then sent again by the
 *    next leader. Both are counted apart, and must be 0 too.
 * 3. No two executions of a schedule whose runs must not overlap (`skip`, and `buffer_one`, which
 *    waits) overlapped (3g: nor two of different schedules of one exclusion group, which share one
 *    run lock) in the workers' own records (one task id executed twice is invariant 1's). A run's end is its end line; for a run whose
 *    worker the harness killed, the kill. Excluded, and counted apart: a pair whose earlier run
 *    *started* after its run lease had already ended — it sat in the queue longer than the lease,
 *    and docs/runtime.md ("Overlap") says the lock lasts the run lease unless the run is seen
 *    running. (Of the pair, the run enqueued first is the one that held the lock first: a buffered
 *    occurrence may be sent after it and start before it.) The harness never makes a schedule exclusive that was not (edits swap skip and
 *    buffer_one only), and never forces a trigger.
 * 5. No occurrence `claimed` (or `buffered`) for longer than a minute; none left `enqueued` or
 *    `running` without a reason once its run lease (plus 15 s for tracking) is over — whatever the
 *    workers did with it, the ledger must end it. A message still waiting in the broker's queue
 *    when the ledger is read is in flight, not stranded (the `load` row says when that is a lot).
 */

import { FOLLOW_AFTER_LEASE_MS } from '../../src/beat/runs-in-flight.ts';
import type { ScheduleRecord } from '../../src/model/index.ts';
import { specOf } from '../../src/model/index.ts';
import { lockLeaseMs } from '../../src/model/run-lease.ts';
import { compileSchedule } from '../../src/time/index.ts';
import type { BeatLog, LedgerRow } from './evidence.ts';
import { MAX_RUN_HOLD_MS } from './plan.ts';
import type { Execution } from './records.ts';
import type { ScheduleHistory } from './world.ts';

// --- 1 -------------------------------------------------------------------------------------------

export interface Duplicates {
  /** Task ids the workers executed more than once, not explained by a lost reply. */
  executedTwice: Array<{ taskId: string; runs: Execution[] }>;
  /** Task ids executed more than once after an enqueue attempt whose reply may have been lost. */
  atLeastOnce: Array<{ taskId: string; runs: Execution[]; attempts: BeatLog[] }>;
  /** Task ids two `enqueued` lines were logged for. */
  enqueuedTwice: Array<{ taskId: string; lines: BeatLog[] }>;
}

/** An attempt that failed before anything was written to the broker. */
const NOTHING_SENT = /is unreachable/;

/**
 * `stoppedAfter(beat, t, withinMs)`: the harness killed or froze that beat process within
 * `withinMs` after `t` (the documented case of a leader stopped between sending and recording).
 */
export function checkDuplicates(
  runs: Execution[],
  logs: BeatLog[],
  stoppedAfter: (beat: string, t: number) => boolean = () => false,
): Duplicates {
  const byId = groupBy(runs, (r) => r.taskId);
  const failedAttempts = groupBy(
    logs.filter((l) => l.msg === 'enqueue attempt failed; will retry' && l.taskId),
    (l) => l.taskId as string,
  );
  const out: Duplicates = { executedTwice: [], atLeastOnce: [], enqueuedTwice: [] };
  const enqueued = groupBy(
    logs.filter((l) => l.msg === 'enqueued' && l.taskId),
    (l) => l.taskId as string,
  );
  // Documented case 2: every send but the last came from a beat the harness then killed or froze,
  // and the next send is another beat's (the next leader re-sending what was never recorded).
  const resentAfterStop = (lines: BeatLog[]) =>
    lines.length > 1 &&
    lines.every((l, i) => {
      const next = lines[i + 1];
      return next === undefined || (next.beat !== l.beat && stoppedAfter(l.beat, l.t));
    });
  for (const [taskId, list] of byId) {
    if (list.length < 2) continue;
    const sent = enqueued.get(taskId) ?? [];
    // Documented case 1: one successful send, preceded by an attempt that may have landed.
    const maybeLanded = (failedAttempts.get(taskId) ?? []).filter(
      (l) => !NOTHING_SENT.test(l.error ?? '') && sent.length === 1 && l.t <= (sent[0] as BeatLog).t,
    );
    if (maybeLanded.length > 0) out.atLeastOnce.push({ taskId, runs: list, attempts: maybeLanded });
    else if (resentAfterStop(sent)) out.atLeastOnce.push({ taskId, runs: list, attempts: sent });
    else out.executedTwice.push({ taskId, runs: list });
  }
  for (const [taskId, lines] of enqueued)
    if (lines.length > 1 && !resentAfterStop(lines)) out.enqueuedTwice.push({ taskId, lines });
  return out;
}

// --- 3 -------------------------------------------------------------------------------------------

export interface Overlap {
  schedule: string;
  earlier: Execution;
  later: Execution;
  /** The earlier run's end as used (its end line, or its worker's kill). */
  earlierEnd: number;
  ms: number;
}

export interface OverlapReport {
  checkedSchedules: number;
  checkedRuns: number;
  overlaps: Overlap[];
  /** Overlaps whose earlier run started after its run lease had ended (by design; informational). */
  lapsed: Overlap[];
  /** Runs with no end line whose worker was not killed (informational: the record was lost). */
  unended: Execution[];
}

export interface RunContext {
  histories: Map<string, ScheduleHistory>;
  ledgerByTask: Map<string, LedgerRow>;
  /** Epoch ms the harness killed each worker main pid. */
  workerKills: Map<number, number>;
  /** When the records were read (a run with no end and a live worker is still going). */
  readAt: number;
  /** Task ids still waiting in the broker's queue then: in flight, not stranded. */
  queued: Set<string>;
  /** Each backfill's time between two slots (1 / its rate), by id (absent: none). */
  backfillPaceMs?: Map<number, number>;
}

export function checkOverlaps(runs: Execution[], ctx: RunContext): OverlapReport {
  const report: OverlapReport = {
    checkedSchedules: 0,
    checkedRuns: 0,
    overlaps: [],
    lapsed: [],
    unended: [],
  };
  const bySchedule = groupBy(
    runs.filter((r) => r.schedule !== null),
    (r) => r.schedule as string,
  );
  for (const [name, list] of bySchedule) {
    const first = ctx.histories.get(name)?.changes[0]?.record;
    if (!first || first.overlap === 'allow') continue;
    report.checkedSchedules++;
    report.checkedRuns += list.length;
    sweep(name, list, ctx, report, () => true);
    for (const run of list) if (run.end === null && !ctx.workerKills.has(run.ppid)) report.unended.push(run);
  }
  return report;
}

/**
 * Invariant 3g: no two runs of *different* schedules of one exclusion group overlapped (the group's
 * one run lock; pairs of one schedule are invariant 3's). Same rules as checkOverlaps, the
 * documented exception included: the run enqueued first held the group's lock first, and a lock
 * whose run waited in the queue past its lease lapsed by design. A schedule's group is the one it
 * was inserted with (the harness never edits a grouped schedule).
 */
export function checkGroupOverlaps(runs: Execution[], ctx: RunContext): GroupOverlapReport {
  const report: GroupOverlapReport = {
    groups: 0,
    checkedSchedules: 0,
    checkedRuns: 0,
    overlaps: [],
    lapsed: [],
    unended: [],
  };
  const groupOf = (run: Execution) =>
    run.schedule === null
      ? null
      : (ctx.histories.get(run.schedule)?.changes[0]?.record?.exclusionGroup ?? null);
  const byGroup = groupBy(
    runs.filter((r) => groupOf(r) !== null),
    (r) => groupOf(r) as string,
  );
  for (const [group, list] of byGroup) {
    report.groups++;
    report.checkedSchedules += new Set(list.map((r) => r.schedule)).size;
    report.checkedRuns += list.length;
    sweep(group, list, ctx, report, (a, b) => a.schedule !== b.schedule);
  }
  return report;
}

export interface GroupOverlapReport extends OverlapReport {
  /** Exclusion groups with runs. */
  groups: number;
}

/**
 * The overlapping pairs among `list` (runs sharing one run lock) for which `counts` holds: each run
 * against those still open when it started.
 */
function sweep(
  label: string,
  list: Execution[],
  ctx: RunContext,
  report: Pick<OverlapReport, 'overlaps' | 'lapsed'>,
  counts: (a: Execution, b: Execution) => boolean,
): void {
  const sorted = [...list].sort((a, b) => a.start - b.start);
  let open: Array<{ run: Execution; end: number }> = [];
  for (const run of sorted) {
    open = open.filter((o) => o.end > run.start);
    for (const o of open) {
      if (o.run.taskId === run.taskId) continue; // one task executed twice: invariant 1's
      if (!counts(o.run, run)) continue;
      const overlap = {
        schedule: label,
        earlier: o.run,
        later: run,
        earlierEnd: o.end,
        ms: o.end - run.start,
      };
      if (lockLapsedInQueue(o.run, run, ctx)) report.lapsed.push(overlap);
      else report.overlaps.push(overlap);
    }
    open.push({ run, end: endOf(run, ctx) });
  }
}

function endOf(run: Execution, ctx: RunContext): number {
  if (run.end !== null) return run.end;
  return ctx.workerKills.get(run.ppid) ?? ctx.readAt;
}

/**
 * Of two overlapping runs, the one enqueued first held the lock first; if it waited in the queue
 * past its run lease before starting, its lock lapsed by design and the other could be sent.
 */
function lockLapsedInQueue(a: Execution, b: Execution, ctx: RunContext): boolean {
  const rows = [a, b].map((run) => ({ run, row: ctx.ledgerByTask.get(run.taskId) }));
  const first = rows
    .filter((x) => x.row?.enqueuedAt)
    .sort((x, y) => (x.row?.enqueuedAt as number) - (y.row?.enqueuedAt as number))[0];
  if (!first?.row?.enqueuedAt) return false;
  const history = first.run.schedule === null ? undefined : ctx.histories.get(first.run.schedule);
  if (!history) return false;
  const lease = leaseOf(history, first.row, ctx.backfillPaceMs);
  return lease !== null && first.run.start >= first.row.enqueuedAt + lease;
}

/**
 * How long the run lock the beat took for an occurrence lasts when nobody sees the run finish,
 * counted from its send (src/model/run-lease.ts, `lockLeaseMs`), with the version in force. A
 * backfilled slot's next slot is long past: its lock lasts until the backfill's next slot (its pace,
 * at least a second), never past the schedule's own next slot (src/beat/dispatcher.ts, leaseNext).
 */
export function leaseOf(
  history: ScheduleHistory,
  row: LedgerRow,
  /** Each backfill's time between two slots (1 / its rate), by id. */
  backfillPaceMs: Map<number, number> = new Map(),
): number | null {
  const record = versionAt(history, row.claimedAt);
  if (!record) return null;
  const sent = row.enqueuedAt ?? row.claimedAt;
  let next: number | null = null;
  try {
    const schedule = compileSchedule(specOf(record), { name: record.name });
    if (row.backfillId === null || row.backfillId === undefined) next = schedule.next(row.scheduledFor);
    else {
      const paced = sent + Math.max(1_000, backfillPaceMs.get(row.backfillId) ?? 1_000);
      const own = schedule.next(sent);
      next = own === null ? paced : Math.min(own, paced);
    }
  } catch {
    next = null;
  }
  return lockLeaseMs(record, next, sent);
}

function versionAt(history: ScheduleHistory, at: number): ScheduleRecord | undefined {
  let found: ScheduleRecord | undefined;
  for (const c of history.changes) if (c.record && c.at <= at + 1_000) found = c.record;
  return found ?? history.changes[0]?.record;
}

// --- 5 -------------------------------------------------------------------------------------------

export interface Stranded {
  row: LedgerRow;
  /** The class of problem, for the table. */
  kind: 'claimed > 1 min' | 'finished, ledger not told' | 'worker died, no end' | 'never ran, no end';
  problem: string;
}

/** `sampled`: claimed rows seen older than a minute while the run went (task id → first seen). */
export function checkStranded(
  ledger: LedgerRow[],
  runs: Execution[],
  ctx: RunContext,
  sampled: Map<string, number>,
): Stranded[] {
  const out: Stranded[] = [];
  const runsById = groupBy(runs, (r) => r.taskId);
  for (const row of ledger) {
    const waited = ctx.readAt - row.claimedAt;
    if ((row.status === 'claimed' || row.status === 'buffered') && waited > 60_000) {
      out.push({
        row,
        kind: 'claimed > 1 min',
        problem: `still ${row.status} ${Math.round(waited / 1000)} s after its claim`,
      });
      continue;
    }
    if (sampled.has(row.taskId)) {
      out.push({
        row,
        kind: 'claimed > 1 min',
        problem: `was claimed or buffered for over a minute during the run (now ${row.status})`,
      });
      continue;
    }
    if (row.status !== 'enqueued' && row.status !== 'running') continue;
    const history = ctx.histories.get(row.schedule);
    const lease = history ? (leaseOf(history, row, ctx.backfillPaceMs) ?? 3_600_000) : 3_600_000;
    const since = row.enqueuedAt ?? row.claimedAt;
    const executed = runsById.get(row.taskId) ?? [];
    // A run whose worker died reads STARTED for ever: the leader holds its lock up to the hold
    // limit and follows it FOLLOW_AFTER_LEASE_MS more before it records the lease ended
    // (src/beat/runs-in-flight.ts; docs/guarantees.md, "A worker killed mid-run").
    const died = executed.length > 0 && executed.every((r) => r.end === null);
    const followed = died ? Math.max(lease, MAX_RUN_HOLD_MS) + FOLLOW_AFTER_LEASE_MS : lease;
    if (ctx.readAt - since < followed + 15_000) continue;
    if (executed.length === 0 && ctx.queued.has(row.taskId)) continue; // the workers are behind
    const ended = executed.find((r) => r.end !== null);
    if (ended)
      out.push({
        row,
        kind: 'finished, ledger not told',
        problem: `the worker finished it (${ended.how}) ${Math.round((ctx.readAt - (ended.end as number)) / 1000)} s before the end; the ledger still says ${row.status}`,
      });
    else if (executed.length > 0)
      out.push({
        row,
        kind: 'worker died, no end',
        problem: `its worker died mid-run; still ${row.status}, no reason`,
      });
    else
      out.push({
        row,
        kind: 'never ran, no end',
        problem: `never executed (message lost or never sent); still ${row.status}, no reason`,
      });
  }
  return out;
}

export function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
