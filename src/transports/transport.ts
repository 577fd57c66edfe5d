/**
 * What the beat hands to a task runtime, and what it asks back. One call per batch: the tick claims
 * a batch of occurrences, takes their run locks, then enqueues them all in one round trip.
 */
import type { JsonObject, JsonValue } from '../model/json.ts';

export interface EnqueueItem {
  /** Deterministic (UUID v5 of schedule and scheduled instant): a re-send carries the same id. */
  taskId: string;
  scheduleId: number;
  scheduleName: string;
  task: string;
  args: JsonValue[];
  kwargs: JsonObject;
  queue: string | null;
  routingKey: string | null;
  priority: number | null;
  headers: JsonObject;
  /** Absolute instant (ms) after which the run must not start, or null. */
  expiresAt: number | null;
  timeLimitS: number | null;
  softTimeLimitS: number | null;
  /** The slot this run is for, and when it was due (slot plus jitter). */
  scheduledFor: number;
  fireAt: number;
  manual: boolean;
}

export type EnqueueResult = { taskId: string; ok: true } | { taskId: string; ok: false; error: string };

/** What is known of a run: still queued or running, finished one way or another, or not known. */
export type RunState = 'queued' | 'active' | 'succeeded' | 'failed' | 'expired' | 'unknown';

export interface Transport {
  readonly name: string;
  /**
   * The transport knows a run is over as soon as it is enqueued (the `log` transport: nothing runs).
   * The beat then records it finished and frees its run lock at once instead of polling status().
   */
  readonly finishedOnEnqueue?: boolean;
  /**
   * Whether status() can ever see a run finish (default true). Celery without a result backend
   * cannot: its runs are closed when their run lease ends instead of being followed longer.
   */
  readonly tracksRuns?: boolean;
  /**
   * Encode these items' messages ahead of their send (claim ahead: docs/runtime.md), as far as the
   * send does not decide; enqueue of the same item objects then only finishes them. Optional; an
   * item must not change once prepared.
   */
  prepare?(items: EnqueueItem[]): void;
  /** Enqueue a batch; one result per item, in order. Throws only when nothing could be sent. */
  enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]>;
  /** The state of runs, by task id. */
  status(taskIds: string[]): Promise<Map<string, RunState>>;
  /**
   * Why a run that status() just reported `failed` or `expired` ended that way, as the worker recorded
   * it (e.g. `NotRegistered('tasks.nope')`); kept in the occurrence's `error`. Optional.
   */
  finishReason?(taskId: string): string | undefined;
  /**
   * Where the task runtime has these runs, when status() cannot tell: `queued` — still in the
   * broker, or with a worker that has not acknowledged it; `seen` — a worker has reported on it.
   * Runs it has nowhere are left out. Lets the beat tell a queued run from a lost one, and not send
   * again what was sent but not recorded (a failover, a lost reply). Optional.
   */
  locate?(items: EnqueueItem[]): Promise<Map<string, 'queued' | 'seen'>>;
  close(): Promise<void>;
}

/** A transport's configuration is wrong (the message names the variable and the fix). */
export class TransportConfigError extends Error {}
