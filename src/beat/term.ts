/**
 * One term of leadership: everything that starts when this beat is elected and stops when it is
 * demoted — the change feed, the book of schedules, the runs in flight, the dispatcher, and the tick
 * loop. A new term starts from the database, never from what an earlier term left in memory.
 *
 * Start-up (listen, load, adopt) checks after every await that the term is still current: a beat
 * demoted while it was starting abandons the start and never runs its loop. The loop reports progress
 * at every step, so a loop stuck on a call that never returns is seen (`stalledForMs`) and costs the
 * lease (runtime.ts), and stop() waits for it only so long.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { AlertSettings } from '../config.ts';
import { SCHEDULES_CHANNEL, TRIGGER_CHANNEL } from '../db/channels.ts';
import type { Database } from '../db/database.ts';
import { databaseErrorText } from '../db/errors.ts';
import { pruneAlerts } from '../db/sql/alerts.ts';
import { type Fence, FencedError } from '../db/sql/leader.ts';
import {
  Ledger,
  pruneOccurrences,
  releaseClaims,
  skipClaims,
  type UnfinishedOccurrence,
} from '../db/sql/occurrences.ts';
import type { LoadedSchedule } from '../db/store.ts';
import type { RunLocks } from '../locks/index.ts';
import type { ScheduleRecord } from '../model/index.ts';
import { extensionMs, holdMs, lockKey, lockLeaseMs } from '../model/run-lease.ts';
import type { Transport } from '../transports/transport.ts';
import { AlertOutbox } from './alert-outbox.ts';
import { BackfillRunner } from './backfill-runner.ts';
import { droppedBacklog, planBatch } from './batch.ts';
import { claim } from './claim.ts';
import { ClaimRate } from './claim-rate.ts';
import { CALENDAR_TAKEN_BACK, ClaimedAhead, type ToSkip, takenAwayBecause } from './claimed-ahead.ts';
import { DatabaseClock } from './clock.ts';
import { DeadlineWatch } from './deadline-watch.ts';
import { Dispatcher, type DispatchRequest } from './dispatcher.ts';
import { enqueueItem } from './enqueue-item.ts';
import { herdClaimUntil } from './herd-window.ts';
import { LedgerWriter, type StatusWrite } from './ledger-writer.ts';
import type { BeatMetrics } from './metrics.ts';
import { PauseEnds } from './pause-ends.ts';
import { RunsInFlight } from './runs-in-flight.ts';
import { type BookOptions, DEFAULT_HORIZON_MS, ScheduleBook } from './schedule-book.ts';

export interface TermSettings {
  /** A due slot at most this late is on time and always runs; older ones follow catch-up. */
  graceMs: number;
  batchSize: number;
  /**
   * How long before its fire instant an occurrence is claimed (the claim transaction, its ledger
   * row, the cursor advance): at the instant only the run lock and the send remain
   * (claimed-ahead.ts). Default CLAIM_AHEAD_MS.
   */
  claimAheadMs?: number;
  /** Claims a second assumed until the leader has measured its own (claim-rate.ts). */
  claimRate?: number;
  /** Global budget of catch-up runs per second (policy `all`). */
  catchupRatePerSecond: number;
  reconcileMs: number;
  trackMs: number;
  /** Longest sleep between ticks, so new work is noticed even without a notification. */
  maxSleepMs: number;
  /** Longest a run lock is extended for an active-looking run with no hard time limit. */
  maxRunHoldMs: number;
  /** How often claimed occurrences nobody is sending are looked for. */
  sweepMs: number;
  /** How far ahead schedules are held in memory, and the page sizes of reading them (schedule-book.ts). */
  book?: BookOptions;
  /** Ledger retention (see pruneOccurrences, src/db/sql/occurrences.ts); no pruning when absent. */
  prune?: { maxAgeMs: number; perSchedule: number; intervalMs: number };
  /** Deadlines and alerts (docs/alerts.md); default: judged every 5 s, alerts recorded, no webhook. */
  alerts?: AlertSettings;
}

export interface TermOptions extends TermSettings {
  database: Database;
  transport: Transport;
  locks: RunLocks;
  metrics: BeatMetrics;
  fence: Fence;
  log: Logger;
  /** The leadership half of the local fence (lease certainly valid). */
  leaseValid: () => boolean;
  /** Called when a claim finds the lease gone: the term is over. */
  onFenced: (reason: string) => void;
  /**
   * Database ms before which what earlier terms left is not taken over: when this term took the
   * lease from a holder whose session had gone before its lease ended (that holder may still be
   * sending its claims until then). Null: at once.
   */
  earlierTermsAfter: number | null;
  /** Status writes an earlier term of this process could not land (its runs were sent). */
  inherited: readonly StatusWrite[];
  /** The term's one clock (database time); default measured on `database` (clock.ts). */
  clock?: DatabaseClock;
}

