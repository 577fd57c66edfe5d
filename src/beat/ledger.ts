/** Status changes of occurrences after the claim: one statement per batch, never per row. */
import { sql } from 'drizzle-orm';
import type { Database, Db } from '../db/database.ts';
import type { OccurrenceStatus } from '../db/schema.ts';

/** `(select ...)` of a list passed as one JSON parameter (a fixed parameter count for any batch size). */
function list(values: readonly string[]) {
  return sql`(select jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;
}

const TERMINAL: ReadonlySet<OccurrenceStatus> = new Set([
  'succeeded',
  'failed',
  'expired',
  'skipped_overlap',
  'missed',
  'revoked',
]);

/** Move occurrences to `status`, only from the statuses given (so a late update never goes backwards). */
export async function setStatus(
  database: Database,
  taskIds: string[],
  status: OccurrenceStatus,
  from: OccurrenceStatus[],
  error: string | null = null,
): Promise<number> {
  if (taskIds.length === 0) return 0;
  const finished = TERMINAL.has(status) ? sql`clock_timestamp()` : sql`finished_at`;
  // A run that finished on enqueue (the log transport) goes from claimed to succeeded in one write.
  const enqueued =
    status === 'enqueued' || (status === 'succeeded' && from.includes('claimed'))
      ? sql`clock_timestamp()`
      : sql`enqueued_at`;
  const rows = await database.rows(
    sql`update metronome.occurrences
        set status = ${status}, error = ${error}, finished_at = ${finished}, enqueued_at = ${enqueued}
        where task_id in ${list(taskIds)} and status in ${list(from)}
        returning task_id`,
  );
  return rows.length;
}

/** Note why an attempt failed; the occurrence stays claimed and is retried. */
export async function noteAttemptError(database: Database, taskIds: string[], error: string): Promise<void> {
  if (taskIds.length === 0) return;
  await database.rows(
    sql`update metronome.occurrences set error = ${error}
        where task_id in ${list(taskIds)} and status = 'claimed'`,
  );
}

export interface UnfinishedOccurrence {
  taskId: string;
  scheduleId: number;
  scheduledFor: number;
  fireAt: number;
  status: OccurrenceStatus;
  manual: boolean;
  force: boolean;
  enqueuedAt: number | null;
}

/**
 * What a new leader picks up: occurrences claimed but never enqueued (re-sent with the same task
 * id), buffered ones, and runs enqueued within the last hour whose end was not seen (their run locks
 * are followed until they finish or their lease ends).
 */
export async function loadUnfinished(database: Database): Promise<UnfinishedOccurrence[]> {
  const rows = await database.rows<{
    task_id: string;
    schedule_id: string | number;
    scheduled_for: string | Date;
    fire_at: string | Date;
    status: OccurrenceStatus;
    manual: boolean;
    force: boolean;
    enqueued_at: string | Date | null;
  }>(sql`select task_id, schedule_id, scheduled_for, fire_at, status, manual, force, enqueued_at
         from metronome.occurrences
         where status in ('claimed', 'buffered')
            or (status in ('enqueued', 'running') and enqueued_at > clock_timestamp() - interval '1 hour')
         order by fire_at`);
  return rows.map((r) => ({
    taskId: r.task_id,
    scheduleId: Number(r.schedule_id),
    scheduledFor: new Date(r.scheduled_for).getTime(),
    fireAt: new Date(r.fire_at).getTime(),
    status: r.status,
    manual: r.manual,
    force: r.force,
    enqueuedAt: r.enqueued_at === null ? null : new Date(r.enqueued_at).getTime(),
  }));
}

/**
 * A manual run (`beat trigger`): an occurrence claimed now, by no leader, for the leader to pick up
 * through the same dispatch path as a scheduled one. The leader is told with a notification. In
 * the caller's transaction `on` when given (the operator action records itself in the same one).
 */
export async function insertManualOccurrence(
  database: Database,
  schedule: { id: number; name: string },
  force: boolean,
  taskIdFor: (scheduleId: number, scheduledFor: number) => string,
  on?: Db,
): Promise<{ taskId: string; scheduledFor: number }> {
  const run = on ? <T>(fn: (tx: Db) => Promise<T>) => fn(on) : database.db.transaction.bind(database.db);
  return run(async (tx) => {
    const [row] = await database.rows<{ ms: number | string }>(
      sql`select floor(extract(epoch from clock_timestamp()) * 1000)::float8 as ms`,
      tx,
    );
    const scheduledFor = Number(row?.ms);
    const taskId = taskIdFor(schedule.id, scheduledFor);
    const at = new Date(scheduledFor).toISOString();
    await database.rows(
      sql`insert into metronome.occurrences
            (schedule_id, schedule_name, scheduled_for, fire_at, task_id, status, manual, force)
          values (${schedule.id}, ${schedule.name}, ${at}::timestamptz, ${at}::timestamptz, ${taskId}, 'claimed', true, ${force})`,
      tx,
    );
    await database.rows(sql`select pg_notify('metronome_trigger', ${taskId})`, tx);
    return { taskId, scheduledFor };
  });
}

/** The status and error of one occurrence, by task id. */
export async function occurrenceStatus(
  database: Database,
  taskId: string,
): Promise<{ status: OccurrenceStatus; error: string | null } | null> {
  const [row] = await database.rows<{ status: OccurrenceStatus; error: string | null }>(
    sql`select status, error from metronome.occurrences where task_id = ${taskId}`,
  );
  return row ?? null;
}
