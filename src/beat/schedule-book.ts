/**
 * The leader's book of schedules: the firing schedules due within a horizon (minutes ahead of the
 * database's clock), compiled, and the due index of them — not the whole table, so memory follows
 * what is near, not how many rows there are.
 *
 * The invariant that keeps "no gap": every firing row whose next_fire_at is at or before the
 * horizon cursor (how far the paged read by (next_fire_at, id) has got) is in the book, or waiting
 * to be re-read (dirty), or about to be reported by the change feed or the reconcile. Rows are read
 * a page at a time, overdue ones first, so the first tick never waits for the rest of the table and
 * a backlog after downtime is read before anything later. The cursor follows the clock: it is kept
 * at least the horizon minus one step ahead, a page per turn of the loop. A row that an edit, a claim
 * or a fill puts at or before the cursor is taken in at once; one put beyond it leaves the book (the
 * paged read reaches it in time). Rows without next_fire_at (inserted by SQL) get it computed in
 * the background, a page at a time, only while nothing is due.
 *
 * Kept current by the change feed (rows re-read in batches) and a periodic reconcile: the rows
 * changed since its last look (the change cursor, migration 0008), new rows without next_fire_at,
 * and whether the rows the book holds still exist. The per-state counts (metrics) are counted in
 * the database, since the book no longer holds every row.
 *
 * Everything a batch needs from a schedule is read from here once, when the batch is planned; later
 * steps carry that snapshot, so a schedule deleted or edited while its batch is in flight cannot turn
 * into a missing record halfway through.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { parseScheduleChange } from '../db/channels.ts';
import type { Database } from '../db/database.ts';
import {
  changeCursor,
  changesSince,
  HORIZON_START,
  type HorizonCursor,
  hasUnfilledAfter,
  horizonPage,
  type InvalidSchedule,
  type LoadedSchedule,
  type LoadResult,
  refreshSchedules,
  scheduleStateCounts,
  scheduleVersions,
  unfilledPage,
} from '../db/store.ts';
import type { ScheduleRecord } from '../model/index.ts';
import { fireAtOf } from '../model/plan.ts';
import { DueIndex } from './due-index.ts';
import type { BeatMetrics } from './metrics.ts';

/** Changed schedules re-read per turn of the loop: a burst of inserted rows never holds up due fires. */
const REFRESH_BATCH = 100;
/** Schedules read per query for occurrences taken over (see entries). */
const ENTRIES_BATCH = 1_000;

export interface BookOptions {
  /** How far ahead of the database's clock schedules are held, ms. */
  horizonMs?: number;
  /** Rows per page of the horizon read. */
  pageSize?: number;
  /** Rows per page of the background fill at most (pages shrink to keep each one short). */
  fillPageSize?: number;
}

export const DEFAULT_HORIZON_MS = 5 * 60_000;
const DEFAULT_PAGE = 2_000;
const DEFAULT_FILL_PAGE = 5_000;
/**
 * A fill page aims to end before the next due instant (less a margin), and to take between these
 * two: short pages while something is due soon, long ones (fewer round trips) while nothing is.
 */
const FILL_PAGE_MS = { least: 50, most: 250, margin: 100 };
/**
 * While something is always due (a leader that is behind), the fill still gets one short page
 * this often: a row an SQL edit left without next_fire_at, whose notification went to an earlier
 * term, must not wait for the leader to catch up.
 */
const FILL_AT_LEAST_EVERY_MS = 1_000;

interface Entry {
  loaded: LoadedSchedule;
  version: number;
}

/**
 * Slots an edit or a removal took away before they were handled: from the old cursor (the first
 * slot not handled) up to when the change was seen. The term records them `missed` (no silent gap).
 */
export interface DroppedBacklog {
  /** The schedule as it was before the change. */
  loaded: LoadedSchedule;
  from: number;
  until: number;
  why: 'edited' | 'removed' | 'invalid';
}