/** The default lookahead of the claim (METRONOME_CLAIM_AHEAD). */
export const CLAIM_AHEAD_MS = 2_000;

/** Claims younger than this are left to the tick that is inserting them. */
const STRANDED_AFTER_MS = 2_000;

export class LeaderTerm {
  readonly epoch: number;
  readonly log: Logger;
  readonly #o: TermOptions;
  readonly #clock: DatabaseClock;
  readonly #book: ScheduleBook;
  readonly #ledger: Ledger;
  readonly #writer: LedgerWriter;
  readonly #runs: RunsInFlight;
  readonly #dispatcher: Dispatcher;
  readonly #backfills: BackfillRunner;
  /** Claimed, waiting for their instant (claimed-ahead.ts). */
  readonly #ahead = new ClaimedAhead();
  /** Pauses with an end: the leader resumes them at it (pause-ends.ts). */
  readonly #pauseEnds: PauseEnds;
  readonly #claimAheadMs: number;
  readonly #claimRate: ClaimRate;
  /** How far ahead a herd may be claimed (herd-window.ts): half the horizon, which the book holds. */
  readonly #herdMaxMs: number;
  /** performance.now() before which no herd is looked for (the last look found nothing to claim). */
  #herdPausedUntil = 0;
  /** The book changed since the held claims were last revised against it. */
  #bookChanged = false;
  #active = true;
  /**
   * Sends may go while the lease is certainly ours. A clean stop ends the loop (#active) but lets the
   * turn under way send what it claimed; a fence or a loop that would not stop ends sends too.
   */
  #maySend = true;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #unlisten: Array<() => Promise<void>> = [];
  #pickUpClaims = true;
  #lastTrack = 0;
  #lastReconcile = 0;
  #lastPrune = 0;
  #lastSweep = 0;
  #lastProgress = performance.now();
  #catchupTokens: number;
  #catchupRefilledAt = performance.now();
  #lastTickError: string | undefined;
  /** The side loops of a term (deadline-watch.ts, alert-outbox.ts), started with the tick loop. */
  #deadlines: DeadlineWatch | undefined;
  #outbox: AlertOutbox | undefined;

