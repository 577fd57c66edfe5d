/**
 * From claimed occurrences to enqueued runs: a pipeline of small steps over a batch.
 *
 *   supersede → refresh busy schedules → run locks → fence → send → record
 *
 * Every request carries the schedule as it was when the occurrence was claimed (a snapshot), so a
 * schedule deleted or edited while its batch waits for the broker changes nothing halfway through.
 * An occurrence whose send failed stays pending and is retried with backoff (same task id); a
 * schedule whose runs must not overlap has at most one unsent occurrence — a later slot supersedes
 * an earlier one that could not go (catch-up `latest`), so a broker outage never ends in a burst.
 * Once a send is confirmed the run is in memory before anything is written, and the status write is
 * retried until it lands (ledger-writer.ts): a failed write never leads to a second send.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { LoadedSchedule } from '../db/store.ts';
import { type RunLockHandle, type RunLocks, RunLockUnavailableError } from '../locks/index.ts';
import { redactSecrets } from '../logger.ts';
import { extensionMs, holdMs, lockKey, lockLeaseMs } from '../model/run-lease.ts';
import type { EnqueueItem, EnqueueResult, Transport } from '../transports/transport.ts';
import { enqueueItem, type OccurrenceRef } from './enqueue-item.ts';
import type { LedgerWriter } from './ledger-writer.ts';
import type { BeatMetrics } from './metrics.ts';
import type { RunsInFlight } from './runs-in-flight.ts';

export interface DispatchRequest extends OccurrenceRef {
  scheduleId: number;
  /** The schedule as it was when this occurrence was claimed or picked up. */
  schedule: LoadedSchedule;
  /** `beat trigger --force`: no run lock. */
  force: boolean;
  /** Claimed just now by this term, never sent before: its run lock cannot hold its token yet. */
  fresh: boolean;
  /** A slot of a backfill (src/beat/backfill-runner.ts): never superseded, never supersedes. */
  backfill?: boolean;
  /** A backfill's time between two slots (1 / its rate), for its run lock's lease. */
  backfillPaceMs?: number;
  /**
   * What is sent, built and encoded ahead of the instant (prepare) from `schedule`; a request whose
   * schedule has since been replaced by a kept edit (claimed-ahead.ts) is built again at the send.
   */
  prepared?: { schedule: LoadedSchedule; item: EnqueueItem };
}

interface Pending {
  request: DispatchRequest;
  attempts: number;
  /** Monotonic ms. */
  nextAttemptAt: number;
  lastError: string | null;
  lock: RunLockHandle | null;
}

export interface DispatcherOptions {
  transport: Transport;
  locks: RunLocks;
  runs: RunsInFlight;
  writer: LedgerWriter;
  /** The current logger (while leading it carries the epoch). */
  log: () => Logger;
  metrics: BeatMetrics;
  /** The local half of the leader fence: leading, lease certainly valid, term still current. */
  canDispatch: () => boolean;
  /** Database time, ms. */
  now: () => number;
  owner: () => string;
  /** Longest a run lock is extended for a run with no hard time limit (see InFlight.holdUntil). */
  maxRunHoldMs: number;
}

const MAX_BACKOFF_MS = 30_000;
const SUPERSEDED =
  'not sent before a later slot was due; the later slot goes instead (one unsent run per schedule)';
/**
 * Before a slot's run lock is asked for, runs of its schedule whose lease ends this soon are looked
 * for in the task runtime (RunsInFlight.refresh): longer than the look and the lock take together.
 */
const LEASE_MARGIN_MS = 1_000;

function add(map: Map<string, string[]>, key: string, value: string): void {
  map.set(key, [...(map.get(key) ?? []), value]);
}

/**
 * The instant a run lock "until the next slot" lasts to (see lockLeaseMs). A backfilled slot's next
 * slot is long past: its lock lasts until the backfill's next slot is due (its pace, at least a
 * second), and never past the schedule's own next slot — a run whose end cannot be seen must not
 * cost an on-time slot. A run seen still going keeps it longer (runs-in-flight.ts).
 */
