/**
 * From claimed occurrences to enqueued runs, and from enqueued runs to finished ones.
 *
 * dispatch: run locks (per the overlap policy) → the leader fence → one transport call for the batch
 * → one statement recording `enqueued`. An occurrence whose enqueue failed stays `claimed` and is
 * retried with backoff (same task id) until it goes through, also after a failover.
 *
 * track: runs in flight are polled through the transport; a finished run (or a run lease that ended
 * without one) frees the schedule's run lock, and a `buffer_one` occurrence waiting for it goes.
 * The run lock's token is the occurrence's task id, so a new leader can re-take it for a re-send and
 * release it for a run the old leader started.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { type RunLockHandle, type RunLocks, RunLockUnavailableError } from '../locks/index.ts';
import { redactSecrets } from '../logger.ts';
import type { ScheduleRecord } from '../model/index.ts';
import type { EnqueueItem, RunState, Transport } from '../transports/transport.ts';
import { enqueueItem, type OccurrenceRef, runLeaseMs } from './enqueue-item.ts';
import { noteAttemptError, setStatus } from './ledger.ts';
import type { BeatMetrics } from './metrics.ts';

export interface DispatchRequest extends OccurrenceRef {
  scheduleId: number;
  /** `beat trigger --force`: no run lock. */
  force: boolean;
  /** Claimed just now by this leader, never sent before: its run lock cannot hold its token yet. */
  fresh?: boolean;
}

interface Pending {
  request: DispatchRequest;
  attempts: number;
  /** Monotonic ms. */
  nextAttemptAt: number;
  lock: RunLockHandle | null;
}

interface InFlight {
  taskId: string;
  scheduleId: number;
  lock: RunLockHandle | null;
  leaseMs: number;
  /** Wall-clock ms after which the run lock has expired by itself. */
  leaseEndsAt: number;
  /**
   * Wall-clock ms after which the lock is no longer extended even if the run still looks active: a
   * worker killed mid-run can leave a run "started" forever (Celery's STARTED with
   * task_track_started), which must not block its schedule for good.
   */
  holdUntil: number;
  running: boolean;
}

export interface DispatcherOptions {
  database: Database;
  transport: Transport;
  locks: RunLocks;
  /** The current logger (while leading it carries the epoch). */
  log: () => Logger;
  metrics: BeatMetrics;
  /** The schedule as last loaded (undefined when it is gone). */
  record: (scheduleId: number) => ScheduleRecord | undefined;
  /** The schedule's next slot after an instant, for the default run lease. */
  nextSlot: (scheduleId: number, after: number) => number | null;
  /** The local half of the leader fence. */
  canDispatch: () => boolean;
  /** Database time, ms. */
  now: () => number;
  owner: () => string;
  /** Longest a run lock is extended for a run with no hard time limit (see InFlight.holdUntil). */
  maxRunHoldMs: number;
}

