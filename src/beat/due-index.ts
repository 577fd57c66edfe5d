/**
 * The due index: every firing schedule in a binary min-heap by its next fire instant (jitter
 * included), with a position map so one schedule is updated or removed in O(log n) when its row
 * changes — an edit never rebuilds the index. It also counts its schedules per second of their
 * instant, so a herd (many due at one instant) is seen without walking the heap (herd-window.ts).
 */
export class DueIndex {
  #ids: number[] = [];
  #times: number[] = [];
  readonly #position = new Map<number, number>();
  readonly #perSecond = new Map<number, number>();

  get size(): number {
    return this.#ids.length;
  }

  has(id: number): boolean {
    return this.#position.has(id);
  }

  timeOf(id: number): number | undefined {
    const i = this.#position.get(id);
    return i === undefined ? undefined : this.#times[i];
  }

  /** How many schedules are due within the second that starts at `second` × 1000 ms. */
  countInSecond(second: number): number {
    return this.#perSecond.get(second) ?? 0;
  }

  /** Insert, or move to a new time. */
  set(id: number, at: number): void {
    const i = this.#position.get(id);
    this.#count(at, 1);
    if (i === undefined) {
      this.#ids.push(id);
      this.#times.push(at);
      this.#position.set(id, this.#ids.length - 1);
      this.#up(this.#ids.length - 1);
      return;
    }
    const before = this.#times[i] as number;
    this.#count(before, -1);
    this.#times[i] = at;
    if (at < before) this.#up(i);
    else this.#down(i);
  }

  delete(id: number): boolean {
    const i = this.#position.get(id);
    if (i === undefined) return false;
    this.#count(this.#times[i] as number, -1);
    const last = this.#ids.length - 1;
    this.#swap(i, last);
    this.#ids.pop();
    this.#times.pop();
    this.#position.delete(id);
    if (i < this.#ids.length) {
      this.#up(i);
      this.#down(i);
    }
    return true;
  }

  /** The earliest time, or undefined when empty. */
  peekTime(): number | undefined {
    return this.#times[0];
  }

  /**
   * Ids due at or before `now` (and after `after`, when given), earliest first, at most `limit`;
   * they stay in the index.
   */
  due(now: number, limit: number, after = Number.NEGATIVE_INFINITY): number[] {
    const out: number[] = [];
    // Walk the heap breadth-first over nodes that are due; children of a not-due node are not due.
    const stack = [0];
    while (stack.length > 0 && out.length < limit) {
      const i = stack.pop() as number;
      const at = this.#times[i];
      if (at === undefined || at > now) continue;
      if (at > after) out.push(this.#ids[i] as number);
      stack.push(2 * i + 2, 2 * i + 1);
    }
    return out.sort((a, b) => (this.timeOf(a) as number) - (this.timeOf(b) as number));
  }

  #count(at: number, delta: number): void {
    const second = Math.floor(at / 1000);
    const n = (this.#perSecond.get(second) ?? 0) + delta;
    if (n === 0) this.#perSecond.delete(second);
    else this.#perSecond.set(second, n);
  }

  #up(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((this.#times[parent] as number) <= (this.#times[i] as number)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number): void {
    const n = this.#ids.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && (this.#times[l] as number) < (this.#times[smallest] as number)) smallest = l;
      if (r < n && (this.#times[r] as number) < (this.#times[smallest] as number)) smallest = r;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }

  #swap(a: number, b: number): void {
    if (a === b) return;
    const ids = this.#ids;
    const times = this.#times;
    [ids[a], ids[b]] = [ids[b] as number, ids[a] as number];
    [times[a], times[b]] = [times[b] as number, times[a] as number];
    this.#position.set(ids[a] as number, a);
    this.#position.set(ids[b] as number, b);
  }
}
