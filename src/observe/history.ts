/**
 * A schedule's occurrences, newest first, with what an operator asks of each: how late it was
 * enqueued (from its due instant, slot plus jitter), how long it ran when the end was seen, its task
 * id, and the worker's error or the reason it did not run. Paged by `before` (a scheduled instant).
 */
import { and, desc, eq, inArray, lt } from 'drizzle-orm';
import type { Database } from '../db/database.ts';
import { type OccurrenceRow, type OccurrenceStatus, occurrences } from '../db/schema.ts';

export interface OccurrenceView {
  scheduledFor: string;
  fireAt: string;
  status: OccurrenceStatus;
  manual: boolean;
  force: boolean;
  taskId: string;
  leaderEpoch: number | null;
  claimedAt: string;
  enqueuedAt: string | null;
  finishedAt: string | null;
  /** Enqueue minus due instant, ms; null until enqueued. */
  lagMs: number | null;
  /** Finish minus enqueue, ms, when the end was seen (0 for the log transport, which ends on enqueue). */
  durationMs: number | null;
  /** The worker's error, or why the slot did not run (missed, skipped). */
  error: string | null;
}

export interface HistoryQuery {
  limit: number;
  /** Only occurrences scheduled before this instant (the next page). */
  before?: Date;
  statuses?: OccurrenceStatus[];
}

export async function scheduleOccurrences(
  database: Database,
  name: string,
  query: HistoryQuery,
): Promise<OccurrenceView[]> {
  const rows = await database.db
    .select()
    .from(occurrences)
    .where(
      and(
        eq(occurrences.scheduleName, name),
        query.before ? lt(occurrences.scheduledFor, query.before) : undefined,
        query.statuses && query.statuses.length > 0 ? inArray(occurrences.status, query.statuses) : undefined,
      ),
    )
    .orderBy(desc(occurrences.scheduledFor))
    .limit(query.limit);
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
    taskId: o.taskId,
    leaderEpoch: o.leaderEpoch,
    claimedAt: o.claimedAt.toISOString(),
    enqueuedAt: o.enqueuedAt?.toISOString() ?? null,
    finishedAt: o.finishedAt?.toISOString() ?? null,
    lagMs: enqueued === null ? null : Math.max(0, enqueued - o.fireAt.getTime()),
    durationMs: enqueued !== null && finished !== null ? Math.max(0, finished - enqueued) : null,
    error: o.error,
  };
}
