/**
 * Runs enqueued by this term (or adopted from an earlier one) whose end has not been seen, by the
 * scope of their run lock (the schedule, or its exclusion group). Polled through the transport: a
 * finished run frees its scope's run lock; a run seen still going (queued
 * or running) keeps it, lease by lease, up to its hold limit; a run whose lease ends unseen is closed
 * as `lease_ended` — it lets go of nothing it still holds, since the lock has expired by itself.
 *
 * The state of a schedule's runs can also be read on demand (`refresh`), so the decision to send
 * the next run of a `skip` schedule is made on what the worker says now, not on a lock that may have
 * outlived a run finished a moment ago.
 */
import type { Logger } from 'pino';
import type { RunLockHandle, RunLocks } from '../locks/index.ts';
import type { EnqueueItem, RunState, Transport } from '../transports/transport.ts';
import type { LedgerWriter } from './ledger-writer.ts';

export interface InFlight {
  taskId: string;
  scheduleId: number;
  scheduleName: string;
  /**
   * The run lock's scope (lockKey, src/model/run-lease.ts): the schedule, or its exclusion group.
   * Runs are tracked by it, so a run of one schedule of a group keeps the whole group busy.
   */
  scope: string;
  lock: RunLockHandle | null;
  /** What one extension adds (see extensionMs, src/model/run-lease.ts). */
  extendMs: number;
  /** Wall-clock ms after which the run lock has expired by itself. */
  leaseEndsAt: number;
  /**
   * Wall-clock ms after which the lock is no longer extended even if the run still looks active: a
   * worker killed mid-run can leave a run "started" forever (Celery's STARTED with
   * task_track_started), which must not block its schedule for good.
   */
  holdUntil: number;
  /** What was sent (to ask the transport where it is); null when the schedule is gone. */
  item: EnqueueItem | null;
  /** Last state seen. */
  state: RunState;
  /** `running` already recorded. */
  recordedRunning: boolean;
}

/**
 * How long past its lease a run that the transport could see finish is still followed, to record how
 * it ended (a run may wait in a queue longer than its lock lasts). Past that it is `lease_ended`.
 */
export const FOLLOW_AFTER_LEASE_MS = 300_000;

/** States in which a run keeps its schedule's lock: it may still start or is going. */
const HOLDING: ReadonlySet<RunState> = new Set(['queued', 'active']);
const FINISHED: ReadonlySet<RunState> = new Set(['succeeded', 'failed', 'expired']);

export interface RunsInFlightOptions {
  transport: Transport;
  locks: RunLocks;
  writer: LedgerWriter;
  log: () => Logger;
  onLockFailure: () => void;
}

export class RunsInFlight {
  readonly #runs = new Map<string, InFlight>();
  readonly #byScope = new Map<string, Set<string>>();
  /** Task ids by schedule: a run keeps its schedule busy under any scope (see holdsSchedule). */
  readonly #bySchedule = new Map<number, Set<string>>();
  /** The lock of each scope's last run that was let go by its lease (see overdueLocks). */
  readonly #lapsed = new Map<string, RunLockHandle>();
  /** Runs the transport was asked about and has nowhere (see #locateUnseen), until recorded. */
  readonly #lost = new Set<string>();

  constructor(private readonly o: RunsInFlightOptions) {}

  get size(): number {
    return this.#runs.size;
  }

  has(taskId: string): boolean {
    return this.#runs.has(taskId);
  }

  taskIds(): IterableIterator<string> {
    return this.#runs.keys();
  }

  add(run: InFlight): void {
    this.#lapsed.delete(run.scope);
    this.#runs.set(run.taskId, run);
    const ids = this.#byScope.get(run.scope) ?? new Set<string>();
    ids.add(run.taskId);
    this.#byScope.set(run.scope, ids);
    const ofSchedule = this.#bySchedule.get(run.scheduleId) ?? new Set<string>();
    ofSchedule.add(run.taskId);
    this.#bySchedule.set(run.scheduleId, ofSchedule);
  }

  /**
   * Whether a run of the schedule holds a scope other than `scope`: its lease lasts, or it is seen
   * queued or going. A schedule that joined, left or changed its exclusion group while a run was in
   * flight asks for a new scope, which is free; its run under the old one must still keep it busy.
   */
  holdsElsewhere(scheduleId: number, scope: string, nowWall = Date.now()): boolean {
    for (const id of this.#bySchedule.get(scheduleId) ?? []) {
      const run = this.#runs.get(id);
      if (!run || run.scope === scope) continue;
      if (nowWall < run.leaseEndsAt || (HOLDING.has(run.state) && nowWall < run.holdUntil)) return true;
    }
    return false;
  }

