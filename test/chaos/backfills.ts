/**
 * Invariant 6 (pure): every backfill the harness requested (`beat backfill`, table
 * metronome.backfills) was carried through, through leader kills and freezes, each slot once:
 * - the request ended `done` (or `cancelled`; `failed` only when its schedule was removed, which is
 *   what the runner does then) — never left `pending` or `running` once the run settled;
 * - every slot of its range (as the dry run listed them when it was requested) has exactly one
 *   ledger row of the schedule — sent by this backfill, or there before (`already`) — and a `done`
 *   request looked at each: claimed + already = its slots;
 * - every ledger row carrying its id lies in its range (a backfill sends nothing else).
 * A slot executed twice (by the backfill and the schedule's own time, or by two leaders) is
 * invariant 1's: a backfilled run carries the slot's deterministic task id.
 * When the schedule's timing changed while the request was open, the runner follows the new spec
 * (it computes the slots step by step), so the range's slot list is not compared exactly (counted).
 */
import type { BackfillState, LedgerRow } from './evidence.ts';
import type { BackfillRequest, ScheduleHistory } from './world.ts';

export interface BackfillProblem {
  request: BackfillRequest;
  problem: string;
}

export interface BackfillReport {
  requests: number;
  /** Slots in the requested ranges, and rows the backfills claimed. */
  slots: number;
  backfilledRows: number;
  problems: BackfillProblem[];
  /** Rows carrying a backfill id no request of this run has (the id is unknown). */
  strays: LedgerRow[];
  /** Requests whose schedule was re-timed while open (slot list not compared exactly). */
  retimed: number;
}

export function checkBackfills(
  requests: BackfillRequest[],
  states: BackfillState[],
  ledger: LedgerRow[],
  histories: ScheduleHistory[],
): BackfillReport {
  const report: BackfillReport = {
    requests: requests.length,
    slots: 0,
    backfilledRows: 0,
    problems: [],
    strays: [],
    retimed: 0,
  };
  const stateById = new Map(states.map((s) => [s.id, s]));
  const requestById = new Map(requests.map((r) => [r.id, r]));
  const rowsAt = new Map<string, LedgerRow[]>();
  const rowsOf = new Map<number, LedgerRow[]>();
  for (const row of ledger) {
    if (row.manual) continue;
    const key = `${row.scheduleId}@${row.scheduledFor}`;
    rowsAt.set(key, [...(rowsAt.get(key) ?? []), row]);
    if (row.backfillId === null || row.backfillId === undefined) continue;
    report.backfilledRows++;
    if (!requestById.has(row.backfillId)) report.strays.push(row);
    rowsOf.set(row.backfillId, [...(rowsOf.get(row.backfillId) ?? []), row]);
  }
  const historyOf = new Map(histories.map((h) => [h.id, h]));
  for (const request of requests) {
    report.slots += request.slots.length;
    const problem = (text: string) => report.problems.push({ request, problem: text });
    const state = stateById.get(request.id);
    const history = historyOf.get(request.scheduleId);
    const later = (history?.changes ?? []).filter((c) => c.at >= request.at);
    const removed = later.some((c) => c.kind === 'delete');
    const retimed = later.some((c) => c.kind === 'timing');
    if (retimed) report.retimed++;
    if (!state) {
      problem('no row in metronome.backfills');
      continue;
    }
    const ended = state.status === 'done' || state.status === 'cancelled';
    if (!ended && !(state.status === 'failed' && removed)) {
      problem(
        `ended ${state.status}${state.error ? ` (${state.error})` : ''}, claimed ${state.claimed} + already ${state.already} of ${state.slots}`,
      );
      continue;
    }
    for (const row of rowsOf.get(request.id) ?? [])
      if (row.scheduledFor < request.from || row.scheduledFor > request.to)
        problem(`row ${row.taskId} at ${iso(row.scheduledFor)} lies outside its range`);
    if (state.status !== 'done' || retimed) continue;
    if (state.claimed + state.already !== request.slots.length)
      problem(
        `done with claimed ${state.claimed} + already ${state.already} != ${request.slots.length} slots in its range`,
      );
    for (const slot of request.slots) {
      const rows = rowsAt.get(`${request.scheduleId}@${slot}`) ?? [];
      if (rows.length !== 1)
        problem(`slot ${iso(slot)} has ${rows.length} ledger rows (${rows.map((r) => r.status).join(', ')})`);
    }
  }
  return report;
}

const iso = (t: number) => new Date(t).toISOString();
