/**
 * Pauses with an end (`beat pause NAME --until T`): the leader resumes each schedule at its T,
 * through the operator's own resume (src/db/sql/resume.ts: the cursor stays where the pause left
 * it, so the paused stretch follows the schedule's catch-up policy, exactly as a manual resume),
 * recorded in the audit log as done by the beat itself (`via: beat`, `byItself: true`).
 *
 * One transaction per batch, fenced like the claim (the lease is checked last): a leader that lost
 * its lease resumes nothing, and the next leader finds the same rows still paused. The resume bumps
 * the version and notifies, so the book takes the schedule in through the change feed.
 *
 * When the next end comes from the database (`nextPauseEnd`): read at the start of a term, after
 * a change notification, at each reconcile, and after each batch.
 */
import type { Database } from '../db/database.ts';
import type { Actor } from '../db/sql/audit.ts';
import { checkLease, type Fence } from '../db/sql/leader.ts';
import { resumePaused } from '../db/sql/resume.ts';
import { lockEndedPauses, nextPauseEnd } from '../db/sql/schedules.ts';

/** Schedules resumed per transaction. */
const BATCH = 100;
/** A row an operator held locked is looked at again this much later (never a busy loop). */
const RETRY_MS = 1_000;

export class PauseEnds {
  /** The earliest pending end (database ms); null: none; undefined: to be read. */
  #next: number | null | undefined;

  constructor(
    private readonly database: Database,
    private readonly fence: Fence,
  ) {}

  /** A schedule changed (or may have): read the next end again before relying on it. */
  stale(): void {
    this.#next = undefined;
  }

  /** Whether the next end must be read, or has come, at `now`. */
  due(now: number): boolean {
    return this.#next === undefined || (this.#next !== null && this.#next <= now);
  }

  /** The next end to wake for (database ms), if known. */
  get nextAt(): number | undefined {
    return this.#next ?? undefined;
  }

  /** Read the next end, and resume what has ended by `now`. Returns the names resumed. */
  async step(now: number): Promise<string[]> {
    if (this.#next === undefined) this.#next = await nextPauseEnd(this.database);
    if (this.#next === null || this.#next > now) return [];
    const resumed = await this.#resumeEnded(now);
    const next = await nextPauseEnd(this.database);
    // Still due after a pass: rows an operator held locked; look again shortly.
    this.#next = next !== null && next <= now && resumed.length < BATCH ? now + RETRY_MS : next;
    return resumed;
  }

  async #resumeEnded(now: number): Promise<string[]> {
    const actor: Actor = { name: `beat ${this.fence.holder}`, via: 'beat', address: null };
    return this.database.db.transaction(async (tx) => {
      const ended = await lockEndedPauses(tx, now, BATCH);
      for (const record of ended) await resumePaused(tx, record, now, actor, true);
      await checkLease(this.database, tx, this.fence);
      return ended.map((r) => r.name);
    });
  }
}
