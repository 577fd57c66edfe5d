/**
 * The claim: one transaction per batch that
 * 1. advances each schedule's cursor with a version check (a concurrent edit wins; the schedule is
 *    re-read instead of claimed),
 * 2. inserts the occurrences ON CONFLICT DO NOTHING (the slot's unique key makes a double claim
 *    impossible even if two processes believed they led),
 * 3. last, reads the lease row FOR SHARE and checks holder and epoch (the fence: a leader that paused
 *    past its lease finds the epoch moved, and the whole transaction rolls back).
 * The fence comes last so the shared row lock lives only from the check to the COMMIT: a long claim
 * (a large catch-up) never blocks the lease renewal, which updates that row. Holding it to the COMMIT
 * still makes the check atomic with the claim: a takeover's epoch bump waits for the COMMIT, so the
 * next leader's adoption sees these rows.
 * Only occurrences this transaction inserted are dispatched: at most one enqueue per occurrence.
 */
import type { Database } from '../db/database.ts';
import { checkLease, type Fence } from '../db/sql/leader.ts';
import { insertOccurrences, type NewOccurrence } from '../db/sql/occurrences.ts';
import { advanceCursors, type CursorAdvance } from '../db/sql/schedules.ts';

export interface ClaimResult {
  /** Schedules whose cursor moved, with their new version. */
  advanced: Map<number, number>;
  /** Task ids of the occurrences inserted by this claim. */
  inserted: Set<string>;
}

export async function claim(
  database: Database,
  fence: Fence,
  advances: CursorAdvance[],
  occurrences: NewOccurrence[],
): Promise<ClaimResult> {
  return database.db.transaction(async (tx) => {
    const advanced = await advanceCursors(database, tx, advances);
    const kept = occurrences.filter(
      (o) => advances.every((a) => a.scheduleId !== o.scheduleId) || advanced.has(o.scheduleId),
    );
    const inserted = await insertOccurrences(database, tx, fence.epoch, kept);
    await checkLease(database, tx, fence);
    return { advanced, inserted };
  });
}
