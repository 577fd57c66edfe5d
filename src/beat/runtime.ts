/**
 * The beat: stands by until elected, then keeps every firing schedule in the due index and runs the
 * tick — claim (fenced), run locks, one enqueue per batch, record — until it stops leading.
 *
 * Schedules change under it through the change feed (LISTEN, one row refreshed per notification)
 * and a periodic reconcile on `version` (notifications are lost while disconnected); an edit never
 * reloads everything. Due decisions use database time; sleeps use the monotonic clock.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import { databaseErrorText } from '../db/errors.ts';
import { type LoadedSchedule, loadSchedules, refreshSchedules } from '../db/store.ts';
import type { BeatMetrics } from '../http/metrics.ts';
import type { Readiness } from '../http/server.ts';
import type { RunLocks } from '../locks/index.ts';
import { type CatchupPolicy, type ScheduleRecord, scheduleState } from '../model/index.ts';
import { taskIdFor } from '../model/task-id.ts';
import type { Transport } from '../transports/transport.ts';
import { type CursorAdvance, claim, type Fence, FencedError, type NewOccurrence } from './claim.ts';
import { DatabaseClock } from './clock.ts';
import { Dispatcher } from './dispatcher.ts';
import { DueIndex } from './due-index.ts';
import { Leadership, type LeaseConnection } from './leadership.ts';
import { loadUnfinished } from './ledger.ts';
import { fireAtOf, planGuarded } from './plan.ts';
import { pruneOccurrences } from './prune.ts';

export const SCHEDULES_CHANNEL = 'metronome_schedules';
export const TRIGGER_CHANNEL = 'metronome_trigger';
/**
 * Changed schedules re-read per turn of the loop (see #refreshDirty): small enough that a batch of
 * the slowest rows to judge (crontabs that never fire, a few ms each) delays a due fire by a fraction
 * of the misfire grace.
 */
const REFRESH_BATCH = 100;

export interface BeatOptions {
  database: Database;
  leaseConnection: LeaseConnection;
  transport: Transport;
  locks: RunLocks;
  log: Logger;
  metrics: BeatMetrics;
  group: string;
  leaseTtlMs: number;
  /** A due slot at most this late is on time and always runs; older ones follow catch-up. */
  graceMs: number;
  batchSize: number;
  /** Global budget of catch-up runs per second (policy `all`). */
  catchupRatePerSecond: number;
  reconcileMs: number;
  trackMs: number;
  /** Longest sleep between ticks, so new work is noticed even without a notification. */
  maxSleepMs: number;
  /** Longest a run lock is extended for an active-looking run with no hard time limit. */
  maxRunHoldMs?: number;
  /** Ledger retention (see prune.ts); no pruning when absent. */
  prune?: { maxAgeMs: number; perSchedule: number; intervalMs: number };
  holderId?: string;
}

interface Entry {
  loaded: LoadedSchedule;
  version: number;
}

export class Beat {
  readonly #o: BeatOptions;
  readonly #leadership: Leadership;
  readonly #clock: DatabaseClock;
  readonly #dispatcher: Dispatcher;
  #entries = new Map<number, Entry>();
  /** Every row seen (valid or not) and its version, for the reconcile. */
  #known = new Map<number, number>();
  #index = new DueIndex();
  #dirty = new Set<number>();
  /** Schedules the tick could not plan, by the version it gave up on (see #leaveOut). */
  #leftOut = new Map<number, number>();
  #pickUpClaims = false;
  #epoch = 0;
  #loop: Promise<void> | undefined;
  #running = false;
  #wake: (() => void) | undefined;
  #unlisten: Array<() => Promise<void>> = [];
  #lastTrack = 0;
  #lastReconcile = 0;
  #lastPrune = 0;
  #catchupTokens = 0;
  #catchupRefilledAt = 0;
  #lastTickError: string | undefined;
  #stopping = false;
  /** The logger; while leading, a child carrying the epoch on every line. */
  #log: Logger;