export class ScheduleBook {
  readonly #entries = new Map<number, Entry>();
  /** The version of every row the book holds, and of invalid rows it has read (own writes are news to nobody). */
  readonly #known = new Map<number, number>();
  readonly #index = new DueIndex();
  readonly #dirty = new Set<number>();
  readonly #dropped: DroppedBacklog[] = [];
  /** Schedules the tick could not plan, by the version it gave up on (see leaveOut). */
  readonly #leftOut = new Map<number, number>();
  /**
   * Schedules no longer near that the term may still hold claims of (a claim made ahead moved the
   * cursor beyond the horizon): their state as last read, null once removed or invalid. A claim held
   * for its instant is judged against this (`current`), never against "not in the book" — a daily
   * schedule leaves the book the moment its slot is claimed. Kept current by the change feed and the
   * reconcile like any held row; pruned to the schedules with held claims (`keepFar`).
   */
  readonly #far = new Map<number, LoadedSchedule | null>();
  /** The change cursor of the last look (see changeCursor); undefined before the load. */
  #cursor: string | undefined;
  /** How far the horizon read has got (see the invariant above). */
  #horizon: HorizonCursor = HORIZON_START;
  /** Where the background fill has got (by id), or undefined when it has caught up. */
  #fillAfter: number | undefined = 0;
  /** The first pass of a term also looks at quarantined rows again (fixed by a newer version?). */
  #fillQuarantined = true;
  /** The highest id the fill has looked at: the reconcile looks past it for new rows. */
  #fillSeen = 0;
  /** Rows the fill got through per ms, last page (sizes the next page to its time budget). */
  #fillRate = 5;
  /** When the last fill page ran (monotonic ms). */
  #lastFill = Number.NEGATIVE_INFINITY;
  readonly #horizonMs: number;
  readonly #step: number;
  readonly #pageSize: number;
  readonly #maxFillPage: number;

  constructor(
    private readonly database: Database,
    private readonly metrics: BeatMetrics,
    private readonly log: Logger,
    /** Database time, ms. */
    private readonly now: () => number,
    options: BookOptions = {},
  ) {
    this.#horizonMs = options.horizonMs ?? DEFAULT_HORIZON_MS;
    // The cursor is moved when it is this far behind: a read per step, not per turn of the loop.
    this.#step = Math.min(30_000, Math.max(1_000, Math.floor(this.#horizonMs / 10)));
    this.#pageSize = options.pageSize ?? DEFAULT_PAGE;
    this.#maxFillPage = options.fillPageSize ?? DEFAULT_FILL_PAGE;
  }

  get hasDropped(): boolean {
    return this.#dropped.length > 0;
  }

  /** The backlogs changes took away since the last call (see DroppedBacklog). */
  takeDropped(): DroppedBacklog[] {
    return this.#dropped.splice(0);
  }

  get dueCount(): number {
    return this.#index.size;
  }

  /** How many schedules the book holds (memory follows this, not the table). */
  get size(): number {
    return this.#entries.size;
  }

  /**
   * Whether there is reading to do before the loop may sleep: changed rows to re-read, the horizon
   * read behind the clock, or — while nothing is due — rows waiting for their next_fire_at.
   */
  get hasDirty(): boolean {
    return this.#dirty.size > 0 || this.#horizonBehind() || this.#mayFill(this.now());
  }

