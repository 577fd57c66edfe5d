/**
 * Occurrences claimed ahead of their instant (docs/runtime.md, "Claim ahead"): the claim
 * transaction, the ledger row and the cursor advance are done up to the lookahead before the fire
 * instant; what is held here waits, in memory, for that instant, when only the run lock and the send
 * remain (dispatcher.ts). Nothing here is ever handed out before its fire instant (database time).
 *
 * Each held occurrence carries the schedule as it was when it was claimed. A change to the schedule
 * that lands before the instant is applied by `revise`: an occurrence the change takes away (the
 * schedule was removed, paused, disabled, found invalid, or re-timed so this slot is no longer one of
 * its slots) is returned to be recorded with the reason and is never handed out; one the change
 * keeps (the slot is still a slot of the new version) goes out with the new version. An operator's
 * skip (`beat skip`) that lands meanwhile names the first held occurrences of its schedule as to be
 * skipped: they stay held until the term has recorded them `skipped` and taken them from the skip
 * count in one transaction (`withdraw`), so a failed write leaves them to the next look, never lost.
 *
 * What a term holds here when it ends stays `claimed` in the ledger, owned by that term: the next
 * term takes it over under the usual rules (sent once with its task id, at its instant, or recorded).
 */
import type { LoadedSchedule } from '../db/store.ts';
import type { DispatchRequest } from './dispatcher.ts';

export interface TakenBack {
  request: DispatchRequest;
  /** Why, for the ledger's `error`. */
  reason: string;
}

/** Held occurrences an operator's skip names (the first ones of their schedule, oldest first). */
export interface ToSkip {
  scheduleId: number;
  requests: DispatchRequest[];
}

export interface Revision {
  /** What the changes took away; no longer held. */
  taken: TakenBack[];
  /** What a skip names; still held until recorded (see `withdraw`). */
  toSkip: ToSkip[];
}

export class ClaimedAhead {
  /** A min-heap of held requests by fire instant; entries no longer in #held are skipped when met. */
  #heap: DispatchRequest[] = [];
  readonly #held = new Map<string, DispatchRequest>();
  readonly #bySchedule = new Map<number, Set<string>>();

  get size(): number {
    return this.#held.size;
  }

  taskIds(): IterableIterator<string> {
    return this.#held.keys();
  }

  has(taskId: string): boolean {
    return this.#held.has(taskId);
  }

