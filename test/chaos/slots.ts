/**
 * Invariant 2 (pure): every slot a schedule owed, from its first slot to the end of the run, is in
 * the ledger — enqueued, or in a row with a reason. The expected slots come from the project's own
 * time engine (src/time) applied to each version of the schedule the harness wrote.
 *
 * What a schedule owes (the rules; docs/guarantees.md repeats them):
 * - A version's slots start at the next_fire_at its statement set (`cursor` style: inserts and edits
 *   made as `beat add`/`beat sync` make them), or, when the statement left next_fire_at to the
 *   runtime (`sql` style, a person's UPDATE), at the change itself — but a slot s of such a version
 *   is owed only once some beat has led for LEADER_CHANCE_MS within [change, s]: the runtime computes
 *   the next fire when the leader reads the change ("an edit never fires retroactively"), so slots
 *   before any leader could read it are not owed; slots after a leader could have read it are.
 * - A version's slots end at the next timing edit or the delete, except that a slot s before that
 *   change is owed only if some beat led for LEADER_CHANCE_MS within [s, change]: a change may win
 *   the race against a due slot that no leader had the chance to claim (the leader claims due slots
 *   each tick; a deleted or re-timed schedule drops its unclaimed ones). A slot a leader had the time
 *   to claim and did not is a gap.
 * - Pauses owe everything: `beat resume` hands the paused stretch to the catch-up policy, which
 *   records every slot it does not run as `missed`. The harness resumes every pause before the end.
 * - The run's end: slots up to the cut (the end of the chaos phase) are owed; the run waits (up to
 *   100 s) until every schedule's cursor is past the cut before reading the ledger. A schedule whose
 *   cursor is still behind the cut then is *late*, not gapped: the slots from its cursor on have not
 *   been handled yet and will be; they are not owed, and the schedule is listed (a schedule that
 *   cannot catch up is a finding of its own, not a gap).
 * - Manual runs (`beat trigger`) are not slots.
 *
 * A row whose status says the slot did not run (`missed`, `skipped_overlap`, `skipped` by an
 * operator's `beat skip`) must say why (error); such a row accounts for its slot (invariant 2d
 * checks the skips themselves). A backfilled row (backfill_id) of a past slot is on its schedule's
 * grid too; invariant 6 checks it against its request's range.
 * A row at an instant that is no slot of any version of its schedule is reported too: either the
 * runtime fired off the grid, or this instrument computes the grid wrongly — both need a look.
 */
import { specOf } from '../../src/model/index.ts';
import { compileSchedule, type Schedule } from '../../src/time/index.ts';
import type { LedgerRow } from './evidence.ts';
import type { Change, ScheduleHistory } from './world.ts';

/**
 * How long a leader needs to act on a due slot or a change: a failed tick retries after 1 s, a tick
 * sleeps at most 1 s, plus a second for a slow tick on a loaded machine.
 */
export const LEADER_CHANCE_MS = 3_000;

export interface Gap {
  schedule: string;
  scheduleId: number;
  slot: number;
  /** The version's change that set its timing, and the change that ended it (if any). */
  since: Change;
  until?: Change;
}

export interface SlotReport {
  owed: number;
  gaps: Gap[];
  /** Slots not owed because a change won the race before any leader could act (by rule above). */
  excused: number;
  withoutReason: LedgerRow[];
  offGrid: LedgerRow[];
  /** Schedules whose cursor was still behind the cut when the ledger was read. */
  late: Array<{ schedule: string; cursor: number; behindMs: number }>;
}

const NEEDS_REASON = new Set(['missed', 'skipped_overlap', 'skipped']);
const ONE_ROW_FOR_ALL = /every slot from (\S+) to (\S+) \(one row for all\)/;

export function checkSlots(
  histories: ScheduleHistory[],
  ledger: LedgerRow[],
  leaderTime: (from: number, to: number) => number,
  cut: number,
  /** Each live schedule's next_fire_at when the ledger was read (by id). */
  cursors: Map<number, number | null>,
): SlotReport {
  const report: SlotReport = { owed: 0, gaps: [], excused: 0, withoutReason: [], offGrid: [], late: [] };
  const rowsBySchedule = new Map<number, LedgerRow[]>();
  for (const row of ledger) {
    if (row.manual) continue;
    rowsBySchedule.set(row.scheduleId, [...(rowsBySchedule.get(row.scheduleId) ?? []), row]);
    if (NEEDS_REASON.has(row.status) && !row.error) report.withoutReason.push(row);
  }
  for (const history of histories) {
    const rows = rowsBySchedule.get(history.id) ?? [];
    const covered = coveredSlots(rows);
    const versions = versionsOf(history);
    const cursor = cursors.get(history.id);
    const horizon = cursor !== null && cursor !== undefined && cursor <= cut ? cursor : cut + 1;
    if (horizon <= cut)
      report.late.push({ schedule: history.name, cursor: horizon, behindMs: cut - horizon });
    for (const v of versions) {
      const end = Math.min(v.until?.at ?? Number.POSITIVE_INFINITY, horizon);
      for (let s = v.schedule.next(v.from - 1); s !== null && s < end; s = v.schedule.next(s)) {
        if (v.since.style === 'sql' && leaderTime(v.since.at, s) < LEADER_CHANCE_MS) {
          report.excused++;
          continue;
        }
        if (v.until && leaderTime(s, v.until.at) < LEADER_CHANCE_MS) {
          report.excused++;
          continue;
        }
        report.owed++;
        if (!covered.has(s))
          report.gaps.push({
            schedule: history.name,
            scheduleId: history.id,
            slot: s,
            since: v.since,
            until: v.until,
          });
      }
    }
    for (const row of rows) {
      if (!versions.some((v) => v.schedule.next(row.scheduledFor - 1) === row.scheduledFor))
        report.offGrid.push(row);
    }
  }
  return report;
}

interface Version {
  schedule: Schedule;
  /** First instant slots may be owed from. */
  from: number;
  since: Change;
  until?: Change;
}

/** The timing versions of a schedule: one per insert or timing edit, ended by the next or a delete. */
export function versionsOf(history: ScheduleHistory): Version[] {
  const out: Version[] = [];
  for (const change of history.changes) {
    if (change.kind !== 'insert' && change.kind !== 'timing' && change.kind !== 'delete') continue;
    const previous = out[out.length - 1];
    if (previous && !previous.until) previous.until = change;
    if (change.kind === 'delete' || !change.record) continue;
    const record = change.record;
    const cursor = record.nextFireAt?.getTime();
    out.push({
      schedule: compileSchedule(specOf(record), { name: record.name }),
      from: change.style === 'cursor' && cursor !== undefined ? cursor : change.at,
      since: change,
    });
  }
  return out;
}

/** The slots a schedule's rows stand for (a catch-up row "for all" covers a whole stretch). */
function coveredSlots(rows: LedgerRow[]): { has(slot: number): boolean } {
  const exact = new Set(rows.map((r) => r.scheduledFor));
  const ranges: Array<[number, number]> = [];
  for (const r of rows) {
    const m = r.error ? ONE_ROW_FOR_ALL.exec(r.error) : null;
    if (m) ranges.push([Date.parse(m[1] as string), Date.parse(m[2] as string)]);
  }
  return { has: (slot) => exact.has(slot) || ranges.some(([a, b]) => slot >= a && slot < b) };
}
