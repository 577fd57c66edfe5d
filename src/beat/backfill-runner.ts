/**
 * The leader's side of backfills (issue 20): the open requests in `metronome.backfills`, executed a
 * step at a time at each request's rate. Who sends a backfill is the elected leader, always: the
 * CLI, the API and the client only record the request (src/operate/backfill.ts).
 *
 * Invariant: a backfill slot is sent at most once. Each step claims its slots in one fenced
 * transaction with the cursor (src/db/sql/backfills.ts); only the rows that step claimed are handed
 * to the dispatcher, which sends them with their deterministic task ids through the same path as a
 * scheduled run (run lock, overlap policy, at most one send per occurrence). A leader killed between
 * two steps leaves the cursor where the next leader resumes; one killed after a step leaves claimed
 * rows that the next leader adopts and re-sends only if the broker does not have them.
 *
 * Pacing: a token bucket per request (its rate, a burst of at most one second's worth). A schedule
 * whose runs must not overlap gets one slot at a time, and the next only once its run lock's scope
 * (the schedule, or its exclusion group) is free: a backfill never skips its own slots, while a run
 * of the schedule's own time that finds a backfilled run going follows the overlap policy as usual.
 * A paused or disabled schedule's backfill waits until it is enabled again.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { type Backfill, claimBackfillSlots, failBackfill, openBackfills } from '../db/sql/backfills.ts';
import type { Fence } from '../db/sql/leader.ts';
import type { LoadedSchedule } from '../db/store.ts';
import { slotsInRange } from '../model/backfill.ts';
import { taskIdFor } from '../model/task-id.ts';
import type { DispatchRequest } from './dispatcher.ts';

/** Most slots one step claims (a fast `allow` backfill claims in batches of up to this). */
const MAX_STEP = 50;
/** How often open requests are re-read without a notification (one recorded while we started). */
const RELOAD_MS = 5_000;
/** How soon a request held back by a busy lock scope is looked at again (run tracking frees it). */
const BUSY_RETRY_MS = 250;
/** How soon a paused or disabled schedule's request is looked at again. */
const IDLE_RETRY_MS = 2_000;

export interface BackfillRunnerOptions {
  database: Database;
  fence: Fence;
  log: () => Logger;
  /** The schedules, as the book has them or reads them (absent: removed or invalid). */
  entries: (ids: number[]) => Promise<Map<number, LoadedSchedule>>;
  /** Whether a run of this schedule's lock scope is pending, buffered or in flight (asked now). */
  busy: (loaded: LoadedSchedule) => Promise<boolean>;
  dispatch: (requests: DispatchRequest[]) => Promise<void>;
  /** Whether this term may still claim (active, lease certainly valid). */
  active: () => boolean;
}

interface Bucket {
  tokens: number;
  /** performance.now() of the last refill. */
  at: number;
  /** performance.now() before which the request is not looked at (held back: busy, paused). */
  notBefore: number;
}

export class BackfillRunner {
  readonly #o: BackfillRunnerOptions;
  #open: Backfill[] = [];
  readonly #buckets = new Map<number, Bucket>();
  #reload = true;
  #loadedAt = Number.NEGATIVE_INFINITY;

  constructor(options: BackfillRunnerOptions) {
    this.#o = options;
  }

  /** A request may have been recorded (the trigger channel): read them again on the next step. */
  wake(): void {
    this.#reload = true;
  }

