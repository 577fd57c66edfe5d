/**
 * The leader's book of schedules: every row it has seen, the valid ones compiled, and the due index
 * of those that fire. Kept current by the change feed (one row re-read per notification) and a
 * periodic reconcile on `version` (notifications are lost while disconnected): it reads only the
 * rows changed since its last look (the change cursor, migration 0008) and the row count, and
 * compares every row's version only when the count says a removal was missed. Never reloaded
 * wholesale on an edit.
 *
 * Everything a batch needs from a schedule is read from here once, when the batch is planned; later
 * steps carry that snapshot, so a schedule deleted or edited while its batch is in flight cannot turn
 * into a missing record halfway through.
 */
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import {
  changeCursor,
  changesSince,
  type LoadedSchedule,
  loadSchedules,
  refreshSchedules,
} from '../db/store.ts';
import { type ScheduleRecord, scheduleState } from '../model/index.ts';
import { DueIndex } from './due-index.ts';
import type { BeatMetrics } from './metrics.ts';
import { fireAtOf } from './plan.ts';

/** Changed schedules re-read per turn of the loop: a burst of inserted rows never holds up due fires. */
const REFRESH_BATCH = 100;

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
  /** Every row seen (valid or not) and its version, for the reconcile. */
  readonly #known = new Map<number, number>();
  readonly #index = new DueIndex();
  readonly #dirty = new Set<number>();
  readonly #dropped: DroppedBacklog[] = [];
  /** Schedules the tick could not plan, by the version it gave up on (see leaveOut). */
  readonly #leftOut = new Map<number, number>();
  /** How many entries are in each state (see #count). */
  readonly #stateCounts = { enabled: 0, paused: 0, disabled: 0 };
  /** The change cursor of the last look (see changeCursor); undefined before the load. */
  #cursor: string | undefined;

  constructor(
    private readonly database: Database,
    private readonly metrics: BeatMetrics,
    private readonly log: Logger,
    /** Database time, ms. */
    private readonly now: () => number,
  ) {}

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

  get hasDirty(): boolean {
    return this.#dirty.size > 0;
  }

  /** The schedule as last loaded, or undefined when it is gone (or invalid). */
  entry(id: number): LoadedSchedule | undefined {
    return this.#entries.get(id)?.loaded;
  }

  record(id: number): ScheduleRecord | undefined {
    return this.#entries.get(id)?.loaded.record;
  }

  /** The earliest fire instant in the index. */
  peekTime(): number | undefined {
    return this.#index.peekTime();
  }

  due(now: number, limit: number): number[] {
    return this.#index.due(now, limit);
  }

  /** Look at a schedule again at `at` (its catch-up budget ran out), without moving its cursor. */
  recheckAt(id: number, at: number): void {
    this.#index.set(id, at);
  }

  async loadAll(now: number): Promise<{ schedules: number; invalid: number }> {
    // Taken before the load: whatever changes while it reads is looked at again by the reconcile.
    this.#cursor = await changeCursor(this.database);
    const { schedules, invalid } = await loadSchedules(this.database, { log: this.log, now });
    this.metrics.invalidSchedules.inc(invalid.length);
    for (const item of invalid) this.#known.set(item.record.id, item.record.version);
    for (const loaded of schedules) this.#apply(loaded);
    this.#updateStateMetrics();
    return { schedules: schedules.length, invalid: invalid.length };
  }

  /** A change notification (channel metronome_schedules); true when the row must be re-read. */
  onChange(payload: string): boolean {
    try {
      const change = JSON.parse(payload) as { id: number; op: string; version: number };
      if (change.op === 'DELETE') {
        this.#noteDropped(this.#entries.get(change.id)?.loaded, this.now(), 'removed');
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
   * Re-read changed schedules, a batch at a time (one query, one verdict write): the loop ticks
   * between batches, so a burst of inserted rows never holds up schedules that are due.
   */
  async refreshDirty(now: number): Promise<void> {
    const ids = [...this.#dirty].slice(0, REFRESH_BATCH);
    for (const id of ids) this.#dirty.delete(id);
    const results = await refreshSchedules(this.database, ids, { log: this.log, now });
    for (const id of ids) {
      const result = results.get(id) ?? null;
      const old = this.#entries.get(id)?.loaded;
      if (result === null) {
        this.#noteDropped(old, now, 'removed');
        this.#forget(id);
      } else if ('reason' in result) {
        this.#noteDropped(old, now, 'invalid');
        this.#removeEntry(id);
        this.#index.delete(id);
        this.#known.set(id, result.record.version);
        this.metrics.invalidSchedules.inc();
      } else {
        if (old && result.record.version > old.record.version && result.nextFireAt !== old.nextFireAt) {
          this.#noteDropped(
            old,
            Math.min(now, (result.nextFireAt ?? Number.POSITIVE_INFINITY) - 1),
            'edited',
          );
        }
        this.#apply(result);
      }
    }
    this.#updateStateMetrics();
  }

  /**
   * Mark dirty the rows changed since the last look whose version the book does not hold. Every
   * row is either known, dirty or changed since the cursor, so when the count of rows matches the
   * ids the book has, nothing was removed behind its back; otherwise compare every row.
   */
  async reconcile(): Promise<void> {
    if (this.#cursor === undefined) return this.#reconcileAll();
    const { cursor, count, changed } = await changesSince(this.database, this.#cursor);
    this.#cursor = cursor;
    for (const { id, version } of changed) {
      if (this.#known.get(id) !== version) this.#dirty.add(id);
    }
    let ids = this.#known.size;
    for (const id of this.#dirty) if (!this.#known.has(id)) ids++;
    if (ids !== count) await this.#reconcileAll();
    this.#updateStateMetrics();
  }

  /** Compare every row's version with what the book holds; mark the differences dirty. */
  async #reconcileAll(): Promise<void> {
    const rows = await this.database.rows<{ id: string | number; version: string | number }>(
      sql`select id, version from metronome.schedules`,
    );
    const seen = new Set<number>();
    for (const row of rows) {
      const id = Number(row.id);
      seen.add(id);
      if (this.#known.get(id) !== Number(row.version)) this.#dirty.add(id);
    }
    for (const id of [...this.#known.keys()]) {
      if (seen.has(id)) continue;
      this.#noteDropped(this.#entries.get(id)?.loaded, this.now(), 'removed');
      this.#forget(id);
    }
  }

  /** A firing schedule whose unhandled slots up to `until` a change took away. */
  #noteDropped(old: LoadedSchedule | undefined, until: number, why: DroppedBacklog['why']): void {
    if (old?.state !== 'enabled' || old.nextFireAt === null || old.nextFireAt > until) return;
    this.#dropped.push({ loaded: old, from: old.nextFireAt, until, why });
  }

  /** After a claim moved a schedule's cursor: the new state, as written by the claim. */
  advanced(
    id: number,
    change: { version: number; nextFireAt: number | null; runs: number; lastFireAt: number | null },
  ): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const record = entry.loaded.record;
    record.totalRuns += change.runs;
    if (change.lastFireAt !== null) record.lastFireAt = new Date(change.lastFireAt);
    record.version = change.version;
    entry.version = change.version;
    this.#known.set(id, change.version);
    entry.loaded.nextFireAt = change.nextFireAt;
    if (change.nextFireAt === null) this.#index.delete(id);
    else this.#index.set(id, fireAtOf(record.name, change.nextFireAt, record.jitterMs));
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
    this.#removeEntry(id);
    this.#index.delete(id);
    this.metrics.invalidSchedules.inc();
  }

  /** Put a loaded schedule in place: in the index when it fires, out of it otherwise. */
  #apply(loaded: LoadedSchedule): void {
    const id = loaded.record.id;
    const current = this.#entries.get(id);
    if (current && current.version > loaded.record.version) return; // a stale read
    if (this.#leftOut.get(id) === loaded.record.version) return; // unchanged since the tick gave up on it
    this.#leftOut.delete(id);
    if (current) this.#count(current.loaded, -1);
    this.#entries.set(id, { loaded, version: loaded.record.version });
    this.#count(loaded, 1);
    this.#known.set(id, loaded.record.version);
    if (loaded.state === 'enabled' && loaded.nextFireAt !== null) {
      this.#index.set(id, fireAtOf(loaded.record.name, loaded.nextFireAt, loaded.record.jitterMs));
    } else {
      this.#index.delete(id);
    }
  }

  #forget(id: number): void {
    this.#removeEntry(id);
    this.#index.delete(id);
    this.#known.delete(id);
  }

  #removeEntry(id: number): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#count(entry.loaded, -1);
  }

  /** Keep the per-state counts as entries come and go: no pass over a million entries per edit. */
  #count(loaded: LoadedSchedule, delta: 1 | -1): void {
    const state = scheduleState(loaded.record);
    if (state !== 'invalid') this.#stateCounts[state] += delta;
  }

  #updateStateMetrics(): void {
    for (const [state, n] of Object.entries(this.#stateCounts)) this.metrics.schedules.set({ state }, n);
    this.metrics.schedules.set({ state: 'invalid' }, this.#known.size - this.#entries.size);
  }
}
