/**
 * A transport whose runs stay active until the test says they finished: for overlap policies and
 * run leases, which need runs that outlive their interval. (The real Celery and BullMQ transports
 * have their own tests against real workers; this one implements our interface, not a server.)
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

  async enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]> {
    if (this.failing) throw new Error(this.failing);
    if (this.stuck) return new Promise(() => {});
    for (const item of batch) {
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

  of(schedule: string) {
    return this.enqueued.filter((e) => e.scheduleName === schedule);
  }

  async close(): Promise<void> {}
}
