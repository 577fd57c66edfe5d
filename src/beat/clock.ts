/**
 * Database time for due decisions. The offset between the database's clock and ours is measured
 * (half a round trip either side) and re-measured periodically; `now()` is then our clock plus the
 * offset, with no query on the hot path. Sleeps use timers on the monotonic clock.
 */
import type { Database } from '../db/database.ts';
import { databaseNow } from '../db/store.ts';

export class DatabaseClock {
  #offsetMs = 0;
  #roundTripMs = 0;

  constructor(private readonly database: Database) {}

  get offsetMs(): number {
    return this.#offsetMs;
  }

  get roundTripMs(): number {
    return this.#roundTripMs;
  }

  async measure(): Promise<void> {
    const before = Date.now();
    const db = await databaseNow(this.database);
    const after = Date.now();
    this.#roundTripMs = after - before;
    this.#offsetMs = db - (before + after) / 2;
  }

  now(): number {
    return Date.now() + this.#offsetMs;
  }
}