  /** The fill has rows to look at, and nothing is due that it would delay (or its turn is overdue). */
  #mayFill(now: number): boolean {
    if (this.#fillAfter === undefined) return false;
    const nothingDue = !((this.#index.peekTime() ?? Number.POSITIVE_INFINITY) <= now);
    return nothingDue || performance.now() - this.#lastFill >= FILL_AT_LEAST_EVERY_MS;
  }

  /** The schedule as last loaded, or undefined when it is gone, invalid, or not near. */
  entry(id: number): LoadedSchedule | undefined {
    return this.#entries.get(id)?.loaded;
  }

  /**
   * The schedule as last read, near or not, for a schedule that was in the book (its claims may be
   * held): undefined only when it is gone or invalid (or was never held).
   */
  current(id: number): LoadedSchedule | undefined {
    return this.#entries.get(id)?.loaded ?? this.#far.get(id) ?? undefined;
  }

  /** A schedule a held claim names: known to `current` until `keepFar` lets it go. */
  remember(loaded: LoadedSchedule): void {
    const id = loaded.record.id;
    if (!this.#entries.has(id) && !this.#far.has(id)) this.#far.set(id, loaded);
  }

  /** Forget the far schedules that no held claim names any more. */
  keepFar(held: ReadonlySet<number>): void {
    for (const id of this.#far.keys()) if (!held.has(id)) this.#far.delete(id);
  }

  /** A schedule leaves the book: remember its last state (or its end) while a claim may name it. */
  #toFar(id: number, loaded: LoadedSchedule | null): void {
    if (this.#entries.has(id) || this.#far.has(id)) this.#far.set(id, loaded);
  }

  record(id: number): ScheduleRecord | undefined {
    return this.#entries.get(id)?.loaded.record;
  }

  /**
   * Schedules by id, from the book or — not near, so not held — read from the database (for
   * occurrences claimed by hand or left by an earlier term). No entry for a row gone or invalid.
   */
  async entries(ids: readonly number[]): Promise<Map<number, LoadedSchedule>> {
    const out = new Map<number, LoadedSchedule>();
    const missing: number[] = [];
    for (const id of new Set(ids)) {
      const loaded = this.entry(id);
      if (loaded) out.set(id, loaded);
      else missing.push(id);
    }
    // A batch at a time: a taken-over herd may name 100,000 schedules (a query's parameters are not).
    for (let i = 0; i < missing.length; i += ENTRIES_BATCH) {
      const ids = missing.slice(i, i + ENTRIES_BATCH);
      const read = await refreshSchedules(this.database, ids, { log: this.log, now: this.now() });
      for (const [id, result] of read) if (!('reason' in result)) out.set(id, result);
    }
    return out;
  }

  /** The earliest fire instant in the index. */
  peekTime(): number | undefined {
    return this.#index.peekTime();
  }

  /** Schedules due at or before `now` (and after `after`), earliest first, at most `limit`. */
  due(now: number, limit: number, after?: number): number[] {
    return this.#index.due(now, limit, after);
  }

  /** How many held schedules are due within the second that starts at `second` × 1000 ms. */
  countInSecond(second: number): number {
    return this.#index.countInSecond(second);
  }

  /** Look at a schedule again at `at` (its catch-up budget ran out), without moving its cursor. */
  recheckAt(id: number, at: number): void {
    this.#index.set(id, at);
  }

  /**
   * Start a term: take the change cursor, then read the first page of the horizon (the most
   * overdue rows first). The rest of the horizon and the fill follow in the loop (refreshDirty).
   */
  async loadAll(now: number): Promise<{ schedules: number; invalid: number; complete: boolean }> {
    // Taken before the read: whatever changes while it reads is looked at again by the reconcile.
    this.#cursor = await changeCursor(this.database);
    const read = await this.#readHorizon(now);
    // One short page of the fill too: a small table's rows without next_fire_at (an SQL edit whose
    // notification went to an earlier term) are read before the first tick, a large one's go on.
    await this.#fill(now, FILL_PAGE_MS.least);
    return { ...read, complete: !this.#horizonBehind() };
  }

  /** A change notification (channel metronome_schedules); true when the row must be re-read. */
  onChange(payload: string): boolean {
    try {
      const change = parseScheduleChange(payload);
      if (change.op === 'DELETE') {
        this.#noteDropped(this.#entries.get(change.id)?.loaded, this.now(), 'removed');
        this.#toFar(change.id, null);
        this.#forget(change.id);
        return true;
      }
      if (this.#known.get(change.id) === change.version) return false; // our own write
      this.#dirty.add(change.id);
      return true;
    } catch {
      this.log.warn({ payload }, 'unreadable change notification; the reconcile will catch up');
      return false;
    }
  }

  /** A schedule to re-read before it is used again (an edit won a race with a claim). */
  markDirty(id: number): void {
    this.#index.delete(id);
    this.#dirty.add(id);
  }

  /**
   * One step of reading, a batch at a time so the loop ticks between them: changed rows first (one
   * query, one verdict write), then the horizon read when it is behind the clock, then — only
   * while nothing is due — a page of the background fill.
   */
  async refreshDirty(now: number): Promise<void> {
    if (this.#dirty.size > 0) return this.#refreshChanged(now);
    if (this.#horizonBehind()) {
      await this.#readHorizon(now);
      return;
    }
    if (this.#mayFill(now)) await this.#fill(now);
  }

  async #refreshChanged(now: number): Promise<void> {
    const ids = [...this.#dirty].slice(0, REFRESH_BATCH);
    for (const id of ids) this.#dirty.delete(id);
    const results = await refreshSchedules(this.database, ids, { log: this.log, now });
    for (const id of ids) {
      const result = results.get(id) ?? null;
      const old = this.#entries.get(id)?.loaded;
      if (result === null) {
        this.#noteDropped(old, now, 'removed');
        this.#toFar(id, null);
        this.#forget(id);
      } else if ('reason' in result) {
        this.#noteDropped(old, now, 'invalid');
        this.#invalid(result);
      } else {
        if (old && result.record.version > old.record.version && result.nextFireAt !== old.nextFireAt) {
          this.#noteDropped(
            old,
            Math.min(now, (result.nextFireAt ?? Number.POSITIVE_INFINITY) - 1),
            'edited',
          );
        }
        this.#take(result);
      }
    }
  }

  /** The horizon read is behind when the clock has moved a step past where it ends. */
  #horizonBehind(): boolean {
    return this.#horizon.ms < this.now() + this.#horizonMs - this.#step;
  }

  /** One page of the horizon read: up to `now + horizon`, from where the last page stopped. */
  async #readHorizon(now: number): Promise<{ schedules: number; invalid: number }> {
    const page = await horizonPage(this.database, this.#horizon, now + this.#horizonMs, this.#pageSize, {
      log: this.log,
      now,
    });
    this.#horizon = page.cursor;
    this.#takeAll(page);
    return { schedules: page.schedules.length, invalid: page.invalid.length };
  }

  /** One page of the background fill, sized to end before the next due instant (FILL_PAGE_MS). */
  async #fill(now: number, budgetMs: number = FILL_PAGE_MS.most): Promise<void> {
    const started = performance.now();
    this.#lastFill = started;
    const untilDue = (this.#index.peekTime() ?? Number.POSITIVE_INFINITY) - now - FILL_PAGE_MS.margin;
    const target = Math.min(budgetMs, Math.max(FILL_PAGE_MS.least, untilDue));
    const size = Math.max(20, Math.min(this.#maxFillPage, Math.floor(this.#fillRate * target)));
    const page = await unfilledPage(this.database, this.#fillAfter ?? 0, size, {
      log: this.log,
      now,
      quarantined: this.#fillQuarantined,
    });
    this.#fillSeen = Math.max(this.#fillSeen, page.lastId);
    this.#fillAfter = page.done ? undefined : page.lastId;
    if (page.done) this.#fillQuarantined = false;
    this.#takeAll(page);
    const read = page.schedules.length + page.invalid.length;
    if (read >= size / 2) this.#fillRate = read / Math.max(1, performance.now() - started);
  }

  #takeAll(result: LoadResult): void {
    this.metrics.invalidSchedules.inc(result.invalid.length);
    for (const item of result.invalid) this.#known.set(item.record.id, item.record.version);
    for (const loaded of result.schedules) this.#take(loaded);
  }

  /**
   * Find what the change feed may have missed (notifications are lost while disconnected): rows
   * changed since the last look whose version the book does not hold, rows inserted since the fill
   * last looked, and rows the book holds that are gone. Then count the states in the database.
   */
  async reconcile(): Promise<void> {
    if (this.#cursor === undefined) this.#cursor = await changeCursor(this.database);
    else {
      const { cursor, changed } = await changesSince(this.database, this.#cursor);
      this.#cursor = cursor;
      for (const { id, version } of changed) {
        if (this.#known.get(id) !== version) this.#dirty.add(id);
      }
    }
    // A row inserted with a hand-written change_xid is not "changed"; without next_fire_at, the
    // fill finds it (ids only grow, so looking past the highest id seen is enough).
    if (this.#fillAfter === undefined && (await hasUnfilledAfter(this.database, this.#fillSeen))) {
      this.#fillAfter = this.#fillSeen;
    }
    const held = [...this.#known.keys()];
    const far = [...this.#far].filter(([, loaded]) => loaded !== null).map(([id]) => id);
    const versions = await scheduleVersions(this.database, [...held, ...far]);
    for (const id of held) {
      const version = versions.get(id);
      if (version === undefined) {
        this.#noteDropped(this.#entries.get(id)?.loaded, this.now(), 'removed');
        this.#toFar(id, null);
        this.#forget(id);
      } else if (version !== this.#known.get(id)) this.#dirty.add(id);
    }
    for (const id of far) {
      const version = versions.get(id);
      if (version === undefined) this.#far.set(id, null);
      else if (version !== this.#far.get(id)?.record.version) this.#dirty.add(id);
    }
    await this.countStates();
  }

  /** The per-state gauge, counted in the database (the book holds only what is near). */
  async countStates(): Promise<void> {
    const counts = await scheduleStateCounts(this.database);
    for (const [state, n] of Object.entries(counts)) this.metrics.schedules.set({ state }, n);
  }

  /** A firing schedule whose unhandled slots up to `until` a change took away. */
  #noteDropped(old: LoadedSchedule | undefined, until: number, why: DroppedBacklog['why']): void {
    if (old?.state !== 'enabled' || old.nextFireAt === null || old.nextFireAt > until) return;
    this.#dropped.push({ loaded: old, from: old.nextFireAt, until, why });
  }

  /** After a claim moved a schedule's cursor: the new state, as written by the claim. */
  advanced(
    id: number,
    change: {
      version: number;
      nextFireAt: number | null;
      runs: number;
      skipped?: number;
      lastFireAt: number | null;
    },
  ): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const record = entry.loaded.record;
    record.totalRuns += change.runs;
    this.#consumeSkips(record, change.skipped ?? 0);
    if (change.lastFireAt !== null) record.lastFireAt = new Date(change.lastFireAt);
    record.version = change.version;
    entry.version = change.version;
    this.#known.set(id, change.version);
    entry.loaded.nextFireAt = change.nextFireAt;
    // Beyond the horizon read (or done): out of the book; the paged read brings it back in time.
    if (change.nextFireAt === null || !this.#near(change.nextFireAt)) {
      this.#toFar(id, entry.loaded);
      this.#forget(id);
    } else this.#index.set(id, fireAtOf(record.name, change.nextFireAt, record.jitterMs));
  }

  /**
   * The skips a claim or a take-back consumed (written in the same transaction as their ledger
   * rows): the book's copy of the row follows what the database now holds.
   */
  consumedSkips(id: number, skipped: number): void {
    const record = this.current(id)?.record;
    if (record) this.#consumeSkips(record, skipped);
  }

  #consumeSkips(record: ScheduleRecord, skipped: number): void {
    if (skipped <= 0) return;
    record.skipCount = Math.max(0, record.skipCount - skipped);
    if (record.skipCount === 0) record.skipReason = null;
  }

  /** Drop a due id whose entry is gone or has no cursor. */
  drop(id: number): void {
    this.#index.delete(id);
  }

  /**
   * The tick's guard: a schedule it could not plan (validation should have caught why) is left out,
   * logged as an error, until its row changes; every other schedule keeps firing.
   */
  leaveOut(id: number, error: unknown): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const record = entry.loaded.record;
    this.log.error(
      { schedule: record.name, scheduleId: id, err: error },
      'could not plan this schedule; it is left out until its row changes',
    );
    this.#leftOut.set(id, entry.version);
    this.#entries.delete(id);
    this.#index.delete(id);
    this.metrics.invalidSchedules.inc();
  }

  /**
   * At or before where the horizon read has got. Compared in whole ms rounded down on both sides,
   * so a row at the cursor's millisecond is taken in (perhaps read twice, never skipped).
   */
  #near(nextFireAt: number): boolean {
    return nextFireAt <= this.#horizon.ms;
  }

  /**
   * Put a read schedule in place: held and indexed when it fires at or before the horizon read;
   * otherwise not held at all (paused, disabled, done, or beyond: the paged read or an edit brings
   * it back).
   */
  #take(loaded: LoadedSchedule): void {
    const id = loaded.record.id;
    const current = this.#entries.get(id);
    if (current && current.version > loaded.record.version) return; // a stale read
    if (this.#leftOut.get(id) === loaded.record.version) return; // unchanged since the tick gave up on it
    this.#leftOut.delete(id);
    const next = loaded.nextFireAt;
    if (loaded.state !== 'enabled' || next === null || !this.#near(next)) {
      this.#toFar(id, loaded);
      this.#forget(id);
      return;
    }
    this.#far.delete(id);
    this.#entries.set(id, { loaded, version: loaded.record.version });
    this.#known.set(id, loaded.record.version);
    this.#index.set(id, fireAtOf(loaded.record.name, next, loaded.record.jitterMs));
  }

  #invalid(result: InvalidSchedule): void {
    const id = result.record.id;
    this.#toFar(id, null);
    this.#entries.delete(id);
    this.#index.delete(id);
    this.#known.set(id, result.record.version);
    this.metrics.invalidSchedules.inc();
  }

  #forget(id: number): void {
    this.#entries.delete(id);
    this.#index.delete(id);
    this.#known.delete(id);
  }
}
