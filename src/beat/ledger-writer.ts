/**
 * The leader's status writes, in order, retried until they land — also across terms of one process:
 * a term that ends hands what did not land to the next (the process knows those runs were sent). A write that follows a send must
 * never be lost and never cause a second send: the send already happened, so a write that fails is
 * kept and tried again (the occurrences it covers are known to be sent — the sweep leaves them be),
 * instead of leaving them `claimed` for something to send again.
 */
import type { Logger } from 'pino';
import { databaseErrorText } from '../db/errors.ts';
import { transition } from '../db/lifecycle.ts';
import type { OccurrenceStatus } from '../db/schema.ts';
import type { Ledger } from '../db/sql/occurrences.ts';

export interface StatusWrite {
  taskIds: string[];
  status: OccurrenceStatus;
  from: OccurrenceStatus[];
  error?: string | null;
  /** A note that may be dropped when it cannot be written (attempt errors). */
  bestEffort?: boolean;
}

export class LedgerWriter {
  readonly #queue: StatusWrite[] = [];
  #trouble: string | undefined;

  constructor(
    private readonly ledger: Ledger,
    private readonly log: () => Logger,
    inherited: readonly StatusWrite[] = [],
  ) {
    this.#queue.push(...inherited);
  }

  /** Task ids with a write still to land that says they were sent (enqueued, or done on enqueue). */
  sentTaskIds(): Set<string> {
    const ids = new Set<string>();
    for (const w of this.#queue) {
      if (w.from.includes('claimed') && (w.status === 'enqueued' || w.status === 'succeeded'))
        for (const id of w.taskIds) ids.add(id);
    }
    return ids;
  }

  /** Take every write still to land (a term ends: the next term of this process applies them). */
  drain(): StatusWrite[] {
    return this.#queue.splice(0);
  }

  /** Why writes are failing, while they are. */
  get trouble(): string | undefined {
    return this.#trouble;
  }

  get queued(): number {
    return this.#queue.length;
  }

  /** Task ids with a write still to land. */
  taskIds(): Set<string> {
    const ids = new Set<string>();
    for (const w of this.#queue) for (const id of w.taskIds) ids.add(id);
    return ids;
  }

  /** Queue a write; its step must be one the lifecycle has (src/db/lifecycle.ts). */
  add(write: StatusWrite): void {
    transition(write.status, write.from);
    if (write.taskIds.length > 0) this.#queue.push(write);
  }

  /** Apply queued writes in order; stop at the first failure (order matters per occurrence). */
  async flush(): Promise<void> {
    while (this.#queue.length > 0) {
      const write = this.#queue[0] as StatusWrite;
      try {
        if (write.status === 'claimed' && write.bestEffort) {
          await this.ledger.noteAttemptError(write.taskIds, write.error ?? '');
        } else {
          await this.ledger.setStatus(write.taskIds, write.status, write.from, write.error ?? null);
        }
        this.#queue.shift();
        this.#trouble = undefined;
      } catch (error) {
        if (write.bestEffort) {
          this.#queue.shift();
          continue;
        }
        this.#trouble = databaseErrorText(error);
        this.log().warn(
          { err: error, status: write.status, occurrences: write.taskIds.length, queued: this.#queue.length },
          'could not record occurrence statuses; will retry the write (the runs are not sent again)',
        );
        return;
      }
    }
  }
}
