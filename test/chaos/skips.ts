/**
 * Invariant 2d (pure): an operator's "skip the next N" (`beat skip`) is kept exactly, across
 * failovers. The claim consumes a schedule's skip count in the same transaction as the `skipped`
 * rows it records (src/beat/claim.ts; a claim held ahead is taken back by src/beat/claimed-ahead.ts),
 * so per schedule:
 * - a `skipped` row says why: `skipped: <the reason of a skip set on that schedule>`;
 * - no slot recorded `skipped` was executed by a worker (it was sent before being recorded skipped);
 * - the schedule has no more `skipped` rows than its skips consumed. A new skip replaces the count
 *   left (`beat skip` reads it under the row lock), so what skip i consumed is its count minus what
 *   the next skip found left, and the last one's count minus the count left at the end — exact,
 *   whatever leaders came and went. For a removed schedule (no count left to read) the bound is the
 *   counts set minus what each later skip found left.
 * A skipped slot is owed and accounted (a row with a reason): invariant 2 counts it as covered.
 * Fewer rows than consumed is listed apart (info): a count taken without a row, which happens only
 * when the slot's row already existed (a backfill claimed it first).
 */
import type { LedgerRow } from './evidence.ts';
import type { Execution } from './records.ts';
import type { ScheduleHistory } from './world.ts';

export interface SkipMismatch {
  schedule: string;
  /** `skipped` rows of the schedule in the ledger. */
  skipped: number;
  /** What its skips consumed (exact), or at most (a removed schedule). */
  consumed: number;
  exact: boolean;
}

export interface SkipReport {
  /** Skips the harness set, and `skipped` rows in the ledger. */
  skipsSet: number;
  skippedRows: number;
  /** `skipped` rows whose error is not `skipped: <a reason set on that schedule>`. */
  badReason: LedgerRow[];
  /** `skipped` rows whose task id a worker executed. */
  executed: Array<{ row: LedgerRow; runs: Execution[] }>;
  /** Schedules with more `skipped` rows than their skips consumed. */
  tooMany: SkipMismatch[];
  /** Schedules with fewer (info). */
  fewer: SkipMismatch[];
}

export function checkSkips(
  histories: ScheduleHistory[],
  ledger: LedgerRow[],
  runs: Execution[],
  /** Each live schedule's skip count when the ledger was read (by id). */
  skipsLeft: Map<number, number>,
): SkipReport {
  const report: SkipReport = {
    skipsSet: 0,
    skippedRows: 0,
    badReason: [],
    executed: [],
    tooMany: [],
    fewer: [],
  };
  const executedIds = new Map<string, Execution[]>();
  for (const r of runs) executedIds.set(r.taskId, [...(executedIds.get(r.taskId) ?? []), r]);
  const skippedBySchedule = new Map<number, LedgerRow[]>();
  for (const row of ledger) {
    if (row.status !== 'skipped' || row.manual) continue;
    report.skippedRows++;
    skippedBySchedule.set(row.scheduleId, [...(skippedBySchedule.get(row.scheduleId) ?? []), row]);
    const ran = executedIds.get(row.taskId);
    if (ran) report.executed.push({ row, runs: ran });
  }
  const seen = new Set<number>();
  for (const history of histories) {
    seen.add(history.id);
    const skips = history.changes.flatMap((c) => (c.skip ? [c.skip] : []));
    report.skipsSet += skips.length;
    const rows = skippedBySchedule.get(history.id) ?? [];
    const reasons = new Set(skips.map((k) => `skipped: ${k.reason}`));
    for (const row of rows) if (!reasons.has(row.error ?? '')) report.badReason.push(row);
    if (skips.length === 0 && rows.length === 0) continue;
    const left = skipsLeft.get(history.id);
    const exact = left !== undefined;
    let consumed = 0;
    skips.forEach((k, i) => {
      const next = skips[i + 1];
      consumed += k.count - (next ? next.previousCount : (left ?? 0));
    });
    const mismatch = { schedule: history.name, skipped: rows.length, consumed, exact };
    if (rows.length > consumed) report.tooMany.push(mismatch);
    else if (exact && rows.length < consumed) report.fewer.push(mismatch);
  }
  // Skipped rows of a schedule the harness never knew: no skip was set on it.
  for (const [id, rows] of skippedBySchedule) {
    if (seen.has(id)) continue;
    report.badReason.push(...rows);
    report.tooMany.push({
      schedule: rows[0]?.schedule ?? String(id),
      skipped: rows.length,
      consumed: 0,
      exact: true,
    });
  }
  return report;
}