function leaseNext(request: DispatchRequest, now: number): number | null {
  const schedule = request.schedule.schedule;
  if (!request.backfill) return schedule.next(request.scheduledFor);
  const paced = now + Math.max(1_000, request.backfillPaceMs ?? 1_000);
  const own = schedule.next(now);
  return own === null ? paced : Math.min(own, paced);
}

/** The run lock a request takes: its schedule's, or its exclusion group's (lockKey). */
const scopeOf = (request: DispatchRequest) => lockKey(request.schedule.record);

export class Dispatcher {
  readonly #o: DispatcherOptions;
  readonly #pending = new Map<string, Pending>();
  /** The one unsent scheduled occurrence of each schedule that may not pile them up. */
  readonly #unsentBySchedule = new Map<number, Pending>();
  readonly #buffered = new Map<number, DispatchRequest>();
  /** Pending requests whose attempt (run locks, then the send) is under way: never superseded mid-way. */
  readonly #attempting = new Set<Pending>();
  /** Schedules an earlier leader may still be sending a run of (see holdForEarlierTerms). */
  #earlierTermsBusy = new Set<number>();
  /** The last lock-service and enqueue failures, cleared by the next success: for /readyz. */
  #lockError: string | undefined;
  #enqueueError: string | undefined;

  constructor(options: DispatcherOptions) {
    this.#o = options;
  }

  get pendingCount(): number {
    return this.#pending.size;
  }