  /** The schedules that held claims name. */
  scheduleIds(): ReadonlySet<number> {
    return new Set(this.#bySchedule.keys());
  }

  /** Hold requests until their fire instant (a task id already held is left as it is). */
  add(requests: readonly DispatchRequest[]): void {
    for (const request of requests) {
      if (this.#held.has(request.taskId)) continue;
      this.#held.set(request.taskId, request);
      let ids = this.#bySchedule.get(request.scheduleId);
      if (!ids) {
        ids = new Set();
        this.#bySchedule.set(request.scheduleId, ids);
      }
      ids.add(request.taskId);
      this.#push(request);
    }
  }

  /** The earliest fire instant held, or undefined. */
  nextFireAt(): number | undefined {
    this.#dropStale();
    return this.#heap[0]?.fireAt;
  }

  /** Take out everything held (the term ends). */
  drain(): DispatchRequest[] {
    const all = [...this.#held.values()];
    this.#held.clear();
    this.#bySchedule.clear();
    this.#heap = [];
    return all;
  }

  /** Take out what is due at `now` (database ms), earliest first, at most `limit`. */
  takeDue(now: number, limit: number): DispatchRequest[] {
    const out: DispatchRequest[] = [];
    for (;;) {
      this.#dropStale();
      const top = this.#heap[0];
      if (!top || top.fireAt > now || out.length >= limit) return out;
      this.#pop();
      const held = this.#held.get(top.taskId) as DispatchRequest; // a kept one carries its new version
      this.#forget(held);
      out.push(held);
    }
  }

  /**
   * Apply the book's current view of each schedule with held occurrences: `current(id)` is the
   * schedule as the book has it now (undefined: removed, or invalid). Returns what the changes took
   * away (no longer held) and what an operator's skip names (still held).
   */
  revise(current: (scheduleId: number) => LoadedSchedule | undefined): Revision {
    const taken: TakenBack[] = [];
    const toSkip: ToSkip[] = [];
    for (const [scheduleId, taskIds] of [...this.#bySchedule]) {
      const now = current(scheduleId);
      const kept: DispatchRequest[] = [];
      for (const taskId of [...taskIds]) {
        const request = this.#held.get(taskId) as DispatchRequest;
        if (request.manual) continue;
        const reason = request.schedule === now ? null : takenAwayBecause(request, now);
        if (reason === null) {
          // Kept: the slot is still one of the schedule's; it goes with what the schedule says now.
          if (now && request.schedule !== now) this.#held.set(taskId, { ...request, schedule: now });
          kept.push(this.#held.get(taskId) as DispatchRequest);
          continue;
        }
        this.#forget(request);
        taken.push({ request, reason });
      }
      const skips = now?.record.skipCount ?? 0;
      if (skips > 0 && kept.length > 0) {
        kept.sort((a, b) => a.scheduledFor - b.scheduledFor);
        toSkip.push({ scheduleId, requests: kept.slice(0, skips) });
      }
    }
    if (taken.length > 0) this.#dropTakenFromHeap();
    return { taken, toSkip };
  }

  /** Stop holding these occurrences (recorded otherwise: an operator's skip). */
  withdraw(taskIds: readonly string[]): void {
    for (const taskId of taskIds) {
      const request = this.#held.get(taskId);
      if (request) this.#forget(request);
    }
    this.#dropTakenFromHeap();
  }

  #dropTakenFromHeap(): void {
    this.#heap = this.#heap.filter((r) => this.#held.get(r.taskId) !== undefined);
  }

  #forget(request: DispatchRequest): void {
    this.#held.delete(request.taskId);
    const ids = this.#bySchedule.get(request.scheduleId);
    ids?.delete(request.taskId);
    if (ids?.size === 0) this.#bySchedule.delete(request.scheduleId);
  }

  /** Heap entries whose occurrence is no longer held (taken out, taken back) are dropped lazily. */
  #dropStale(): void {
    while (this.#heap.length > 0 && !this.#held.has((this.#heap[0] as DispatchRequest).taskId)) this.#pop();
  }

  #push(request: DispatchRequest): void {
    const heap = this.#heap;
    heap.push(request);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as DispatchRequest).fireAt <= request.fireAt) break;
      heap[i] = heap[parent] as DispatchRequest;
      i = parent;
    }
    heap[i] = request;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as DispatchRequest;
    if (heap.length === 0) return;
    let i = 0;
    const n = heap.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child =
        r < n && (heap[r] as DispatchRequest).fireAt < (heap[l] as DispatchRequest).fireAt ? r : l;
      if ((heap[child] as DispatchRequest).fireAt >= last.fireAt) break;
      heap[i] = heap[child] as DispatchRequest;
      i = child;
    }
    heap[i] = last;
  }
}

/**
 * Why the schedule as it is now takes this claimed occurrence away, or null when it keeps it: it is
 * still there, enabled, and the slot is one of its slots within its window.
 */
export function takenAwayBecause(request: DispatchRequest, now: LoadedSchedule | undefined): string | null {
  const after = 'after this occurrence was claimed ahead of its instant; it was not sent';
  if (!now) return `taken back: the schedule was removed (or found invalid) ${after}`;
  if (now.state !== 'enabled') return `taken back: the schedule was ${now.state} ${after}`;
  const slot = request.scheduledFor;
  const { startAt, endAt } = now.record;
  const inWindow =
    (startAt === null || slot >= startAt.getTime()) && (endAt === null || slot <= endAt.getTime());
  if (!inWindow || now.schedule.next(slot - 1) !== slot) {
    const excluded = now.schedule.calendarMarks(slot - 1, slot).find((m) => m.slot === slot);
    if (excluded) {
      return `${CALENDAR_TAKEN_BACK} ${JSON.stringify(excluded.calendar)} now excludes ${excluded.day}${excluded.label ? ` (${excluded.label})` : ''} ${after}`;
    }
    return `taken back: the schedule was edited ${after} (this instant is no longer one of its slots)`;
  }
  return null;
}

/** The start of the reason of a claim taken back because a business calendar now excludes its day. */
export const CALENDAR_TAKEN_BACK = 'skipped: taken back, calendar';
