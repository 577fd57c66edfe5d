/**
 * A schedule's occurrences, newest first, with what an operator asks of each: how late it was
 * enqueued (from its due instant, slot plus jitter), how long it ran when the end was seen, its task
 * id, and the worker's error or the reason it did not run. Paged by `before` (a scheduled instant).
 */
import type { Database } from '../db/database.ts';
import type { OccurrenceRow, OccurrenceStatus } from '../db/schema.ts';
import { type HistoryQuery, occurrencesOf } from '../db/sql/occurrences-read.ts';

export interface OccurrenceView {
  scheduledFor: string;
  fireAt: string;
  status: OccurrenceStatus;
  manual: boolean;
  force: boolean;
  /** The backfill that sent it (`beat backfill`); null for a run of the schedule's own time. */
  backfillId: number | null;
  taskId: string;
  leaderEpoch: number | null;
  claimedAt: string;
  enqueuedAt: string | null;
  /** When the run was first seen started; null when no start was seen. */
  startedAt: string | null;
  finishedAt: string | null;
  /** Enqueue minus due instant, ms; null until enqueued. */
  lagMs: number | null;
  /** Finish minus enqueue, ms, when the end was seen (0 for the log transport, which ends on enqueue). */
  durationMs: number | null;
  /** The worker's error, or why the slot did not run (missed, skipped). */
  error: string | null;
  /** How it kept its schedule's deadlines, once judged (docs/alerts.md); null without deadlines. */
  deadlineOutcome: string | null;
  deadlineReason: string | null;
}

export async function scheduleOccurrences(
  database: Database,
  name: string,
  query: HistoryQuery,
): Promise<OccurrenceView[]> {
  const rows = await occurrencesOf(database.db, name, query);
  return rows.map(occurrenceView);
}

export function occurrenceView(o: OccurrenceRow): OccurrenceView {
  const enqueued = o.enqueuedAt?.getTime() ?? null;
  const finished = o.finishedAt?.getTime() ?? null;
  return {
    scheduledFor: o.scheduledFor.toISOString(),
    fireAt: o.fireAt.toISOString(),
    status: o.status,
    manual: o.manual,
    force: o.force,
    backfillId: o.backfillId ?? null,
    taskId: o.taskId,
    leaderEpoch: o.leaderEpoch,
    claimedAt: o.claimedAt.toISOString(),
    enqueuedAt: o.enqueuedAt?.toISOString() ?? null,
    startedAt: o.startedAt?.toISOString() ?? null,
    finishedAt: o.finishedAt?.toISOString() ?? null,
    lagMs: enqueued === null ? null : Math.max(0, enqueued - o.fireAt.getTime()),
    durationMs: enqueued !== null && finished !== null ? Math.max(0, finished - enqueued) : null,
    error: o.error,
    deadlineOutcome: o.deadlineOutcome,
    deadlineReason: o.deadlineReason,
  };
}
