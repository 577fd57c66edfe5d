/** From a schedule record and an occurrence to what a transport enqueues. */
import type { JsonObject, JsonValue, ScheduleRecord } from '../model/index.ts';
import type { EnqueueItem } from '../transports/transport.ts';

export interface OccurrenceRef {
  taskId: string;
  scheduledFor: number;
  fireAt: number;
  manual: boolean;
}

/** `record` must come from the store's loader, which has validated args, kwargs and headers. */
export function enqueueItem(record: ScheduleRecord, occurrence: OccurrenceRef): EnqueueItem {
  return {
    taskId: occurrence.taskId,
    scheduleId: record.id,
    scheduleName: record.name,
    task: record.task,
    args: record.args as JsonValue[],
    kwargs: record.kwargs as JsonObject,
    queue: record.queue,
    routingKey: record.routingKey,
    priority: record.priority,
    headers: record.headers as JsonObject,
    // `expires` counts from the scheduled instant (a run that could not start in time is pointless).
    expiresAt: record.expiresMs === null ? null : occurrence.scheduledFor + record.expiresMs,
    timeLimitS: record.timeLimitS,
    softTimeLimitS: record.softTimeLimitS,
    scheduledFor: occurrence.scheduledFor,
    fireAt: occurrence.fireAt,
    manual: occurrence.manual,
  };
}

const HOUR = 3_600_000;

/**
 * How long the run lock is held when the run is never seen finishing: `runLease` if set, else the
 * hard time limit, else the interval between fires, capped at an hour (and at least a second).
 */
export function runLeaseMs(record: ScheduleRecord, scheduledFor: number, nextSlot: number | null): number {
  if (record.runLeaseMs !== null) return Math.max(1_000, record.runLeaseMs);
  if (record.timeLimitS !== null) return Math.min(HOUR, Math.max(1_000, record.timeLimitS * 1_000));
  if (nextSlot !== null) return Math.min(HOUR, Math.max(1_000, nextSlot - scheduledFor));
  return HOUR;
}