const MAX_BACKOFF_MS = 30_000;

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #pending = new Map<string, Pending>();
  readonly #inFlight = new Map<string, InFlight>();
  readonly #buffered = new Map<number, DispatchRequest>();
  /** The last lock-service and enqueue failures, cleared by the next success: for /readyz. */
  #lockError: string | undefined;
  #enqueueError: string | undefined;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /** What currently keeps runs from going out, if anything (for readiness). */
  troubles(): string[] {
    const out: string[] = [];
    if (this.#lockError) out.push(`run locks unavailable: ${this.#lockError}`);
    if (this.#enqueueError) out.push(`enqueue failing: ${this.#enqueueError}`);
    return out;
  }

  /** The schedules with a run waiting to be enqueued or in flight (one pass, for a whole tick). */
  busySchedules(): Set<number> {
    const busy = new Set<number>();
    for (const p of this.#pending.values()) busy.add(p.request.scheduleId);
    for (const r of this.#inFlight.values()) busy.add(r.scheduleId);
    return busy;
  }

  isPending(taskId: string): boolean {
    return this.#pending.has(taskId);
  }

  /** Forget everything (on losing leadership; the ledger keeps the truth for the next leader). */
  reset(): void {
    this.#lockError = undefined;
    this.#enqueueError = undefined;
    this.#pending.clear();
    this.#inFlight.clear();
    this.#buffered.clear();
  }

  /** Resume a run the previous leader enqueued and whose end was not seen. */
  adoptInFlight(
    scheduleId: number,
    taskId: string,
    enqueuedAt: number,
    scheduledFor: number,
    running: boolean,
  ): void {
    const record = this.#o.record(scheduleId);
    if (!record) return;
    const leaseMs = runLeaseMs(record, scheduledFor, this.#o.nextSlot(scheduleId, scheduledFor));
    // enqueuedAt is database time; handles and lease ends are on this process's clock.
    const leaseEndsAt = enqueuedAt + leaseMs - (this.#o.now() - Date.now());
    const lock =
      record.overlap === 'allow'
        ? null
        : this.#o.locks.handleFor(lockKey(scheduleId), taskId, this.#o.owner(), leaseEndsAt);
    const enqueuedLocal = enqueuedAt - (this.#o.now() - Date.now());
    const holdUntil = enqueuedLocal + holdMs(record, this.#o.maxRunHoldMs);
    this.#inFlight.set(taskId, { taskId, scheduleId, lock, leaseMs, leaseEndsAt, holdUntil, running });
  }

  adoptBuffered(request: DispatchRequest): void {
    this.#buffered.set(request.scheduleId, request);
  }

  /** Dispatch now (new claims, re-sends, manual triggers). */
  async dispatch(requests: DispatchRequest[]): Promise<void> {
    const now = performance.now();
    const batch: Pending[] = requests.map((request) => ({
      request,
      attempts: 0,
      nextAttemptAt: now,
      lock: null,
    }));
    for (const p of batch) this.#pending.set(p.request.taskId, p);
    await this.#attempt(batch);
  }

  /** Retry what is due for another attempt. */
  async retryDue(): Promise<void> {
    const now = performance.now();
    const due = [...this.#pending.values()].filter((p) => p.nextAttemptAt <= now);
    if (due.length > 0) await this.#attempt(due);
  }

  /** Monotonic ms of the next retry, or undefined. */
  nextRetryAt(): number | undefined {
    let next: number | undefined;
    for (const p of this.#pending.values())
      if (next === undefined || p.nextAttemptAt < next) next = p.nextAttemptAt;
    return next;
  }

  async #attempt(batch: Pending[]): Promise<void> {
    const { metrics, database } = this.#o;
    const log = this.#o.log();
    const ready: Pending[] = [];
    const skipped: string[] = [];
    const buffered: string[] = [];
    const gone: string[] = [];
    const needLock: Array<{ p: Pending; record: ScheduleRecord }> = [];
    for (const p of batch) {
      const record = this.#o.record(p.request.scheduleId);
      if (!record) {
        gone.push(p.request.taskId);
        this.#pending.delete(p.request.taskId);
      } else if (
        p.lock ||
        p.request.force ||
        record.overlap === 'allow' ||
        this.#o.transport.finishedOnEnqueue
      ) {
        // (A transport whose runs are over on enqueue has nothing to overlap: no lock round trip.)
        ready.push(p);
      } else {
        needLock.push({ p, record });
      }
    }
    // One round trip per lock, all at once: a batch's locks do not wait for each other.
    const acquired = await Promise.all(
      needLock.map(async ({ p, record }) => {
        const leaseMs = runLeaseMs(
          record,
          p.request.scheduledFor,
          this.#o.nextSlot(record.id, p.request.scheduledFor),
        );
        try {
          return await this.#o.locks.tryAcquire(
            lockKey(record.id),
            leaseMs,
            this.#o.owner(),
            p.request.taskId,
          );
        } catch (error) {
          return error instanceof Error ? error : new Error(String(error));
        }
      }),
    );
    if (acquired.length > 0 && acquired.every((r) => !(r instanceof Error))) this.#lockError = undefined;
    needLock.forEach(({ p, record }, i) => {
      const result = acquired[i];
      if (result instanceof Error) {
        metrics.lockFailures.inc();
        this.#lockError = redactSecrets(result.message);
        this.#backoff(p, result instanceof RunLockUnavailableError ? result.message : String(result));
      } else if (result) {
        p.lock = result;
        ready.push(p);
      } else if (record.overlap === 'buffer_one' && !this.#buffered.has(record.id)) {
        this.#buffered.set(record.id, p.request);
        this.#pending.delete(p.request.taskId);
        buffered.push(p.request.taskId);
      } else {
        this.#pending.delete(p.request.taskId);
        skipped.push(p.request.taskId);
      }
    });
    if (gone.length > 0)
      await setStatus(
        database,
        gone,
        'failed',
        ['claimed', 'buffered'],
        'the schedule was removed before this run was enqueued',
      );
    if (skipped.length > 0) {
      metrics.skipped.inc(skipped.length);
      metrics.fires.inc({ outcome: 'skipped_overlap' }, skipped.length);
      await setStatus(
        database,
        skipped,
        'skipped_overlap',
        ['claimed', 'buffered'],
        'the previous run still holds the run lock (overlap: skip)',
      );
    }
    if (buffered.length > 0) {
      metrics.fires.inc({ outcome: 'buffered' }, buffered.length);
      await setStatus(
        database,
        buffered,
        'buffered',
        ['claimed'],
        'waiting for the previous run to finish (overlap: buffer_one)',
      );
    }
    if (ready.length === 0) return;

    // The fence: never enqueue unless the lease is certainly still ours right now.
    if (!this.#o.canDispatch()) {
      metrics.fires.inc({ outcome: 'fenced' }, ready.length);
      log.warn(
        { occurrences: ready.length },
        'not enqueueing: leadership lost; the next leader re-sends them',
      );
      for (const p of ready) this.#pending.delete(p.request.taskId);
      return;
    }
    const items: EnqueueItem[] = [];
    for (const p of ready)
      items.push(enqueueItem(this.#o.record(p.request.scheduleId) as ScheduleRecord, p.request));
    let results: Array<{ taskId: string; ok: boolean; error?: string }>;
    try {
      results = await this.#o.transport.enqueue(items);
    } catch (error) {
      results = items.map((i) => ({
        taskId: i.taskId,
        ok: false,
        error: redactSecrets(error instanceof Error ? error.message : String(error)),
      }));
    }
    const ok: string[] = [];
    const failedByError = new Map<string, string[]>();
    const now = this.#o.now();
    results.forEach((r, i) => {
      const p = ready[i] as Pending;
      if (r.ok) {
        ok.push(r.taskId);
        this.#pending.delete(r.taskId);
        metrics.dispatchLag.observe(Math.max(0, now - p.request.fireAt) / 1000);
        const record = this.#o.record(p.request.scheduleId) as ScheduleRecord;
        // A run that is over on enqueue (the log transport) has nothing to follow.
        if (!this.#o.transport.finishedOnEnqueue) {
          const leaseMs = runLeaseMs(
            record,
            p.request.scheduledFor,
            this.#o.nextSlot(record.id, p.request.scheduledFor),
          );
          this.#inFlight.set(r.taskId, {
            taskId: r.taskId,
            scheduleId: p.request.scheduleId,
            lock: p.lock,
            leaseMs,
            leaseEndsAt: Date.now() + leaseMs,
            holdUntil: Date.now() + holdMs(record, this.#o.maxRunHoldMs),
            running: false,
          });
        }
        log.info(
          {
            schedule: record.name,
            task: record.task,
            taskId: r.taskId,
            scheduledFor: new Date(p.request.scheduledFor).toISOString(),
            manual: p.request.manual || undefined,
          },
          'enqueued',
        );
      } else {
        const error = r.error ?? 'enqueue failed';
        failedByError.set(error, [...(failedByError.get(error) ?? []), r.taskId]);
        this.#backoff(p, error);
      }
    });
    this.#enqueueError = failedByError.size > 0 ? [...failedByError.keys()][0] : undefined;
    if (ok.length > 0) {
      metrics.fires.inc({ outcome: 'enqueued' }, ok.length);
      if (this.#o.transport.finishedOnEnqueue) {
        await setStatus(database, ok, 'succeeded', ['claimed', 'buffered']);
      } else {
        await setStatus(database, ok, 'enqueued', ['claimed', 'buffered']);
      }
    }
    for (const [error, ids] of failedByError) {
      metrics.enqueueFailures.inc(ids.length);
      metrics.fires.inc({ outcome: 'enqueue_failed' }, ids.length);
      await noteAttemptError(database, ids, error).catch(() => {});
    }
  }

  #backoff(p: Pending, error: string): void {
    p.attempts += 1;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(p.attempts, 10));
    p.nextAttemptAt = performance.now() + delay;
    this.#o
      .log()
      .warn(
        { taskId: p.request.taskId, attempts: p.attempts, retryInMs: delay, error },
        'enqueue attempt failed; will retry',
      );
  }

  /** Poll runs in flight; finish, extend or let go of them; release buffered occurrences. */
  async track(): Promise<void> {
    const { database, transport, locks } = this.#o;
    const log = this.#o.log();
    if (this.#inFlight.size === 0 && this.#buffered.size === 0) return;
    const ids = [...this.#inFlight.keys()];
    let states = new Map<string, RunState>();
    if (ids.length > 0) {
      try {
        states = await transport.status(ids);
      } catch (error) {
        log.warn({ err: error }, 'could not read run states; runs stay tracked');
      }
    }
    // Finished runs by state and reason (one statement per group).
    const finished = new Map<string, { state: RunState; reason: string | null; ids: string[] }>();
    const nowWall = Date.now();
    const freed = new Set<number>();
    const startedRunning: string[] = [];
    for (const run of [...this.#inFlight.values()]) {
      const state = states.get(run.taskId) ?? 'unknown';
      if (state === 'succeeded' || state === 'failed' || state === 'expired') {
        const reason = state === 'succeeded' ? null : (transport.finishReason?.(run.taskId) ?? null);
        const group = `${state}\u0000${reason ?? ''}`;
        const entry = finished.get(group) ?? { state, reason, ids: [] };
        entry.ids.push(run.taskId);
        finished.set(group, entry);
        this.#inFlight.delete(run.taskId);
        if (run.lock) await locks.release(run.lock).catch(() => {});
        freed.add(run.scheduleId);
        continue;
      }
      if (state === 'active' && !run.running) {
        run.running = true;
        startedRunning.push(run.taskId);
      }
      if (nowWall >= run.leaseEndsAt) {
        // The run lease ended without a finish being seen: the lock has expired by itself.
        this.#inFlight.delete(run.taskId);
        freed.add(run.scheduleId);
        log.info(
          { taskId: run.taskId },
          'run lease ended without seeing the run finish; run lock released by expiry',
        );
        continue;
      }
      if (
        state === 'active' &&
        run.lock &&
        run.leaseEndsAt - nowWall < run.leaseMs / 2 &&
        nowWall < run.holdUntil
      ) {
        // Known to be running: keep the lock for another lease.
        try {
          const extended = await locks.extend(run.lock, run.leaseMs);
          if (extended) {
            run.lock = extended;
            run.leaseEndsAt = nowWall + run.leaseMs;
          }
        } catch {
          this.#o.metrics.lockFailures.inc();
        }
      }
    }
    if (startedRunning.length > 0) await setStatus(database, startedRunning, 'running', ['enqueued']);
    for (const { state, reason, ids } of finished.values()) {
      await setStatus(
        database,
        ids,
        state as 'succeeded' | 'failed' | 'expired',
        ['enqueued', 'running'],
        reason,
      );
    }
    // A buffered occurrence goes once no run of its schedule is in flight.
    const busy = new Set([...this.#inFlight.values()].map((r) => r.scheduleId));
    const release: DispatchRequest[] = [];
    for (const [scheduleId, request] of this.#buffered) {
      if (
        !busy.has(scheduleId) &&
        (freed.has(scheduleId) || !(await locks.isHeld(lockKey(scheduleId)).catch(() => true)))
      ) {
        this.#buffered.delete(scheduleId);
        release.push(request);
      }
    }
    if (release.length > 0) {
      await setStatus(
        database,
        release.map((r) => r.taskId),
        'claimed',
        ['buffered'],
        null,
      );
      await this.dispatch(release);
    }
  }
}

/**
 * How long a run may keep its lock by looking active: its hard time limit (the worker kills it
 * then) plus a minute, or the configured maximum when it has none.
 */
function holdMs(record: ScheduleRecord, maxRunHoldMs: number): number {
  return record.timeLimitS !== null ? record.timeLimitS * 1_000 + 60_000 : maxRunHoldMs;
}

/** The run lock of a schedule is keyed by its id (stable across renames). */
export function lockKey(scheduleId: number): string {
  return `schedule:${scheduleId}`;
}