  constructor(options: TermOptions) {
    this.#o = options;
    this.epoch = options.fence.epoch;
    this.log = options.log.child({ epoch: this.epoch });
    this.#clock = options.clock ?? new DatabaseClock(options.database);
    this.#book = new ScheduleBook(
      options.database,
      options.metrics,
      this.log,
      () => this.#clock.now(),
      options.book,
    );
    this.#ledger = new Ledger(options.database, options.fence);
    this.#pauseEnds = new PauseEnds(options.database, options.fence);
    this.#writer = new LedgerWriter(this.#ledger, () => this.log, options.inherited);
    this.#runs = new RunsInFlight({
      transport: options.transport,
      locks: options.locks,
      writer: this.#writer,
      log: () => this.log,
      onLockFailure: () => options.metrics.lockFailures.inc(),
    });
    this.#dispatcher = new Dispatcher({
      transport: options.transport,
      locks: options.locks,
      runs: this.#runs,
      writer: this.#writer,
      log: () => this.log,
      metrics: options.metrics,
      canDispatch: () => this.#maySend && options.leaseValid(),
      now: () => this.#clock.now(),
      owner: () => `${options.fence.holder} epoch ${this.epoch}`,
      maxRunHoldMs: options.maxRunHoldMs,
    });
    this.#backfills = new BackfillRunner({
      database: options.database,
      fence: options.fence,
      log: () => this.log,
      entries: (ids) => this.#book.entries(ids),
      busy: (loaded) => this.#dispatcher.isBusyNow(loaded.record),
      dispatch: (requests) => this.#dispatcher.dispatch(requests),
      active: () => this.#active && this.#maySend && options.leaseValid(),
    });
    this.#catchupTokens = options.catchupRatePerSecond;
    this.#claimAheadMs = Math.max(0, options.claimAheadMs ?? CLAIM_AHEAD_MS);
    this.#claimRate = new ClaimRate(options.claimRate);
    this.#herdMaxMs = (options.book?.horizonMs ?? DEFAULT_HORIZON_MS) / 2;
  }

  get active(): boolean {
    return this.#active;
  }

  /** Why runs are not going out, if anything (for readiness). */
  troubles(): string[] {
    const out = [...this.#dispatcher.troubles()];
    // Both are database calls: a reason names the database, whichever of them fails first.
    if (this.#lastTickError) out.push(`tick failing on the database: ${this.#lastTickError}`);
    if (this.#writer.trouble) out.push(`recording statuses in the database failing: ${this.#writer.trouble}`);
    return out;
  }

  /** How long the loop has made no progress (0 before it starts). */
  stalledForMs(): number {
    return this.#loop ? performance.now() - this.#lastProgress : 0;
  }

  /**
   * Listen, load and adopt, then run the loop. Resolves false when the term ended meanwhile (the
   * start-up is abandoned) or start-up failed (the caller steps down).
   */
  async start(): Promise<boolean> {
    const { database } = this.#o;
    try {
      // Listen before loading, so a change made during the load is not lost.
      this.#unlisten.push(await database.listen(SCHEDULES_CHANNEL, (p) => this.#onScheduleChange(p)));
      if (!this.#active) return this.#abandon();
      this.#unlisten.push(await database.listen(TRIGGER_CHANNEL, () => this.#onTrigger()));
      if (!this.#active) return this.#abandon();
      await this.#clock.measure();
      if (!this.#active) return this.#abandon();
      const loaded = await this.#book.loadAll(this.#clock.now());
      if (!this.#active) return this.#abandon();
      this.log.info({ ...loaded, due: this.#book.dueCount }, 'schedules loaded');
      this.#lastReconcile = performance.now();
      // The per-state gauge is a count over the whole table: not something the first tick waits for.
      void this.#book
        .countStates()
        .catch((error) => this.log.warn({ err: error }, 'could not count schedules'));
      await this.#adoptEarlierTerms(this.#earlierTermsReady());
    } catch (error) {
      if (!this.#active) return this.#abandon();
      this.log.error({ err: error }, 'could not start leading');
      await this.#abandon();
      return false;
    }
    if (!this.#active) return this.#abandon();
    this.#lastProgress = performance.now();
    this.#loop = this.#run();
    this.log.info('tick loop started');
    this.#startAlerting();
    return true;
  }

  /** The deadline watch, and the outbox when a webhook is configured: beside the tick, never in it. */
  #startAlerting(): void {
    const o = this.#o;
    const settings = o.alerts;
    const { webhookUrl, webhookSecret } = settings ?? {};
    if (settings && webhookUrl && webhookSecret) {
      this.#outbox = new AlertOutbox({
        database: o.database,
        fence: o.fence,
        settings: { ...settings, webhookUrl, webhookSecret },
        metrics: o.metrics,
        log: this.log,
      });
    }
    this.#deadlines = new DeadlineWatch({
      database: o.database,
      fence: o.fence,
      metrics: o.metrics,
      log: this.log,
      intervalMs: settings?.deadlineIntervalMs ?? 5_000,
      deliver: this.#outbox !== undefined,
      onRaised: () => this.#outbox?.nudge(),
    });
  }

  async #stopAlerting(boundMs: number): Promise<void> {
    await Promise.all([this.#deadlines?.stop(boundMs), this.#outbox?.stop(boundMs)]);
    // What a standby shows is not the state of the group: only the leader's series count.
    this.#o.metrics.schedulesInBreach.set(0);
    this.#o.metrics.alertsPending.set(0);
  }

  /**
   * End the term: stop the loop (waiting at most `boundMs` for a stuck one) and stop listening. The
   * turn under way finishes, its sends included while the lease is ours (a clean stop releases the
   * lease only after this), so a hand-over leaves no claim unsent. Returns the status writes that did not land, for this process's next term.
   */
  async stop(boundMs: number): Promise<StatusWrite[]> {
    this.#active = false;
    this.#wake?.();
    const alerting = this.#stopAlerting(boundMs);
    const loop = this.#loop;
    if (loop) {
      let timer: NodeJS.Timeout | undefined;
      const stuck = await Promise.race([
        loop.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), boundMs);
        }),
      ]);
      clearTimeout(timer);
      if (stuck) {
        this.#maySend = false;
        this.log.warn({ waitedMs: boundMs }, 'the tick loop did not stop in time; leaving it fenced');
      } else {
        // The last turn's sends are recorded now (their writes follow the sends): rows left
        // `claimed` though sent would make the next leader look for them before sending.
        await this.#writer.flush();
        await this.#releaseAhead();
      }
    }
    await this.#unlistenAll();
    await alerting;
    return this.#writer.drain();
  }

  /**
   * Claims held for a later instant are given back (releaseClaims, src/db/sql/occurrences.ts) while the lease is
   * still ours, so a clean hand-over leaves nothing claimed ahead; when that cannot be done (the
   * lease is gone, the database does not answer) they stay claimed for the next leader.
   */
  async #releaseAhead(): Promise<void> {
    const held = this.#ahead.drain().filter((r) => !r.manual);
    if (held.length === 0) return;
    try {
      const released = await releaseClaims(
        this.#o.database,
        this.#o.fence,
        held.map((r) => ({ taskId: r.taskId, scheduleId: r.scheduleId, version: r.schedule.record.version })),
      );
      this.log.info({ released, held: held.length }, 'claims made ahead of their instant given back');
    } catch (error) {
      this.log.warn(
        { err: error, held: held.length },
        'could not give back the claims made ahead; the next leader takes them over',
      );
    }
  }

  async #abandon(): Promise<false> {
    this.#active = false;
    this.#maySend = false;
    await this.#unlistenAll();
    return false;
  }

  async #unlistenAll(): Promise<void> {
    for (const unlisten of this.#unlisten.splice(0)) await unlisten().catch(() => {});
  }

  #adopted = false;

  /** Whether what earlier terms left may be taken over now (see TermOptions.earlierTermsAfter). */
  #earlierTermsReady(): boolean {
    const after = this.#o.earlierTermsAfter;
    return after === null || this.#clock.now() >= after;
  }

  /** Follow earlier terms' runs in flight; with `claims`, take over their claims too (once). */
  async #adoptEarlierTerms(claims: boolean): Promise<void> {
    if (!claims) {
      // Until then, the earlier holder may still be sending what it claimed or buffered (its own
      // fence is its lease): those schedules count as busy, or a fresh slot could overlap that run.
      const busy = await this.#ledger.schedulesWithEarlierClaims();
      if (!this.#active) return;
      this.#dispatcher.holdForEarlierTerms(busy);
    }
    const unfinished = await this.#ledger.adoptUnfinished(this.#o.maxRunHoldMs, { claims });
    if (!this.#active) return;
    if (claims) {
      this.#adopted = true;
      this.#dispatcher.holdForEarlierTerms([]); // theirs now: sent or followed by #adopt
    }
    await this.#adopt(unfinished);
  }

  #onScheduleChange(payload: string): void {
    this.#pauseEnds.stale(); // a pause set, moved or ended: its end is read again
    if (this.#book.onChange(payload)) {
      this.#bookChanged = true;
      this.#wake?.();
    }
  }

  #onTrigger(): void {
    this.#pickUpClaims = true;
    this.#backfills.wake();
    this.#wake?.();
  }

  #progress(): void {
    this.#lastProgress = performance.now();
  }

  async #run(): Promise<void> {
    while (this.#active) {
      try {
        // What was claimed ahead goes at its instant, before anything else is looked at.
        if (await this.#fireDue()) continue;
        const now = await this.#housekeeping();
        if (await this.#fireDue()) continue;
        const due = this.#book.due(now + this.#claimAheadMs, this.#o.batchSize);
        if (due.length > 0 && this.#active) {
          const started = performance.now();
          await this.#tick(due, now, this.#claimAheadMs);
          this.#o.metrics.tickDuration.observe((performance.now() - started) / 1000);
          this.#lastTickError = undefined;
          continue;
        }
        if (await this.#claimHerd(now)) continue;
        this.#lastTickError = undefined;
        await this.#sleep(now);
      } catch (error) {
        if (error instanceof FencedError) {
          if (!this.#active) return; // a term already over: its fence is no news
          this.log.warn({ reason: error.message }, 'fenced: another beat leads');
          this.#active = false;
          this.#maySend = false;
          void this.#stopAlerting(0); // its side loops end with it, whoever stops the term
          this.#o.onFenced(error.message);
          return;
        }
        this.#lastTickError = databaseErrorText(error);
        this.log.error({ err: error }, 'tick failed; retrying');
        await this.#sleepFor(1_000);
      }
    }
  }

  /** Everything but the tick itself, each when it is due; stops early when the term ends. */
  async #housekeeping(): Promise<number> {
    const o = this.#o;
    const mono = performance.now();
    const steps: Array<[due: boolean, step: () => Promise<unknown>]> = [
      [true, () => this.#writer.flush()],
      [!this.#adopted && this.#earlierTermsReady(), () => this.#adoptEarlierTerms(true)],
      [this.#book.hasDirty, () => this.#refreshDirty()],
      [this.#bookChanged, () => this.#takeBack()],
      [this.#book.hasDropped, () => this.#recordDropped()],
      [this.#pauseEnds.due(this.#clock.now()), () => this.#resumeEndedPauses()],
      [this.#pickUpClaims || mono - this.#lastSweep >= o.sweepMs, () => this.#sweep()],
      [true, () => this.#dispatcher.retryDue()],
      [this.#adopted && this.#backfills.due(), () => this.#backfills.step()],
      [mono - this.#lastTrack >= o.trackMs, () => this.#track()],
      [mono - this.#lastReconcile >= o.reconcileMs, () => this.#reconcile()],
      [o.prune !== undefined && mono - this.#lastPrune >= o.prune.intervalMs, () => this.#prune()],
    ];
    for (const [due, step] of steps) {
      if (!this.#active) break;
      this.#progress();
      if (due) await step();
    }
    this.#progress();
    return this.#clock.now();
  }

  async #refreshDirty(): Promise<void> {
    await this.#book.refreshDirty(this.#clock.now());
    this.#bookChanged = true;
  }

  /**
   * Claims held for their instant that a change to their schedule took away are never sent: they
   * are recorded `missed` with the reason (claimed-ahead.ts). The slots the change keeps go as the
   * schedule is now.
   */
  async #takeBack(): Promise<void> {
    this.#bookChanged = false;
    // `current`, not `entry`: a schedule whose claim moved its cursor beyond the horizon is not in
    // the book, yet it still wants the slot it holds.
    const { taken, toSkip } = this.#ahead.revise((id) => this.#book.current(id));
    await this.#skipHeld(toSkip);
    this.#book.keepFar(this.#ahead.scheduleIds());
    if (taken.length === 0) return;
    const byReason = new Map<string, string[]>();
    for (const { request, reason } of taken)
      byReason.set(reason, [...(byReason.get(reason) ?? []), request.taskId]);
    let skipped = 0;
    for (const [error, taskIds] of byReason) {
      // A calendar that now excludes the slot's day: skipped, as the slot would have been had the
      // calendar said so before the claim; any other change: missed.
      const byCalendar = error.startsWith(CALENDAR_TAKEN_BACK);
      if (byCalendar) skipped += taskIds.length;
      this.#writer.add({
        taskIds,
        status: byCalendar ? 'skipped' : 'missed',
        from: ['claimed'],
        error,
      });
    }
    if (taken.length > skipped) {
      this.#o.metrics.missed.inc(taken.length - skipped);
      this.#o.metrics.fired('missed', taken.length - skipped);
    }
    if (skipped > 0) this.#o.metrics.fired('skipped', skipped);
    this.log.info(
      { occurrences: taken.length },
      'claims taken back: their schedule changed before their instant',
    );
    await this.#writer.flush();
  }

  /**
   * Held claims an operator's skip landed on (after they were claimed ahead): recorded `skipped` and
   * taken from the skip count in one fenced transaction, then no longer held — never sent. What the
   * write did not take (the skip was cleared or lowered meanwhile) stays held and goes at its instant.
   */
  async #skipHeld(toSkip: readonly ToSkip[]): Promise<void> {
    for (const { scheduleId, requests } of toSkip) {
      const skipped = await skipClaims(
        this.#o.database,
        this.#o.fence,
        scheduleId,
        requests.map((r) => r.taskId),
      );
      if (skipped.length === 0) continue;
      this.#ahead.withdraw(skipped);
      this.#book.consumedSkips(scheduleId, skipped.length);
      this.#o.metrics.fired('skipped', skipped.length);
      this.log.info(
        { scheduleId, occurrences: skipped.length },
        'claims taken back: an operator skipped them before their instant',
      );
    }
  }

  /**
   * Send what was claimed ahead and is due now, a batch at a time, the status writes after all the
   * sends (the next turn's housekeeping flushes them). True when something was due.
   */
  async #fireDue(): Promise<boolean> {
    const now = this.#clock.now();
    const next = this.#ahead.nextFireAt();
    if (next === undefined || next > now || !this.#active) return false;
    // A change the feed reported while the loop was busy is read before anything held is sent.
    if (this.#book.hasDirty) await this.#refreshDirty();
    if (this.#bookChanged) await this.#takeBack();
    await this.#dispatcher.dispatchBatches(() => {
      if (!this.#active) return [];
      this.#progress();
      return this.#ahead.takeDue(this.#clock.now(), this.#o.batchSize);
    });
    this.#book.keepFar(this.#ahead.scheduleIds());
    return true;
  }

  /** Slots an edit or a removal took away before they were handled are recorded `missed`. */
  async #recordDropped(): Promise<void> {
    const missed = droppedBacklog(this.#book.takeDropped());
    if (missed.length === 0) return;
    const result = await claim(this.#o.database, this.#o.fence, [], missed);
    const recorded = missed.filter((o) => result.inserted.has(o.taskId)).length;
    this.#o.metrics.missed.inc(recorded);
    this.#o.metrics.fired('missed', recorded);
  }

  async #track(): Promise<void> {
    this.#lastTrack = performance.now();
    const freed = await this.#runs.poll();
    this.#progress();
    await this.#dispatcher.releaseBuffered(freed);
  }

  /** Schedules whose pause has ended are resumed (recorded as by the beat itself). */
  async #resumeEndedPauses(): Promise<void> {
    const resumed = await this.#pauseEnds.step(this.#clock.now());
    if (resumed.length > 0) this.log.info({ schedules: resumed }, 'resumed by itself: the pause has ended');
  }

  async #reconcile(): Promise<void> {
    this.#pauseEnds.stale();
    await this.#clock.measure();
    await this.#book.reconcile();
    this.#bookChanged = true;
    this.#lastReconcile = performance.now();
  }

  async #prune(): Promise<void> {
    this.#lastPrune = performance.now();
    if (!this.#o.prune) return;
    const pruned = await pruneOccurrences(this.#o.database, this.#o.prune);
    if (pruned.byAge + pruned.byCount > 0) this.log.info(pruned, 'pruned finished occurrences');
    const alerts = await pruneAlerts(this.#o.database, this.#o.prune.maxAgeMs);
    if (alerts > 0) this.log.info({ alerts }, 'pruned alerts delivered long ago');
  }

  /** Sleep until the earliest of: the next due schedule, a retry, tracking, the max sleep; or a wake-up. */
  async #sleep(now: number): Promise<void> {
    const mono = performance.now();
    const nextDue = this.#book.peekTime();
    // Rows waiting to be re-read (a burst, read a batch per turn): no sleep until they are.
    let delay = this.#book.hasDirty ? 0 : this.#o.maxSleepMs;
    let towardFire = false;
    // The next claim is due the lookahead before its instant; the next send at its instant.
    const nextClaim = nextDue === undefined ? undefined : nextDue - this.#claimAheadMs;
    if (nextClaim !== undefined && nextClaim - now < delay) delay = Math.max(0, nextClaim - now);
    const nextSend = this.#ahead.nextFireAt();
    if (nextSend !== undefined && nextSend - now <= delay) {
      delay = Math.max(0, nextSend - now);
      towardFire = true;
    }
    const pauseEnd = this.#pauseEnds.nextAt;
    if (pauseEnd !== undefined && pauseEnd - now < delay) delay = Math.max(0, pauseEnd - now);
    const retry = this.#dispatcher.nextRetryAt();
    if (retry !== undefined) delay = Math.min(delay, Math.max(0, retry - mono));
    const backfill = this.#adopted ? this.#backfills.msUntilNext() : undefined;
    if (backfill !== undefined) delay = Math.min(delay, Math.max(0, backfill));
    if (this.#runs.size > 0) delay = Math.min(delay, Math.max(0, this.#lastTrack + this.#o.trackMs - mono));
    const intended = mono + delay;
    await this.#sleepFor(delay);
    this.#progress();
    if (towardFire) this.#o.metrics.wakeupLag.observe(Math.max(0, performance.now() - intended) / 1000);
  }

  #sleepFor(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  /**
   * When nothing is due within the lookahead, the schedules of a coming herd beyond it are claimed
   * early enough that all of them are claimed before their instant (herd-window.ts), a batch per
   * turn, so what is due meanwhile still goes at its instant. True when a batch was claimed.
   */
  async #claimHerd(now: number): Promise<boolean> {
    if (performance.now() < this.#herdPausedUntil || !this.#active) return false;
    const until = herdClaimUntil({
      now,
      baseMs: this.#claimAheadMs,
      maxMs: this.#herdMaxMs,
      claimsPerSecond: this.#claimRate.dependable,
      countInSecond: (second) => this.#book.countInSecond(second),
    });
    if (until === undefined) return false;
    // A schedule with maxRuns is claimed at its instant (batch.ts), never early with a herd.
    const ids = this.#book
      .due(until, this.#o.batchSize, now + this.#claimAheadMs)
      .filter((id) => this.#book.entry(id)?.record.maxRuns === null);
    const claimed = ids.length > 0 && (await this.#tick(ids, now, until - now)) > 0;
    // Only schedules that are looked at again later (out of catch-up budget): not before a second.
    if (!claimed) this.#herdPausedUntil = performance.now() + 1_000;
    return claimed;
  }

  /**
   * One batch: plan each due schedule, claim in one transaction (up to `aheadMs` before the
   * instant), then dispatch what is due now and hold the rest for its instant. Returns how many
   * schedules it advanced.
   */
  async #tick(ids: number[], now: number, aheadMs: number): Promise<number> {
    const started = performance.now();
    this.#refillCatchup();
    const due = ids.map((id) => ({ id, loaded: this.#book.entry(id) }));
    const plan = planBatch({
      due,
      now,
      graceMs: this.#o.graceMs,
      claimAheadMs: aheadMs,
      indexAheadMs: this.#claimAheadMs,
      catchup: this.#catchupBudget(),
    });
    for (const id of plan.dropped) this.#book.drop(id);
    for (const { id, error } of plan.failed) this.#book.leaveOut(id, error);
    for (const { id, at } of plan.recheck) this.#book.recheckAt(id, at);
    if (plan.advances.length === 0) return 0;
    const result = await claim(this.#o.database, this.#o.fence, plan.advances, plan.occurrences);
    this.#progress();
    for (const a of plan.advances) {
      const version = result.advanced.get(a.scheduleId);
      // Edited meanwhile: the edit wins; re-read it instead of claiming.
      if (version === undefined) this.#book.markDirty(a.scheduleId);
      else this.#book.advanced(a.scheduleId, { ...a, version });
    }
    const inserted = plan.occurrences.filter((o) => result.inserted.has(o.taskId));
    const missed = inserted.filter((o) => o.status === 'missed').length;
    if (missed > 0) {
      this.#o.metrics.missed.inc(missed);
      this.#o.metrics.fired('missed', missed);
    }
    const skipped = inserted.filter((o) => o.status === 'skipped').length;
    if (skipped > 0) this.#o.metrics.fired('skipped', skipped);
    const snapshot = new Map(due.map((d) => [d.id, d.loaded]));
    const requests: DispatchRequest[] = [];
    for (const o of inserted) {
      const loaded = snapshot.get(o.scheduleId);
      if (o.status !== 'claimed' || !loaded) continue;
      requests.push({ ...o, schedule: loaded, force: false, fresh: true });
    }
    await this.#sendOrHold(requests);
    // What a batch of claims costs the loop: the plan, the claim, and its messages prepared.
    this.#claimRate.observe(plan.occurrences.length, performance.now() - started);
    return plan.advances.length;
  }

  /** What is due now is dispatched; what is not is held for its instant (never sent early). */
  async #sendOrHold(requests: DispatchRequest[]): Promise<void> {
    const now = this.#clock.now();
    const ahead = this.#dispatcher.prepare(requests.filter((r) => r.fireAt > now));
    // Held claims are judged against the book (takeBack): it must know their schedules, also those
    // it does not hold (taken over from an earlier term, or far once claimed).
    for (const r of ahead) this.#book.remember(r.schedule);
    this.#ahead.add(ahead);
    // A claim taken over with a skip pending (the claim's own skips are consumed as it is made):
    // the next look at the held claims records it skipped.
    if (ahead.some((r) => r.schedule.record.skipCount > 0)) this.#bookChanged = true;
    const due = ahead.length === 0 ? requests : requests.filter((r) => r.fireAt <= now);
    if (due.length > 0) await this.#dispatcher.dispatch(due);
  }

  /**
   * The catch-up runs a schedule may take now (only policy `all` uses it). Catching up never means
   * overlapping: unless runs may overlap, one catch-up run at a time, and the next only once the
   * previous one has finished. The busy schedules are looked up once per tick, and only if needed.
   */
  #catchupBudget(): { available(record: ScheduleRecord): number; spend(runs: number): void } {
    let busy: Set<string> | undefined;
    return {
      available: (record) => {
        const tokens = Math.floor(this.#catchupTokens);
        if (record.overlap === 'allow' || record.catchup !== 'all') return tokens;
        busy ??= this.#dispatcher.busyScopes();
        return busy.has(lockKey(record)) ? 0 : Math.min(1, tokens);
      },
      spend: (runs) => {
        this.#catchupTokens -= runs;
      },
    };
  }

  #refillCatchup(): void {
    const mono = performance.now();
    const rate = this.#o.catchupRatePerSecond;
    this.#catchupTokens = Math.min(
      rate,
      this.#catchupTokens + ((mono - this.#catchupRefilledAt) / 1000) * rate,
    );
    this.#catchupRefilledAt = mono;
  }

  /** Claimed occurrences nobody is sending (manual runs, lost claims): take them over and send them. */
  async #sweep(): Promise<void> {
    this.#pickUpClaims = false;
    this.#lastSweep = performance.now();
    const known = this.#dispatcher.known();
    for (const id of this.#ahead.taskIds()) known.add(id);
    const stranded = await this.#ledger.strandedClaims(known, STRANDED_AFTER_MS, {
      earlierTerms: this.#adopted,
    });
    if (stranded.length === 0) return;
    this.log.info(
      { occurrences: stranded.length },
      'sending claimed occurrences nobody was sending (same task ids)',
    );
    await this.#resend(stranded);
  }

  async #resend(claimed: UnfinishedOccurrence[]): Promise<void> {
    const now = this.#clock.now();
    const requests: DispatchRequest[] = [];
    const gone: string[] = [];
    const entries = await this.#book.entries(claimed.map((o) => o.scheduleId));
    for (const o of claimed) {
      const request = this.#requestFor(o, entries.get(o.scheduleId));
      if (!request) {
        gone.push(o.taskId);
        continue;
      }
      // A claim made ahead by an earlier term whose instant has not come cannot have been sent: if
      // the schedule no longer wants it (paused, disabled, re-timed) it is recorded, not sent. One
      // whose instant has passed may have gone out before that term ended: it is re-sent with its
      // task id, and the dispatcher first asks the broker (locate) whether it is there already.
      const reason =
        request.manual || request.fireAt <= now ? null : takenAwayBecause(request, request.schedule);
      if (reason === null) requests.push(request);
      else {
        const status = reason.startsWith(CALENDAR_TAKEN_BACK) ? 'skipped' : 'missed';
        this.#writer.add({ taskIds: [o.taskId], status, from: ['claimed'], error: reason });
      }
    }
    this.#writer.add({
      taskIds: gone,
      status: 'failed',
      from: ['claimed', 'buffered'],
      error: 'the schedule was removed (or is invalid) before this run was enqueued',
    });
    await this.#writer.flush();
    await this.#sendOrHold(requests);
  }

  /** `loaded`: the schedule, from the book or read for this (book.entries: it may not be near). */
  #requestFor(o: UnfinishedOccurrence, loaded: LoadedSchedule | undefined): DispatchRequest | undefined {
    if (!loaded) return undefined;
    return {
      taskId: o.taskId,
      scheduleId: o.scheduleId,
      scheduledFor: o.scheduledFor,
      fireAt: o.fireAt,
      manual: o.manual,
      force: o.force,
      fresh: false,
      backfill: o.backfill,
      schedule: loaded,
    };
  }

  /**
   * What earlier terms left unfinished: re-send claims, keep buffered ones, follow runs in flight.
   * A claim this process already sent (its write is inherited, still to land) is followed, not sent.
   */
  async #adopt(unfinished: UnfinishedOccurrence[]): Promise<void> {
    const claimed: UnfinishedOccurrence[] = [];
    const sentHere = this.#writer.sentTaskIds();
    const entries = await this.#book.entries(unfinished.map((o) => o.scheduleId));
    for (const o of unfinished) {
      const loaded = entries.get(o.scheduleId);
      if (o.status === 'claimed' && sentHere.has(o.taskId)) {
        if (!this.#o.transport.finishedOnEnqueue) this.#followAdopted(o, loaded);
      } else if (o.status === 'claimed') claimed.push(o);
      else if (o.status === 'buffered') {
        const request = this.#requestFor(o, loaded);
        if (request) this.#dispatcher.adoptBuffered(request);
      } else {
        this.#followAdopted(o, loaded);
      }
    }
    if (claimed.length > 0) {
      this.log.info(
        { occurrences: claimed.length },
        're-sending occurrences claimed but never enqueued (same task ids)',
      );
      await this.#resend(claimed);
    }
  }

  /**
   * A run an earlier term enqueued: follow it to its end, holding its lock by its task id. A run of a
   * schedule that is gone is still followed, to record how it ended, but holds nothing.
   */
  #followAdopted(o: UnfinishedOccurrence, loaded: LoadedSchedule | undefined): void {
    if (!loaded) {
      const now = Date.now();
      this.#runs.add({
        taskId: o.taskId,
        scheduleId: o.scheduleId,
        scheduleName: '',
        scope: `schedule:${o.scheduleId}`,
        item: null,
        lock: null,
        extendMs: 1_000,
        leaseEndsAt: now,
        holdUntil: now,
        state: 'unknown',
        recordedRunning: o.status === 'running',
      });
      return;
    }
    const record = loaded.record;
    // enqueuedAt is database time; lock expiries and hold limits are on this process's clock.
    const toWall = (dbMs: number) => dbMs - (this.#clock.now() - Date.now());
    const enqueuedAt = o.enqueuedAt ?? this.#clock.now();
    const next = loaded.schedule.next(o.scheduledFor);
    const leaseEndsAt = toWall(enqueuedAt + lockLeaseMs(record, next, enqueuedAt));
    const lock =
      record.overlap === 'allow'
        ? null
        : this.#o.locks.handleFor(
            lockKey(record),
            o.taskId,
            `${this.#o.fence.holder} epoch ${this.epoch}`,
            leaseEndsAt,
          );
    this.#runs.add({
      taskId: o.taskId,
      scheduleId: o.scheduleId,
      scheduleName: record.name,
      scope: lockKey(record),
      item: enqueueItem(record, o),
      lock,
      extendMs: extensionMs(record, o.scheduledFor, next),
      leaseEndsAt,
      holdUntil: toWall(enqueuedAt) + holdMs(record, this.#o.maxRunHoldMs),
      state: o.status === 'running' ? 'active' : 'unknown',
      recordedRunning: o.status === 'running',
    });
  }
}
