/**
 * The leader's one clock: database time for due decisions, without a query on the hot path.
 *
 * The offset between the database's clock and this process's monotonic clock is measured and
 * re-measured periodically; `now()` is the monotonic clock plus that offset. The database's answer
 * is taken as read at the end of its round trip, the latest it can have been: the clock may then lag
 * the database's by up to a round trip, never run ahead of it, so an occurrence claimed ahead is never
 * sent before its instant however the round trip splits. Of a few round trips the tightest is kept. So a step of this machine's wall clock (an NTP jump, a VM resumed, an operator's `date`)
 * moves nothing: an occurrence claimed ahead is never sent early because the local clock jumped
 * forward, nor late because it jumped back. A change of the database's clock is seen at the next
 * measurement. Sleeps use timers, which run on the monotonic clock too.
 *
 * The sources are injectable so the timing cases are tested without waiting (test/beat/clock.test.ts).
 */
import { performance } from 'node:perf_hooks';
import type { Database } from '../db/database.ts';
import { databaseNow } from '../db/store.ts';

export interface Clock {
  /** Database time, epoch ms. */
  now(): number;
}

export interface ClockSources {
  /** The database's clock, epoch ms (one round trip). */
  databaseNow: () => Promise<number>;
  /** A monotonic clock, ms from an arbitrary origin. */
  monotonic: () => number;
}

/** Round trips per measurement; the one that bounds the database's time tightest is kept. */
const SAMPLES = 3;

export class DatabaseClock implements Clock {
  readonly #sources: ClockSources;
  #offsetMs: number;
  #roundTripMs = 0;

  constructor(source: Database | ClockSources) {
    this.#sources =
      'databaseNow' in source
        ? source
        : { databaseNow: () => databaseNow(source), monotonic: () => performance.now() };
    // Until the first measurement: this machine's wall clock.
    this.#offsetMs = Date.now() - this.#sources.monotonic();
  }

  /** Database time minus this machine's wall clock, as last measured (ms). */
  get offsetMs(): number {
    return this.now() - Date.now();
  }

  get roundTripMs(): number {
    return this.#roundTripMs;
  }

  async measure(): Promise<void> {
    let best: { offsetMs: number; roundTripMs: number } | undefined;
    for (let i = 0; i < SAMPLES; i++) {
      const before = this.#sources.monotonic();
      const db = await this.#sources.databaseNow();
      const after = this.#sources.monotonic();
      // Read no later than `after`: the database's time is at least db + (now - after).
      const sample = { offsetMs: db - after, roundTripMs: after - before };
      if (!best || sample.offsetMs > best.offsetMs) best = sample;
    }
    if (!best) return;
    this.#offsetMs = best.offsetMs;
    this.#roundTripMs = best.roundTripMs;
  }

  now(): number {
    return this.#sources.monotonic() + this.#offsetMs;
  }
}