  /** What currently keeps runs from going out, if anything (for readiness). */
  troubles(): string[] {
    const out: string[] = [];
    if (this.#lockError) out.push(`run locks unavailable: ${this.#lockError}`);
    if (this.#enqueueError) out.push(`enqueue failing: ${this.#enqueueError}`);
    return out;
  }

  /**
   * The run-lock scopes (lockKey: a schedule, or its exclusion group) with a run waiting to be
   * enqueued, buffered or in flight.
   */
  busyScopes(): Set<string> {
    const busy = this.#o.runs.busyScopes();
    for (const p of this.#pending.values()) busy.add(scopeOf(p.request));
    for (const r of this.#buffered.values()) busy.add(scopeOf(r));
    return busy;
  }

  /**
   * Whether a run of this lock scope (the schedule, or its exclusion group) is pending or in flight,
   * its runs in flight asked about now: a run that just finished frees it, one seen queued or going
   * holds it (a lock's lease may have ended before the run was first seen). For a backfill's next
   * slot (backfill-runner.ts): a buffered run is not running and does not count — with runs longer
   * than the interval one always waits, and the backfill would never get a turn; whichever takes
   * the lock when it frees goes first, the other waits.
   */
  async isBusyNow(record: LoadedSchedule['record']): Promise<boolean> {
    const scope = lockKey(record);
    const ids = this.#o.runs.ofScope(scope);
    if (ids.length > 0) await this.#o.runs.refresh(ids);
    if (this.#o.runs.busyScopes().has(scope)) return true;
    for (const p of this.#pending.values()) if (scopeOf(p.request) === scope) return true;
    return false;
  }

  /** Task ids this term has in hand (pending, buffered, in flight, or with a write to land). */
  known(): Set<string> {
    const ids = this.#o.writer.taskIds();
    for (const id of this.#pending.keys()) ids.add(id);
    for (const r of this.#buffered.values()) ids.add(r.taskId);
    for (const id of this.#o.runs.taskIds()) ids.add(id);
    return ids;
  }

  /**
   * A buffered occurrence taken over from an earlier term. `buffer_one` keeps one waiting per
   * schedule: if this term already buffered one, the earlier of the two waits and the other is
   * skipped (never left `buffered` with nobody holding it).
   */
  adoptBuffered(request: DispatchRequest): void {
    const current = this.#buffered.get(request.scheduleId);
    const [keep, drop] =
      current && current.scheduledFor < request.scheduledFor ? [current, request] : [request, current];
    this.#buffered.set(request.scheduleId, keep);
    if (!drop) return;
    this.#o.metrics.skipped.inc();
    this.#o.metrics.fired('skipped_overlap');
    this.#o.writer.add({
      taskIds: [drop.taskId],
      status: 'skipped_overlap',
      from: ['buffered'],
      error: 'an earlier occurrence was already waiting for the previous run to finish (overlap: buffer_one)',
    });
  }

  /**
   * Until this term takes over what earlier terms claimed or buffered, their schedules are busy: a
   * holder that lost its session but not its lease may still send those runs, and a fresh slot sent
   * meanwhile could overlap one. Empty once they are taken over (then their runs are followed).
   */
  holdForEarlierTerms(scheduleIds: Iterable<number>): void {
    this.#earlierTermsBusy = new Set(scheduleIds);
  }

  #busy(request: DispatchRequest): boolean {
    const scope = scopeOf(request);
    return (
      this.#o.runs.holds(scope) ||
      this.#o.runs.holdsElsewhere(request.scheduleId, scope) ||
      this.#earlierTermsBusy.has(request.scheduleId)
    );
  }

  /**
   * Dispatch now (new claims, re-sends, manual triggers, claims whose instant came). With
   * `flush: false` the status writes are left queued for the caller to flush after more sends (the
   * write follows the send; a herd's sends are not held up by its writes).
   */
  async dispatch(requests: DispatchRequest[], options: { flush?: boolean } = {}): Promise<void> {
    await this.#attempt(this.#admit(requests), options.flush ?? true);
  }

  /**
   * Send batch after batch while `next` gives one, each batch's run locks taken while the batch
   * before it is with the broker, so the two round trips overlap. The locks are still taken a batch
   * at a time, in order: a batch meets the locks of the batches before it in Redis as it would have
   * had they been sent one by one. Status writes are left to the writer's next flush.
   */
  async dispatchBatches(next: () => DispatchRequest[]): Promise<void> {
    let sending: Promise<void> | undefined;
    try {
      for (let requests = next(); requests.length > 0; requests = next()) {
        const batch = this.#admit(requests);
        let ready: Pending[];
        try {
          ready = await this.#lockBatch(batch);
        } catch (error) {
          this.#endAttempt(batch);
          throw error;
        }
        await sending;
        sending = this.#sendLocked(ready).finally(() => this.#endAttempt(batch));
      }
    } finally {
      await sending;
    }
  }

  /**
   * Build and encode ahead what these requests will send (claimed ahead of their instant), so that
   * only the run lock and the send are left for the instant.
   */
  prepare(requests: DispatchRequest[]): DispatchRequest[] {
    const prepared = requests.map((r) => ({
      ...r,
      prepared: { schedule: r.schedule, item: enqueueItem(r.schedule.record, r) },
    }));
    this.#o.transport.prepare?.(prepared.map((r) => r.prepared.item));
    return prepared;
  }

  /** New requests become pending (a task id already pending is left as it is). */
  #admit(requests: DispatchRequest[]): Pending[] {
    const now = performance.now();
    const batch: Pending[] = [];
    for (const request of requests) {
      if (this.#pending.has(request.taskId)) continue;
      const p: Pending = { request, attempts: 0, nextAttemptAt: now, lastError: null, lock: null };
      this.#supersede(p);
      this.#pending.set(request.taskId, p);
      batch.push(p);
    }
    return batch;
  }

  /** Retry what is due for another attempt; what waited past its catch-up window is missed. */
  async retryDue(): Promise<void> {
    const now = performance.now();
    const due = [...this.#pending.values()].filter((p) => p.nextAttemptAt <= now);
    if (due.length === 0) return;
    const dbNow = this.#o.now();
    const expired = due.filter(
      (p) => !p.request.manual && dbNow - p.request.fireAt > p.request.schedule.record.catchupWindowMs,
    );
    for (const p of expired) this.#miss(p, 'not sent within its catch-up window');
    await this.#attempt(due.filter((p) => !expired.includes(p)));
  }

  /** Monotonic ms of the next retry, or undefined. */
  nextRetryAt(): number | undefined {
    let next: number | undefined;
    for (const p of this.#pending.values())
      if (next === undefined || p.nextAttemptAt < next) next = p.nextAttemptAt;
    return next;
  }

  /**
   * Buffered occurrences whose scope is free now go (called after tracking freed some). Two
   * buffered schedules of one exclusion group both go: the run lock lets one through, and the other
   * is buffered again (see #settleHeld).
   */
  async releaseBuffered(freed: ReadonlySet<string>): Promise<void> {
    const release: DispatchRequest[] = [];
    for (const [scheduleId, request] of this.#buffered) {
      if (this.#busy(request)) continue;
      const scope = scopeOf(request);
      if (!freed.has(scope) && (await this.#o.locks.isHeld(scope).catch(() => true))) continue;
      this.#buffered.delete(scheduleId);
      release.push({ ...request, fresh: false });
    }
    if (release.length === 0) return;
    this.#o.writer.add({ taskIds: release.map((r) => r.taskId), status: 'claimed', from: ['buffered'] });
    await this.#o.writer.flush();
    await this.dispatch(release);
  }

  /**
   * A schedule whose runs may not overlap keeps at most one unsent occurrence: an earlier one that
   * could not be sent is recorded missed when a later slot is due, and the later one goes (as
   * catch-up `latest` would) — so an outage never ends in a burst of runs that must not overlap.
   * Runs that may overlap (`allow`) all stay, up to their catch-up window. Manual and backfilled
   * runs are never superseded and never supersede (each was asked for, slot by slot).
   */
  #supersede(p: Pending): void {
    const { request } = p;
    if (!supersedable(request)) return;
    const older = this.#unsentBySchedule.get(request.scheduleId);
    this.#unsentBySchedule.set(request.scheduleId, p);
    if (!older || this.#pending.get(older.request.taskId) !== older) return;
    // Its locks taken or its send under way: settled when that attempt ends (#endAttempt).
    if (this.#attempting.has(older)) return;
    this.#miss(older, SUPERSEDED);
  }

  /**
   * An attempt is over: what it left pending (its send failed) and a later slot of its schedule has
   * since replaced as the schedule's one unsent occurrence is missed now, as #supersede would have.
   */
  #endAttempt(batch: Pending[]): void {
    for (const p of batch) {
      this.#attempting.delete(p);
      if (!supersedable(p.request)) continue;
      const newer = this.#unsentBySchedule.get(p.request.scheduleId);
      if (newer && newer !== p && this.#pending.get(p.request.taskId) === p) this.#miss(p, SUPERSEDED);
    }
  }

  #miss(p: Pending, why: string): void {
    this.#forgetPending(p);
    if (p.lock) void this.#o.locks.release(p.lock).catch(() => {});
    this.#o.metrics.missed.inc();
    this.#o.metrics.fired('missed');
    this.#o.writer.add({
      taskIds: [p.request.taskId],
      status: 'missed',
      from: ['claimed'],
      error: `missed: ${why}${p.lastError ? ` (last attempt: ${p.lastError})` : ''}`,
    });
  }

  #forgetPending(p: Pending): void {
    this.#pending.delete(p.request.taskId);
    if (this.#unsentBySchedule.get(p.request.scheduleId) === p)
      this.#unsentBySchedule.delete(p.request.scheduleId);
  }

  async #attempt(batch: Pending[], flush = true): Promise<void> {
    try {
      await this.#sendLocked(await this.#lockBatch(batch));
    } finally {
      this.#endAttempt(batch);
    }
    if (flush) await this.#o.writer.flush();
  }

  /** What of the batch may go now, its run locks taken; what another run holds is settled. */
  async #lockBatch(batch: Pending[]): Promise<Pending[]> {
    const pending = batch.filter((p) => this.#pending.get(p.request.taskId) === p);
    for (const p of pending) this.#attempting.add(p);
    if (pending.length === 0) return [];
    const live = await this.#skipAlreadySent(pending);
    await this.#refreshBusy(live);
    const { ready, held } = await this.#takeLocks(live);
    this.#settleHeld(held);
    return ready;
  }

  /** Send what holds its locks, if the lease is still certainly ours (the fence, checked last). */
  async #sendLocked(ready: Pending[]): Promise<void> {
    if (ready.length === 0) return;
    if (this.#o.canDispatch()) {
      this.#record(ready, await this.#send(ready));
      return;
    }
    // The lease is not certainly ours: keep them pending. If the term is over, the next leader
    // adopts them (same task ids); if the lease comes back, they are retried.
    this.#o.metrics.fired('fenced', ready.length);
    for (const p of ready) this.#backoff(p, 'not sent: the leader lease is not certainly ours');
  }

  /**
   * An occurrence that may have gone out already — taken over from another term, found stranded, or
   * retried after a send whose answer was lost — is looked for first (Transport.locate): if the task
   * runtime has it, it is followed, not sent again. What a fresh claim holds was never sent.
   */
  async #skipAlreadySent(batch: Pending[]): Promise<Pending[]> {
    const { transport } = this.#o;
    const maybe = batch.filter((p) => !p.request.fresh || p.attempts > 0);
    if (maybe.length === 0 || !transport.locate) return batch;
    let present: Map<string, 'queued' | 'seen'>;
    try {
      present = await transport.locate(maybe.map((p) => itemOf(p.request)));
    } catch {
      return batch; // the runtime cannot be asked: the send will fail (or land) the same way
    }
    if (present.size === 0) return batch;
    const nowWall = Date.now();
    const found: string[] = [];
    for (const p of maybe) {
      if (!present.has(p.request.taskId)) continue;
      this.#forgetPending(p);
      found.push(p.request.taskId);
      const { request } = p;
      const record = request.schedule.record;
      this.#o.runs.add({
        taskId: request.taskId,
        item: itemOf(request),
        scheduleId: request.scheduleId,
        scheduleName: record.name,
        scope: lockKey(record),
        lock: p.lock,
        extendMs: extensionMs(
          record,
          request.scheduledFor,
          request.schedule.schedule.next(request.scheduledFor),
        ),
        leaseEndsAt: p.lock?.expiresAt ?? nowWall,
        holdUntil: nowWall + holdMs(record, this.#o.maxRunHoldMs),
        state: 'queued',
        recordedRunning: false,
      });
    }
    this.#o
      .log()
      .info(
        { occurrences: found.length, taskIds: found.slice(0, 20) },
        'already sent (the task runtime has them): followed, not sent again',
      );
    this.#o.writer.add({ taskIds: found, status: 'enqueued', from: ['claimed', 'buffered'] });
    return batch.filter((p) => !present.has(p.request.taskId));
  }

  /** Read the runs in flight of the batch's schedules now, so a run just finished frees its schedule. */
  async #refreshBusy(batch: Pending[]): Promise<void> {
    const ids: string[] = [];
    const seen = new Set<string>();
    for (const p of batch) {
      const scope = scopeOf(p.request);
      if (seen.has(scope) || !this.#needsLock(p)) continue;
      seen.add(scope);
      ids.push(...this.#o.runs.ofScope(scope));
    }
    if (ids.length > 0) await this.#o.runs.refresh(ids, { leaseMarginMs: LEASE_MARGIN_MS });
  }

  #needsLock(p: Pending): boolean {
    return (
      !p.request.force &&
      p.request.schedule.record.overlap !== 'allow' &&
      !this.#o.transport.finishedOnEnqueue
    );
  }

  /**
   * Take the run locks, in one round trip for the batch. A schedule seen busy in memory is held
   * without asking Redis. A lock still held by one of our own runs whose lease is over by intent (it
   * should have expired a moment ago) is released and taken again, once.
   */
  async #takeLocks(batch: Pending[]): Promise<{ ready: Pending[]; held: Pending[] }> {
    const ready: Pending[] = [];
    const held: Pending[] = [];
    const asking: Pending[] = [];
    for (const p of batch) {
      if (!this.#needsLock(p)) ready.push(p);
      else if (this.#busy(p.request)) held.push(p);
      else asking.push(p);
    }
    if (asking.length === 0) return { ready, held };
    let answers: Array<RunLockHandle | null>;
    try {
      answers = await this.#acquire(asking);
      const overdue = asking.filter(
        (p, i) => answers[i] === null && this.#o.runs.overdueLocks(scopeOf(p.request)).length > 0,
      );
      if (overdue.length > 0) {
        await this.#o.locks.releaseMany(
          overdue.flatMap((p) => this.#o.runs.overdueLocks(scopeOf(p.request))),
        );
        const again = await this.#acquire(overdue);
        overdue.forEach((p, i) => {
          answers[asking.indexOf(p)] = again[i] ?? null;
        });
      }
      this.#lockError = undefined;
    } catch (error) {
      const message = redactSecrets(error instanceof Error ? error.message : String(error));
      this.#o.metrics.lockFailures.inc();
      this.#lockError = message;
      for (const p of asking)
        this.#backoff(p, error instanceof RunLockUnavailableError ? error.message : message);
      return { ready, held };
    }
    asking.forEach((p, i) => {
      const lock = answers[i] ?? null;
      if (lock) {
        p.lock = lock;
        ready.push(p);
      } else {
        held.push(p);
      }
    });
    return { ready, held };
  }

  #acquire(batch: Pending[]): Promise<Array<RunLockHandle | null>> {
    const now = this.#o.now();
    return this.#o.locks.tryAcquireMany(
      batch.map((p) => {
        const { request } = p;
        const next = leaseNext(request, now);
        return {
          scheduleKey: scopeOf(request),
          ttlMs: lockLeaseMs(request.schedule.record, next, now),
          token: request.taskId,
          retake: !request.fresh || p.attempts > 0,
        };
      }),
      this.#o.owner(),
    );
  }

  /**
   * The previous run still holds the schedule (or a run of another schedule holds its exclusion
   * group): skip it, or keep one waiting (buffer_one). The reason names the group and its holder.
   */
  #settleHeld(held: Pending[]): void {
    const skipped = new Map<string, string[]>();
    const skippedForEarlier: string[] = [];
    const buffered = new Map<string, string[]>();
    for (const p of held) {
      this.#forgetPending(p);
      const { request } = p;
      if (request.schedule.record.overlap === 'buffer_one' && !this.#buffered.has(request.scheduleId)) {
        this.#buffered.set(request.scheduleId, request);
        add(buffered, this.#heldBy(request, 'waiting for', 'buffer_one'), request.taskId);
      } else if (this.#earlierTermsBusy.has(request.scheduleId)) {
        skippedForEarlier.push(request.taskId);
      } else {
        add(skipped, this.#heldBy(request, 'still holds', 'skip'), request.taskId);
      }
    }
    const { metrics, writer } = this.#o;
    const skip = (taskIds: string[], error: string) => {
      if (taskIds.length === 0) return;
      metrics.skipped.inc(taskIds.length);
      metrics.fired('skipped_overlap', taskIds.length);
      writer.add({ taskIds, status: 'skipped_overlap', from: ['claimed', 'buffered'], error });
    };
    for (const [error, taskIds] of skipped) skip(taskIds, error);
    skip(
      skippedForEarlier,
      'the previous leader may still be sending an occurrence of this schedule (overlap: skip)',
    );
    for (const [error, taskIds] of buffered) {
      metrics.fired('buffered', taskIds.length);
      writer.add({ taskIds, status: 'buffered', from: ['claimed'], error });
    }
  }

  /** Why a run is held: the previous run of its schedule, or the run holding its exclusion group. */
  #heldBy(request: DispatchRequest, verb: 'still holds' | 'waiting for', policy: string): string {
    const group = request.schedule.record.exclusionGroup;
    if (group === null) {
      return verb === 'still holds'
        ? `the previous run still holds the run lock (overlap: ${policy})`
        : `waiting for the previous run to finish (overlap: ${policy})`;
    }
    const holder = this.#o.runs.holderOf(scopeOf(request));
    const by = holder === undefined ? 'another run' : `a run of ${JSON.stringify(holder)}`;
    return verb === 'still holds'
      ? `exclusion group ${JSON.stringify(group)} is held by ${by} (overlap: ${policy})`
      : `waiting for exclusion group ${JSON.stringify(group)}, held by ${by} (overlap: ${policy})`;
  }

  async #send(ready: Pending[]): Promise<EnqueueResult[]> {
    const items: EnqueueItem[] = ready.map((p) => itemOf(p.request));
    try {
      return await this.#o.transport.enqueue(items);
    } catch (error) {
      const text = redactSecrets(error instanceof Error ? error.message : String(error));
      return items.map((i) => ({ taskId: i.taskId, ok: false as const, error: text }));
    }
  }

  /** In memory first (the run is in flight), then the ledger (retried until it lands). */
  #record(ready: Pending[], results: EnqueueResult[]): void {
    const { metrics, transport, runs, writer } = this.#o;
    const log = this.#o.log();
    const ok: string[] = [];
    const failedByError = new Map<string, string[]>();
    const now = this.#o.now();
    const nowWall = Date.now();
    const perRun = log.isLevelEnabled('debug');
    let maxLagMs = 0;
    ready.forEach((p, i) => {
      const r = results[i];
      const { request } = p;
      if (!r?.ok) {
        const error = r && !r.ok ? r.error : 'no answer from the transport';
        failedByError.set(error, [...(failedByError.get(error) ?? []), request.taskId]);
        this.#backoff(p, error);
        return;
      }
      this.#forgetPending(p);
      ok.push(request.taskId);
      metrics.dispatchLag.observe(Math.max(0, now - request.fireAt) / 1000);
      const record = request.schedule.record;
      if (!transport.finishedOnEnqueue) {
        const next = leaseNext(request, now);
        const leaseMs = p.lock ? p.lock.expiresAt - nowWall : lockLeaseMs(record, next, now);
        runs.add({
          taskId: request.taskId,
          item: itemOf(request),
          scheduleId: request.scheduleId,
          scheduleName: record.name,
          scope: lockKey(record),
          lock: p.lock,
          extendMs: extensionMs(record, request.scheduledFor, next),
          leaseEndsAt: nowWall + leaseMs,
          holdUntil: nowWall + holdMs(record, this.#o.maxRunHoldMs),
          state: 'unknown',
          recordedRunning: false,
        });
      }
      maxLagMs = Math.max(maxLagMs, now - request.fireAt);
      // One line per run only at debug: at info it cost 6-8% of a 100,000-schedule herd.
      if (perRun)
        log.debug(
          {
            schedule: record.name,
            task: record.task,
            taskId: request.taskId,
            scheduledFor: new Date(request.scheduledFor).toISOString(),
            manual: request.manual || undefined,
          },
          'enqueued',
        );
    });
    if (ok.length > 0) log.info({ enqueued: ok.length, maxLagMs: Math.round(maxLagMs) }, 'enqueued a batch');
    this.#enqueueError = failedByError.size > 0 ? [...failedByError.keys()][0] : undefined;
    if (ok.length > 0) {
      metrics.fired('enqueued', ok.length);
      writer.add({
        taskIds: ok,
        status: transport.finishedOnEnqueue ? 'succeeded' : 'enqueued',
        from: ['claimed', 'buffered'],
      });
    }
    for (const [error, ids] of failedByError) {
      metrics.enqueueFailures.inc(ids.length);
      metrics.fired('enqueue_failed', ids.length);
      writer.add({ taskIds: ids, status: 'claimed', from: ['claimed'], error, bestEffort: true });
    }
  }

  #backoff(p: Pending, error: string): void {
    p.attempts += 1;
    p.lastError = error;
    const delay = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(p.attempts, 10));
    p.nextAttemptAt = performance.now() + delay;
    this.#o
      .log()
      .warn(
        { taskId: p.request.taskId, attempts: p.attempts, retryInMs: delay, error },
        'enqueue attempt failed; will retry',
      );
  }
}

/** The request's item: the one prepared ahead while its schedule is still the one it was built from. */
function itemOf(request: DispatchRequest): EnqueueItem {
  const { prepared } = request;
  return prepared?.schedule === request.schedule
    ? prepared.item
    : enqueueItem(request.schedule.record, request);
}

/** A scheduled slot of a schedule whose runs may not overlap: the kind one unsent occurrence replaces. */
function supersedable(request: DispatchRequest): boolean {
  return !request.manual && !request.backfill && request.schedule.record.overlap !== 'allow';
}