  /** Whether a step is worth taking now. */
  due(): boolean {
    if (this.#reload || performance.now() - this.#loadedAt >= RELOAD_MS) return true;
    return (this.msUntilNext() ?? 1) <= 0;
  }

  /**
   * Milliseconds until a request may go again (a token, and not held back); undefined when none is
   * open. Never 0 for a request held back: the loop sleeps while a backfill waits.
   */
  msUntilNext(): number | undefined {
    if (this.#reload) return 0;
    if (this.#open.length === 0) return undefined;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    for (const b of this.#open) next = Math.min(next, this.#waitMs(b, now));
    return next;
  }

  #waitMs(b: Backfill, now: number): number {
    const bucket = this.#refill(b, now);
    const forToken = bucket.tokens >= 1 ? 0 : ((1 - bucket.tokens) / b.ratePerSecond) * 1000;
    return Math.max(forToken, bucket.notBefore - now);
  }

  #holdBack(b: Backfill, ms: number): void {
    const bucket = this.#refill(b, performance.now());
    bucket.notBefore = bucket.at + ms;
  }

  /** Claim and send what the open requests may send now. */
  async step(): Promise<void> {
    if (this.#reload || performance.now() - this.#loadedAt >= RELOAD_MS) await this.#load();
    if (this.#open.length === 0) return;
    const now = performance.now();
    const ready = this.#open.filter((b) => this.#waitMs(b, now) <= 0);
    if (ready.length === 0) return;
    if (!this.#o.active()) {
      // The lease is not certainly ours (a renewal running late): look again shortly, not at once.
      for (const b of ready) this.#holdBack(b, BUSY_RETRY_MS);
      return;
    }
    const entries = await this.#o.entries([...new Set(ready.map((b) => b.scheduleId))]);
    for (const backfill of ready) {
      if (!this.#o.active()) return this.#holdBack(backfill, BUSY_RETRY_MS);
      await this.#stepOne(backfill, entries.get(backfill.scheduleId));
    }
  }

  async #load(): Promise<void> {
    this.#reload = false;
    this.#loadedAt = performance.now();
    const before = this.#open;
    this.#open = await openBackfills(this.#o.database);
    const ids = new Set(this.#open.map((b) => b.id));
    for (const id of this.#buckets.keys()) if (!ids.has(id)) this.#buckets.delete(id);
    // Open before, gone now: only a cancel closes a backfill this term is working on.
    for (const b of before.filter((b) => !ids.has(b.id)))
      this.#o.log().info({ backfill: b.id, schedule: b.scheduleName }, 'backfill cancelled');
  }

  #refill(b: Backfill, now: number): Bucket {
    const bucket = this.#buckets.get(b.id) ?? { tokens: 1, at: now, notBefore: 0 };
    const burst = Math.max(1, b.ratePerSecond);
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * b.ratePerSecond);
    bucket.at = now;
    this.#buckets.set(b.id, bucket);
    return bucket;
  }

  async #stepOne(backfill: Backfill, loaded: LoadedSchedule | undefined): Promise<void> {
    if (!loaded) {
      const error = `schedule ${JSON.stringify(backfill.scheduleName)} was removed or is invalid; ${backfill.claimed} slots were sent`;
      await failBackfill(this.#o.database, backfill.id, error);
      this.#forget(backfill);
      this.#o
        .log()
        .warn({ backfill: backfill.id, schedule: backfill.scheduleName }, `backfill failed: ${error}`);
      return;
    }
    if (loaded.state !== 'enabled' || backfill.nextSlot === null)
      return this.#holdBack(backfill, IDLE_RETRY_MS);
    const mayOverlap = loaded.record.overlap === 'allow';
    if (!mayOverlap && (await this.#o.busy(loaded))) return this.#holdBack(backfill, BUSY_RETRY_MS);
    const bucket = this.#refill(backfill, performance.now());
    const n = Math.min(Math.floor(bucket.tokens), mayOverlap ? MAX_STEP : 1);
    if (n < 1) return;
    const times = slotsInRange(loaded.schedule, loaded.record, backfill.nextSlot, backfill.to, n + 1);
    const take = times.slice(0, n);
    const nextSlot = times[n] ?? null;
    const slots = take.map((at) => ({ scheduledFor: at, taskId: taskIdFor(backfill.scheduleId, at) }));
    const result = await claimBackfillSlots(this.#o.database, this.#o.fence, backfill, slots, nextSlot);
    if (result.closed) {
      this.#forget(backfill);
      this.#o.log().info({ backfill: backfill.id, schedule: backfill.scheduleName }, 'backfill cancelled');
      return;
    }
    bucket.tokens -= take.length;
    backfill.nextSlot = nextSlot;
    backfill.claimed += result.claimed.length;
    backfill.already += result.already;
    if (nextSlot === null) {
      this.#forget(backfill);
      this.#o.log().info(
        {
          backfill: backfill.id,
          schedule: backfill.scheduleName,
          claimed: backfill.claimed,
          already: backfill.already,
        },
        'backfill done: every slot of its range claimed',
      );
    }
    if (result.claimed.length === 0) return;
    await this.#o.dispatch(
      result.claimed.map((c) => ({
        taskId: c.taskId,
        scheduleId: backfill.scheduleId,
        scheduledFor: c.scheduledFor,
        fireAt: c.fireAt,
        manual: false,
        force: false,
        // A missed row taken back may have been sent by an attempt whose reply was lost: not fresh,
        // so the dispatcher asks the task runtime for it first (Transport.locate).
        fresh: !c.retaken,
        backfill: true,
        backfillPaceMs: 1000 / backfill.ratePerSecond,
        schedule: loaded,
      })),
    );
  }

  #forget(backfill: Backfill): void {
    this.#open = this.#open.filter((b) => b.id !== backfill.id);
    this.#buckets.delete(backfill.id);
  }
}
