/**
 * From a schedule record and an occurrence to what a transport enqueues (how long its run lock lasts:
 * src/model/run-lease.ts).
 */
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