  /** Task ids of a scope's runs in flight. */
  ofScope(scope: string): string[] {
    return [...(this.#byScope.get(scope) ?? [])];
  }

  /** Scopes with a run whose lock lease lasts, or that is seen queued or going. */
  busyScopes(nowWall = Date.now()): Set<string> {
    const busy = new Set<string>();
    for (const run of this.#runs.values()) {
      if (nowWall < run.leaseEndsAt || (HOLDING.has(run.state) && nowWall < run.holdUntil))
        busy.add(run.scope);
    }
    return busy;
  }

  /** The schedule whose run holds the scope now (for the reason a run of a group-mate is skipped). */
  holderOf(scope: string, nowWall = Date.now()): string | undefined {
    for (const id of this.#byScope.get(scope) ?? []) {
      const run = this.#runs.get(id);
      if (run && (nowWall < run.leaseEndsAt || (HOLDING.has(run.state) && nowWall < run.holdUntil)))
        return run.scheduleName;
    }
    return undefined;
  }

  /**
   * Whether a run of the schedule is seen queued or going, within its hold limit: the schedule is
   * busy whatever its lock says (the lock may have run out a moment before the run was seen).
   */
  holds(scope: string, nowWall = Date.now()): boolean {
    for (const id of this.#byScope.get(scope) ?? []) {
      const run = this.#runs.get(id);
      if (run && HOLDING.has(run.state) && nowWall < run.holdUntil) return true;
    }
    return false;
  }

  /**
   * Locks of a schedule's runs whose lease is over by intent but may still be held in Redis (a lock
   * set "until the next slot" lands a few milliseconds late when the acquire waited on the network):
   * the next slot may release them rather than lose its turn to a lock that should have gone.
   */
  overdueLocks(scope: string, nowWall = Date.now()): RunLockHandle[] {
    const lapsed = this.#lapsed.get(scope);
    const locks: RunLockHandle[] = lapsed ? [lapsed] : [];
    for (const id of this.#byScope.get(scope) ?? []) {
      const run = this.#runs.get(id);
      if (!run?.lock || nowWall < run.leaseEndsAt) continue;
      if (HOLDING.has(run.state) && nowWall < run.holdUntil) continue;
      locks.push(run.lock);
    }
    return locks;
  }

  /**
   * Read the state of these runs now and act on it; scopes whose runs all ended are returned.
   * `leaseMarginMs`: also ask where the runs are whose lease ends within it (see #locateUnseen).
   */
  async refresh(taskIds: readonly string[], options: { leaseMarginMs?: number } = {}): Promise<Set<string>> {
    const ids = taskIds.filter((id) => this.#runs.has(id));
    if (ids.length === 0) return new Set();
    let states: Map<string, RunState>;
    try {
      // A transport that never sees a run finish has nothing to say: every run is unknown (ended by
      // its lease in #apply). Not asking spares building a map of every run in flight each second.
      states = this.o.transport.tracksRuns === false ? new Map() : await this.o.transport.status(ids);
    } catch (error) {
      this.o.log().warn({ err: error }, 'could not read run states; runs stay tracked');
      return new Set();
    }
    await this.#locateUnseen(ids, states, options.leaseMarginMs ?? 0);
    return this.#apply(ids, states);
  }

  /**
   * Runs whose lease is over and of which the transport's status says nothing (no result yet):
   * asked where they are. One still queued, or with a worker, holds its schedule like a queued run
   * (it may still start, and must not start beside the next one); one the runtime has nowhere was
   * lost (a broker restarted without its data, a worker killed with it prefetched) and ends now.
   *
   * With a margin, runs whose lease ends within it are asked too, and one still queued holds its
   * schedule from now: the dispatcher asks so before it takes the next slot's run lock, because a
   * lease that ends between this look and that lock (a run sent after its next slot was due gets
   * only a moment's lease) would let the next run start beside one waiting in the queue. Only a run
   * whose lease has ended is ever found lost.
   */
  async #locateUnseen(
    ids: readonly string[],
    states: Map<string, RunState>,
    marginMs: number,
  ): Promise<void> {
    const { transport } = this.o;
    if (!transport.locate || transport.tracksRuns === false) return;
    const nowWall = Date.now();
    const unseen: EnqueueItem[] = [];
    for (const id of ids) {
      const run = this.#runs.get(id);
      const state = states.get(id) ?? 'unknown';
      if (run?.item && state === 'unknown' && nowWall >= run.leaseEndsAt - marginMs) unseen.push(run.item);
    }
    if (unseen.length === 0) return;
    let found: Map<string, 'queued' | 'seen'>;
    try {
      found = await transport.locate(unseen);
    } catch (error) {
      this.o.log().warn({ err: error }, 'could not ask where runs are; they stay followed');
      return;
    }
    for (const item of unseen) {
      const where = found.get(item.taskId);
      if (where === 'queued') states.set(item.taskId, 'queued');
      // A run a worker reported on and status() still calls unknown (STARTED past its time limit:
      // its worker died) is neither queued nor lost: it holds nothing and is followed to its end.
      else if (where === undefined && nowWall >= (this.#runs.get(item.taskId)?.leaseEndsAt ?? 0))
        this.#lost.add(item.taskId);
    }
  }

  /** Poll every run in flight. Returns the scopes freed. */
  async poll(): Promise<Set<string>> {
    return this.refresh([...this.#runs.keys()]);
  }

  async #apply(ids: readonly string[], states: Map<string, RunState>): Promise<Set<string>> {
    const nowWall = Date.now();
    const finished = new Map<string, { state: RunState; reason: string | null; ids: string[] }>();
    const leaseEnded: string[] = [];
    const lostRuns: string[] = [];
    const started: string[] = [];
    const toRelease: RunLockHandle[] = [];
    const toExtend: InFlight[] = [];
    const touched = new Set<string>();
    for (const id of ids) {
      const run = this.#runs.get(id);
      if (!run) continue;
      run.state = states.get(id) ?? 'unknown';
      if (FINISHED.has(run.state)) {
        const reason =
          run.state === 'succeeded' ? null : (this.o.transport.finishReason?.(run.taskId) ?? null);
        const key = `${run.state}\u0000${reason ?? ''}`;
        const group = finished.get(key) ?? { state: run.state, reason, ids: [] };
        group.ids.push(id);
        finished.set(key, group);
        if (run.lock) toRelease.push(run.lock);
        this.#remove(run, touched);
        continue;
      }
      if (run.state === 'active' && !run.recordedRunning) {
        run.recordedRunning = true;
        started.push(id);
      }
      if (HOLDING.has(run.state) && nowWall < run.holdUntil) {
        if (run.lock && run.leaseEndsAt - nowWall < run.extendMs / 2) toExtend.push(run);
        continue;
      }
      const lost = this.#lost.delete(id);
      const followUntil =
        run.leaseEndsAt + (this.o.transport.tracksRuns === false ? 0 : FOLLOW_AFTER_LEASE_MS);
      if (lost) {
        lostRuns.push(id);
        if (run.lock) this.#lapsed.set(run.scope, run.lock);
        this.#remove(run, touched);
      } else if (nowWall >= followUntil) {
        leaseEnded.push(id);
        if (run.lock) this.#lapsed.set(run.scope, run.lock);
        this.#remove(run, touched);
      }
    }
    await this.#releaseAll(toRelease);
    await this.#extendAll(toExtend, nowWall);
    const w = this.o.writer;
    w.add({ taskIds: started, status: 'running', from: ['enqueued'] });
    for (const { state, reason, ids: group } of finished.values()) {
      w.add({ taskIds: group, status: state as 'succeeded', from: ['enqueued', 'running'], error: reason });
    }
    w.add({
      taskIds: leaseEnded,
      status: 'lease_ended',
      from: ['enqueued', 'running'],
      error:
        this.o.transport.tracksRuns === false
          ? 'its run lease ended; nothing tells when a run ends here (no result backend), so it counts as ended'
          : 'no finish seen within its run lease and 5 minutes more; no longer followed',
    });
    w.add({
      taskIds: lostRuns,
      status: 'lease_ended',
      from: ['enqueued', 'running'],
      error: 'lost: its run lease ended, no worker reported it, and the broker no longer holds it',
    });
    return new Set([...touched].filter((scope) => !this.#byScope.has(scope)));
  }

  #remove(run: InFlight, touched: Set<string>): void {
    this.#runs.delete(run.taskId);
    const ids = this.#byScope.get(run.scope);
    ids?.delete(run.taskId);
    if (ids && ids.size === 0) this.#byScope.delete(run.scope);
    const ofSchedule = this.#bySchedule.get(run.scheduleId);
    ofSchedule?.delete(run.taskId);
    if (ofSchedule && ofSchedule.size === 0) this.#bySchedule.delete(run.scheduleId);
    touched.add(run.scope);
  }

  async #releaseAll(locks: RunLockHandle[]): Promise<void> {
    // Best-effort: a lock not given back expires with its lease.
    await this.o.locks.releaseMany(locks).catch(() => this.o.onLockFailure());
  }

  async #extendAll(runs: InFlight[], nowWall: number): Promise<void> {
    await Promise.all(
      runs.map(async (run) => {
        try {
          const extended = run.lock ? await this.o.locks.extend(run.lock, run.extendMs) : null;
          if (extended) {
            run.lock = extended;
            run.leaseEndsAt = nowWall + run.extendMs;
          }
        } catch {
          this.o.onLockFailure();
        }
      }),
    );
  }
}