  constructor(options: BeatOptions) {
    this.#o = options;
    this.#log = options.log;
    this.#clock = new DatabaseClock(options.database);
    this.#leadership = new Leadership({
      connection: options.leaseConnection,
      group: options.group,
      ttlMs: options.leaseTtlMs,
      log: options.log,
      holderId: options.holderId,
      onElected: (epoch) => this.#onElected(epoch),
      onDemoted: (reason) => this.#onDemoted(reason),
    });
    this.#dispatcher = new Dispatcher({
      database: options.database,
      transport: options.transport,
      locks: options.locks,
      log: () => this.#log,
      metrics: options.metrics,
      record: (id) => this.#entries.get(id)?.loaded.record,
      nextSlot: (id, after) => this.#entries.get(id)?.loaded.schedule.next(after) ?? null,
      canDispatch: () => this.#leadership.canDispatch(),
      now: () => this.#clock.now(),
      owner: () => `${this.#leadership.holderId} epoch ${this.#epoch}`,
      maxRunHoldMs: options.maxRunHoldMs ?? 86_400_000,
    });
    options.metrics.leader.set(0);
  }

  get leading(): boolean {
    return this.#leadership.leading;
  }

  get holderId(): string {
    return this.#leadership.holderId;
  }

  async start(): Promise<void> {
    await this.#leadership.start();
  }

  /** Stop ticking and hand the lease over (release + notify) so a standby leads within a second. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#stopLoop();
    await this.#leadership.stop();
  }

  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.#leadership.healthy)
      reasons.push(`database unreachable: ${this.#leadership.lastError ?? 'unknown error'}`);
    if (this.#leadership.leading && this.#lastTickError) reasons.push(`tick failing: ${this.#lastTickError}`);
    if (this.#leadership.leading) reasons.push(...this.#dispatcher.troubles());
    const role = this.#stopping ? 'stopping' : this.#leadership.leading ? 'leader' : 'standby';
    return { ready: reasons.length === 0 && !this.#stopping, role, reasons };
  }

  async #onElected(epoch: number): Promise<void> {
    this.#epoch = epoch;
    this.#log = this.#o.log.child({ epoch });
    const log = this.#log;
    const { metrics, database } = this.#o;
    metrics.leader.set(1);
    metrics.epoch.set(epoch);
    try {
      // Listen before loading, so a change made during the load is not lost.
      this.#unlisten.push(
        await database.listen(SCHEDULES_CHANNEL, (payload) => this.#onScheduleChange(payload)),
        await database.listen(TRIGGER_CHANNEL, () => {
          this.#pickUpClaims = true;
          this.#wake?.();
        }),
      );
      await this.#clock.measure();
      await this.#loadAll();
      await this.#adoptUnfinished();
    } catch (error) {
      log.error({ err: error }, 'could not start leading; stepping down');
      await this.#leadership.stepDown('start-up failed');
      return;
    }
    this.#running = true;
    this.#catchupTokens = this.#o.catchupRatePerSecond;
    this.#catchupRefilledAt = performance.now();
    this.#loop = this.#run();
  }

  async #onDemoted(reason: string): Promise<void> {
    this.#o.metrics.leader.set(0);
    this.#log.info({ reason }, 'standing by');
    this.#log = this.#o.log;
    await this.#stopLoop();
  }

  async #stopLoop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    const loop = this.#loop;
    this.#loop = undefined;
    await loop;
    for (const unlisten of this.#unlisten.splice(0)) await unlisten().catch(() => {});
    this.#dispatcher.reset();
    this.#entries.clear();
    this.#known.clear();
    this.#index = new DueIndex();
    this.#dirty.clear();
  }

  async #loadAll(): Promise<void> {
    const { schedules, invalid } = await loadSchedules(this.#o.database, {
      log: this.#log,
      now: this.#clock.now(),
    });
    this.#o.metrics.invalidSchedules.inc(invalid.length);
    for (const item of invalid) this.#known.set(item.record.id, item.record.version);
    for (const loaded of schedules) this.#apply(loaded);
    this.#lastReconcile = performance.now();
    this.#updateStateMetrics();
    this.#log.info(
      { schedules: schedules.length, invalid: invalid.length, due: this.#index.size },
      'schedules loaded',
    );
  }

  /** Put a loaded schedule in place: in the index when it fires, out of it otherwise. */
  #apply(loaded: LoadedSchedule): void {
    const id = loaded.record.id;
    const current = this.#entries.get(id);
    if (current && current.version > loaded.record.version) return; // a stale read
    if (this.#leftOut.get(id) === loaded.record.version) return; // unchanged since the tick gave up on it
    this.#leftOut.delete(id);
    this.#entries.set(id, { loaded, version: loaded.record.version });
    this.#known.set(id, loaded.record.version);
    if (loaded.state === 'enabled' && loaded.nextFireAt !== null) {
      this.#index.set(id, fireAtOf(loaded.record.name, loaded.nextFireAt, loaded.record.jitterMs));
    } else {
      this.#index.delete(id);
    }
  }

  /**
   * The tick's guard: a schedule it could not plan (validation should have caught why) is left out,
   * logged as an error, until its row changes; every other schedule keeps firing.
   */
  #leaveOut(entry: Entry, error: unknown): void {
    const record = entry.loaded.record;
    this.#log.error(
      { schedule: record.name, scheduleId: record.id, err: error },
      'could not plan this schedule; it is left out until its row changes',
    );
    this.#leftOut.set(record.id, entry.version);
    this.#forget(record.id);
    this.#o.metrics.invalidSchedules.inc();
  }

  #forget(id: number): void {
    this.#entries.delete(id);
    this.#index.delete(id);
  }

  #onScheduleChange(payload: string): void {
    try {
      const change = JSON.parse(payload) as { id: number; op: string; version: number };
      if (change.op === 'DELETE') {
        this.#forget(change.id);
        this.#known.delete(change.id);
        return;
      }
      if (this.#known.get(change.id) === change.version) return; // our own write
      this.#dirty.add(change.id);
      this.#wake?.();
    } catch {
      this.#log.warn({ payload }, 'unreadable change notification; the reconcile will catch up');
    }
  }

  /**
   * Re-read changed schedules, a batch at a time (one query, one write): the loop ticks between
   * batches, so a burst of inserted rows never holds up schedules that are due.
   */
  async #refreshDirty(): Promise<void> {
    const ids = [...this.#dirty].slice(0, REFRESH_BATCH);
    for (const id of ids) this.#dirty.delete(id);
    const results = await refreshSchedules(this.#o.database, ids, {
      log: this.#log,
      now: this.#clock.now(),
    });
    for (const id of ids) {
      const result = results.get(id) ?? null;
      if (result === null) {
        this.#forget(id);
        this.#known.delete(id);
      } else if ('reason' in result) {
        this.#forget(id);
        this.#known.set(id, result.record.version);
        this.#o.metrics.invalidSchedules.inc();
      } else {
        this.#apply(result);
      }
    }
    if (ids.length > 0) this.#updateStateMetrics();
  }

  async #reconcile(): Promise<void> {
    await this.#clock.measure();
    const rows = await this.#o.database.rows<{ id: string | number; version: string | number }>(
      sql`select id, version from metronome.schedules`,
    );
    const seen = new Set<number>();
    for (const row of rows) {
      const id = Number(row.id);
      seen.add(id);
      if (this.#known.get(id) !== Number(row.version)) this.#dirty.add(id);
    }
    for (const id of this.#known.keys()) {
      if (!seen.has(id)) {
        this.#forget(id);
        this.#known.delete(id);
      }
    }
    this.#lastReconcile = performance.now();
  }

  async #adoptUnfinished(): Promise<void> {
    const unfinished = await loadUnfinished(this.#o.database);
    const resend = [];
    for (const o of unfinished) {
      if (o.status === 'claimed') resend.push(o);
      else if (o.status === 'buffered') this.#dispatcher.adoptBuffered({ ...o, force: o.force });
      else
        this.#dispatcher.adoptInFlight(
          o.scheduleId,
          o.taskId,
          o.enqueuedAt ?? Date.now(),
          o.scheduledFor,
          o.status === 'running',
        );
    }
    if (resend.length > 0) {
      this.#log.info(
        { occurrences: resend.length },
        're-sending occurrences claimed but never enqueued (same task ids)',
      );
      await this.#dispatcher.dispatch(resend);
    }
  }

  async #pickUpClaimed(): Promise<void> {
    this.#pickUpClaims = false;
    const claimed = (await loadUnfinished(this.#o.database)).filter(
      (o) => o.status === 'claimed' && !this.#dispatcher.isPending(o.taskId),
    );
    if (claimed.length > 0) await this.#dispatcher.dispatch(claimed);
  }

  async #run(): Promise<void> {
    const { metrics } = this.#o;
    const log = this.#log;
    while (this.#running) {
      try {
        if (this.#dirty.size > 0) await this.#refreshDirty();
        if (this.#pickUpClaims) await this.#pickUpClaimed();
        await this.#dispatcher.retryDue();
        const mono = performance.now();
        if (mono - this.#lastTrack >= this.#o.trackMs) {
          this.#lastTrack = mono;
          await this.#dispatcher.track();
        }
        if (mono - this.#lastReconcile >= this.#o.reconcileMs) await this.#reconcile();
        if (this.#o.prune && mono - this.#lastPrune >= this.#o.prune.intervalMs) {
          this.#lastPrune = mono;
          const pruned = await pruneOccurrences(this.#o.database, this.#o.prune);
          if (pruned.byAge + pruned.byCount > 0) log.info(pruned, 'pruned finished occurrences');
        }
        const now = this.#clock.now();
        const due = this.#index.due(now, this.#o.batchSize);
        if (due.length > 0 && this.#running) {
          const started = performance.now();
          await this.#tick(due, now);
          metrics.tickDuration.observe((performance.now() - started) / 1000);
          this.#lastTickError = undefined;
          continue;
        }
        this.#lastTickError = undefined;
        await this.#sleep(now);
      } catch (error) {
        if (error instanceof FencedError) {
          log.warn({ reason: error.message }, 'fenced: another beat leads');
          void this.#leadership.stepDown(error.message);
          return;
        }
        this.#lastTickError = databaseErrorText(error);
        log.error({ err: error }, 'tick failed; retrying');
        await this.#sleepFor(1_000);
      }
    }
  }

  /** Sleep until the earliest of: the next due schedule, a retry, tracking, the max sleep; or a wake-up. */
  async #sleep(now: number): Promise<void> {
    const mono = performance.now();
    const nextDue = this.#index.peekTime();
    let delay = this.#dirty.size > 0 ? 0 : this.#o.maxSleepMs;
    let towardFire = false;
    if (nextDue !== undefined && nextDue - now < delay) {
      delay = Math.max(0, nextDue - now);
      towardFire = true;
    }
    const retry = this.#dispatcher.nextRetryAt();
    if (retry !== undefined) delay = Math.min(delay, Math.max(0, retry - mono));
    if (this.#dispatcher.inFlightCount > 0)
      delay = Math.min(delay, Math.max(0, this.#lastTrack + this.#o.trackMs - mono));
    const intended = mono + delay;
    await this.#sleepFor(delay);
    if (towardFire) this.#o.metrics.wakeupLag.observe(Math.max(0, performance.now() - intended) / 1000);
  }

  #sleepFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /** One batch: plan each due schedule, claim in one transaction, then dispatch what was claimed. */
  async #tick(ids: number[], now: number): Promise<void> {
    this.#refillCatchup();
    const budget = this.#catchupBudgets();
    const advances: CursorAdvance[] = [];
    const occurrences: NewOccurrence[] = [];
    for (const id of ids) {
      const entry = this.#entries.get(id);
      const cursor = entry?.loaded.nextFireAt;
      if (!entry || cursor === null || cursor === undefined) {
        this.#index.delete(id);
        continue;
      }
      const record = entry.loaded.record;
      const plan = planGuarded({
        name: record.name,
        schedule: entry.loaded.schedule,
        cursor,
        now,
        catchup: record.catchup as CatchupPolicy,
        catchupWindowMs: record.catchupWindowMs,
        jitterMs: record.jitterMs,
        graceMs: this.#o.graceMs,
        startAt: record.startAt?.getTime() ?? null,
        endAt: record.endAt?.getTime() ?? null,
        runsLeft: record.maxRuns === null ? Number.POSITIVE_INFINITY : record.maxRuns - record.totalRuns,
        catchupBudget: budget(record),
      });
      if (plan instanceof Error) {
        this.#leaveOut(entry, plan);
        continue;
      }
      this.#catchupTokens -= plan.catchupRuns;
      if (plan.run.length === 0 && plan.missed.length === 0 && plan.cursor === cursor) {
        // Catch-up budget exhausted: look again in a moment.
        this.#index.set(id, now + 250);
        continue;
      }
      const lastRun = plan.run[plan.run.length - 1];
      advances.push({
        scheduleId: id,
        version: entry.version,
        nextFireAt: plan.cursor,
        runs: plan.run.length,
        lastFireAt: lastRun ? lastRun.scheduledFor : null,
      });
      for (const s of plan.run) {
        occurrences.push({ ...occurrence(record, s.scheduledFor, s.fireAt), status: 'claimed', error: null });
      }
      for (const m of plan.missed) {
        occurrences.push({
          ...occurrence(record, m.scheduledFor, m.fireAt),
          status: 'missed',
          error: m.reason,
        });
      }
    }
    if (advances.length === 0) return;
    const fence: Fence = { group: this.#o.group, holder: this.#leadership.holderId, epoch: this.#epoch };
    const result = await claim(this.#o.database, fence, advances, occurrences);

    for (const a of advances) {
      const entry = this.#entries.get(a.scheduleId);
      const version = result.advanced.get(a.scheduleId);
      if (!entry) continue;
      if (version === undefined) {
        // Edited meanwhile: the edit wins; re-read it instead of claiming.
        this.#index.delete(a.scheduleId);
        this.#dirty.add(a.scheduleId);
        continue;
      }
      const record = entry.loaded.record;
      record.totalRuns += a.runs;
      if (a.lastFireAt !== null) record.lastFireAt = new Date(a.lastFireAt);
      record.version = version;
      entry.version = version;
      this.#known.set(a.scheduleId, version);
      entry.loaded.nextFireAt = a.nextFireAt;
      if (a.nextFireAt === null) this.#index.delete(a.scheduleId);
      else this.#index.set(a.scheduleId, fireAtOf(record.name, a.nextFireAt, record.jitterMs));
    }
    const missed = occurrences.filter((o) => o.status === 'missed' && result.inserted.has(o.taskId)).length;
    if (missed > 0) {
      this.#o.metrics.missed.inc(missed);
      this.#o.metrics.fires.inc({ outcome: 'missed' }, missed);
    }
    const toDispatch = occurrences
      .filter((o) => o.status === 'claimed' && result.inserted.has(o.taskId))
      .map((o) => ({ ...o, force: false, fresh: true }));
    if (toDispatch.length > 0) await this.#dispatcher.dispatch(toDispatch);
  }

  /**
   * The catch-up runs a schedule may take now (only policy `all` uses it). Catching up never means
   * overlapping: unless runs may overlap, one catch-up run at a time, and the next only once the
   * previous one has finished. The busy schedules are looked up once per tick, and only if needed.
   */
  #catchupBudgets(): (record: ScheduleRecord) => number {
    let busy: Set<number> | undefined;
    return (record) => {
      const tokens = Math.floor(this.#catchupTokens);
      if (record.overlap === 'allow' || record.catchup !== 'all') return tokens;
      busy ??= this.#dispatcher.busySchedules();
      return busy.has(record.id) ? 0 : Math.min(1, tokens);
    };
  }

  #refillCatchup(): void {
    const mono = performance.now();
    const rate = this.#o.catchupRatePerSecond;
    this.#catchupTokens = Math.min(
      rate,
      this.#catchupTokens + ((mono - this.#catchupRefilledAt) / 1000) * rate,
    );
    this.#catchupRefilledAt = mono;
  }

  #updateStateMetrics(): void {
    const counts = { enabled: 0, paused: 0, disabled: 0 };
    for (const entry of this.#entries.values()) {
      const state = scheduleState(entry.loaded.record);
      if (state in counts) counts[state as keyof typeof counts]++;
    }
    for (const [state, n] of Object.entries(counts)) this.#o.metrics.schedules.set({ state }, n);
    this.#o.metrics.schedules.set({ state: 'invalid' }, this.#known.size - this.#entries.size);
  }
}

function occurrence(record: ScheduleRecord, scheduledFor: number, fireAt: number) {
  return {
    scheduleId: record.id,
    scheduleName: record.name,
    scheduledFor,
    fireAt,
    taskId: taskIdFor(record.id, scheduledFor),
    manual: false,
  };
}
