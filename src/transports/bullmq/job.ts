/**
 * From an occurrence to a BullMQ job, and from a BullMQ job state to a run state. The job's shape is
 * the contract with the workers (examples/bullmq-worker.ts and docs/transports.md describe it):
 *
 * - name: the schedule's task; the worker dispatches on `job.name`.
 * - id: the occurrence's task id, so a re-send of the same occurrence is a no-op while the job exists.
 * - data: {@link MetronomeJobData}.
 * - opts: priority (see {@link bullmqPriority}), retention ({@link RETENTION}); attempts, delay and
 *   backoff are never set by Metronome (the queue's and the worker's defaults apply).
 */
import type { JsonObject, JsonValue } from '../../model/json.ts';
import type { EnqueueItem, RunState } from '../transport.ts';

/** What a worker finds in `job.data`. Dates are ISO 8601 strings in UTC. */
export interface MetronomeJobData {
  args: JsonValue[];
  kwargs: JsonObject;
  /** The schedule's custom headers (an object; `{}` when none). */
  headers: JsonObject;
  /** The schedule's name. */
  schedule: string;
  /** The slot this run is for. */
  scheduledFor: string;
  /** BullMQ has no expiry of its own: a worker must not start the run after this instant (or null). */
  expiresAt: string | null;
  /** The schedule's time limits in seconds, for the worker to apply (BullMQ has none of its own). */
  timeLimitS: number | null;
  softTimeLimitS: number | null;
  /** Started by `beat trigger`, not by the schedule. */
  manual: boolean;
}

/**
 * A worker that drops an expired run fails the job with a reason starting with this; the transport
 * then reports the run `expired` (not `failed`), as Celery's REVOKED is.
 */
export const EXPIRED_REASON_PREFIX = 'metronome: expired';

/**
 * How long finished jobs are kept (BullMQ's `removeOnComplete` / `removeOnFail`, per job). The beat
 * reads a run's end from its job, about every second, so a finished job must outlive that; and a
 * re-sent occurrence is a no-op only while its job still exists. Unbounded retention would grow
 * Redis forever, so: completed jobs for a day (at most 10,000 per queue), failed ones for a week
 * (at most 10,000 per queue) for inspection.
 */
export const RETENTION = {
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
} as const;

/**
 * Our priority (0–9, Celery's range; null = the broker's default) on BullMQ's scale (1 = first …
 * 2,097,151; 0 = none). As on Celery's Redis transport, LOWER runs first: p becomes p + 1, so 0 → 1
 * (the first of the prioritized jobs) and 9 → 10. Null sets no BullMQ priority — and BullMQ serves
 * jobs without a priority BEFORE any prioritized job of the same queue.
 */
function bullmqPriority(priority: number | null): number | undefined {
  if (priority === null) return undefined;
  return Math.min(2_097_151, Math.max(1, Math.trunc(priority) + 1));
}

export interface BulkJob {
  name: string;
  data: MetronomeJobData;
  opts: {
    jobId: string;
    priority?: number;
    removeOnComplete: { age: number; count: number };
    removeOnFail: { age: number; count: number };
  };
}

export function jobFor(item: EnqueueItem): BulkJob {
  const priority = bullmqPriority(item.priority);
  return {
    name: item.task,
    data: {
      args: item.args,
      kwargs: item.kwargs,
      headers: item.headers,
      schedule: item.scheduleName,
      scheduledFor: new Date(item.scheduledFor).toISOString(),
      expiresAt: item.expiresAt === null ? null : new Date(item.expiresAt).toISOString(),
      timeLimitS: item.timeLimitS,
      softTimeLimitS: item.softTimeLimitS,
      manual: item.manual,
    },
    opts: {
      jobId: item.taskId,
      ...(priority === undefined ? {} : { priority }),
      removeOnComplete: { ...RETENTION.removeOnComplete },
      removeOnFail: { ...RETENTION.removeOnFail },
    },
  };
}

/** BullMQ's `getState()` answer as a run state (`failedReason` only matters for failed jobs). */
export function runStateOf(state: string, failedReason?: string | null): RunState {
  switch (state) {
    case 'completed':
      return 'succeeded';
    case 'failed':
      return failedReason?.startsWith(EXPIRED_REASON_PREFIX) ? 'expired' : 'failed';
    case 'active':
      return 'active';
    case 'waiting':
    case 'wait':
    case 'paused':
    case 'delayed':
    case 'prioritized':
    case 'waiting-children':
      return 'queued';
    default:
      return 'unknown';
  }
}
