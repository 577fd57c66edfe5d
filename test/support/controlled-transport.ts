/**
 * A transport whose runs stay active until the test says they finished: for overlap policies and
 * run leases, which need runs that outlive their interval. (The real Celery and BullMQ transports
 * have their own tests against real workers; this one implements our interface, not a server.)
 *
 * It can also hold an enqueue at a gate (to act on the database while a batch is inside the
 * transport) or hang it for ever (a broker call that never answers).
 */
import type { EnqueueItem, EnqueueResult, RunState, Transport } from '../../src/transports/transport.ts';

export class ControlledTransport implements Transport {
  readonly name = 'controlled';
  readonly enqueued: Array<EnqueueItem & { at: number }> = [];
  readonly #states = new Map<string, RunState>();
  failing: string | null = null;
  /** While true, enqueue() never returns (a broker call that hangs): the tick is stuck in it. */
  stuck = false;
  /** Schedules whose runs are never seen (like Celery without a result backend): status 'unknown'. */
  readonly unseen = new Set<string>();
  /** While set, enqueue() waits for it to resolve before sending (see hold()). */
  #gate: Promise<void> | null = null;
  #arrived: (() => void) | null = null;
  /** Calls to enqueue() that reached the gate. */
  held = 0;
  /** Items prepared ahead (Transport.prepare): what prepare saw, sent as it was then. */
  readonly #prepared = new WeakMap<EnqueueItem, EnqueueItem>();
  /** Task ids sent from what was prepared ahead. */
  readonly sentPrepared = new Set<string>();
  /** The batches waiting at the gate now. */
  readonly #atGate = new Set<EnqueueItem[]>();

  /**
   * Hold every enqueue until the returned `release` is called; `arrived` resolves when the first
   * batch is waiting at the gate. `release` never called = a broker that never answers.
   */
  hold(): { arrived: Promise<void>; release: () => void } {
    let release!: () => void;
    this.#gate = new Promise((resolve) => {
      release = () => {
        this.#gate = null;
        resolve();
      };
    });
    const arrived = new Promise<void>((resolve) => {
      this.#arrived = resolve;
    });
    return { arrived, release };
  }

  /** Keeps a copy of each item, as a real transport keeps its encoding: enqueue sends the copy. */
  prepare(items: EnqueueItem[]): void {
    for (const item of items) this.#prepared.set(item, structuredClone(item));
  }

  async enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]> {
    if (this.#gate) {
      this.held += 1;
      this.#atGate.add(batch);
      this.#arrived?.();
      await this.#gate;
      this.#atGate.delete(batch);
    }
    if (this.failing) throw new Error(this.failing);
    if (this.stuck) return new Promise(() => {});
    for (const given of batch) {
      const prepared = this.#prepared.get(given);
      if (prepared) this.sentPrepared.add(given.taskId);
      const item = prepared ?? given;
      this.enqueued.push({ ...item, at: Date.now() });
      this.#states.set(item.taskId, this.unseen.has(item.scheduleName) ? 'unknown' : 'active');
    }
    return batch.map((item) => ({ taskId: item.taskId, ok: true as const }));
  }

  async status(taskIds: string[]): Promise<Map<string, RunState>> {
    return new Map(taskIds.map((id) => [id, this.#states.get(id) ?? 'unknown']));
  }

  finish(taskId: string, state: RunState = 'succeeded'): void {
    this.#states.set(taskId, state);
  }

  finishAll(state: RunState = 'succeeded'): void {
    for (const [id, s] of this.#states) if (s === 'active') this.#states.set(id, state);
  }

  /** The schedule names of the items waiting at the gate now. */
  waiting(): string[] {
    return [...this.#atGate].flatMap((batch) => batch.map((item) => item.scheduleName));
  }

  of(schedule: string) {
    return this.enqueued.filter((e) => e.scheduleName === schedule);
  }

  /** Task ids sent more than once. */
  duplicates(): string[] {
    const seen = new Set<string>();
    const twice = new Set<string>();
    for (const e of this.enqueued) (seen.has(e.taskId) ? twice : seen).add(e.taskId);
    return [...twice];
  }

  async close(): Promise<void> {}
}
