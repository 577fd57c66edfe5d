/**
 * The beat: stands by until elected, then runs one leader term (term.ts) until it is demoted.
 * This class owns what lives as long as the process: the leadership, the metrics and readiness. A
 * term owns what lives as long as one leadership: the schedules in memory, the runs in flight, the
 * tick loop.
 *
 * Leadership must not outlive a stuck loop: the lease is renewed only while the term's loop makes
 * progress (a tick stuck on a call that never returns gives the lease up, and another beat leads).
 */
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';
import type { RunLocks } from '../locks/index.ts';
import type { Transport } from '../transports/transport.ts';
import type { DatabaseClock } from './clock.ts';
import type { Liveness, Readiness } from './health.ts';
import { Leadership, type LeaseConnection } from './leadership.ts';
import type { StatusWrite } from './ledger-writer.ts';
import type { BeatMetrics } from './metrics.ts';
import { LeaderTerm, type TermSettings } from './term.ts';

export interface BeatOptions extends Omit<TermSettings, 'maxRunHoldMs' | 'sweepMs'> {
  database: Database;
  leaseConnection: LeaseConnection;
  transport: Transport;
  locks: RunLocks;
  log: Logger;
  metrics: BeatMetrics;
  group: string;
  leaseTtlMs: number;
  /** Longest a run lock is extended for an active-looking run with no hard time limit. */
  maxRunHoldMs?: number;
  /** How often claimed occurrences nobody is sending are looked for (default 5 s). */
  sweepMs?: number;
  /** A leader whose tick loop made no progress for this long is wedged (liveness); default 30 s. */
  stallMs?: number;
  /**
   * How long a demotion (and so SIGTERM) waits for a tick loop stuck in a call that never returns
   * before handing over anyway (the loop is left fenced); default 5 s.
   */
  stopTimeoutMs?: number;
  holderId?: string;
  /** The clock of each term (clock.ts); default measured on `database`. For tests of timing. */
  clock?: () => DatabaseClock;
}

export class Beat {
  readonly #o: BeatOptions;
  readonly #leadership: Leadership;
  #term: LeaderTerm | undefined;
  #stopping = false;
  /** Status writes the last term could not land, for the next (see LedgerWriter). */
  #leftover: StatusWrite[] = [];

  constructor(options: BeatOptions) {
    this.#o = options;
    this.#leadership = new Leadership({
      connection: options.leaseConnection,
      group: options.group,
      ttlMs: options.leaseTtlMs,
      log: options.log,
      holderId: options.holderId,
      onElected: (epoch, takeover) => this.#onElected(epoch, takeover.previousExpiresAt),
      onDemoted: (reason) => this.#onDemoted(reason),
      unfitReason: () => this.#unfitReason(),
    });
    options.metrics.leader.set(0);
  }

  get leading(): boolean {
    return this.#leadership.leading;
  }

  get holderId(): string {
    return this.#leadership.holderId;
  }

  async start(): Promise<void> {
    await this.#leadership.start();
  }

  /** Stop ticking and hand the lease over (release + notify) so a standby leads within a second. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#leadership.stop();
  }

  /** Wedged: leading, and the tick loop has made no progress within `stallMs` (for /healthz). */
  liveness(): Liveness {
    const stallMs = this.#o.stallMs ?? 30_000;
    const stalled = this.stalledForMs();
    const reasons =
      this.#leadership.leading && stalled > stallMs
        ? [`tick loop has not turned for ${Math.round(stalled / 1000)}s (bound ${stallMs / 1000}s)`]
        : [];
    return { live: reasons.length === 0, reasons };
  }

  /** Fit to lead (for /readyz): the database answers, and a leader's runs are going out. */
  readiness(): Readiness {
    const reasons: string[] = [];
    if (!this.#leadership.healthy)
      reasons.push(`database unreachable: ${this.#leadership.lastError ?? 'unknown error'}`);
    if (this.#leadership.leading && this.#term) reasons.push(...this.#term.troubles());
    reasons.push(...this.liveness().reasons);
    const role = this.#stopping ? 'stopping' : this.#leadership.leading ? 'leader' : 'standby';
    return { ready: reasons.length === 0 && !this.#stopping, role, reasons };
  }

  /** How long the leading term's loop has made no progress (0 when standing by). */
  stalledForMs(): number {
    return this.#term?.stalledForMs() ?? 0;
  }

  /** The longest a loop may go without progress before its leadership is given up. */
  get stallLimitMs(): number {
    return Math.max(this.#o.leaseTtlMs, 5_000);
  }

  #unfitReason(): string | null {
    const stalled = this.stalledForMs();
    return stalled > this.stallLimitMs
      ? `the tick loop made no progress for ${Math.round(stalled)} ms`
      : null;
  }

  async #onElected(epoch: number, previousExpiresAt: number | null): Promise<void> {
    const o = this.#o;
    // A term still here (its end not yet seen: fenced, or demoted while it started) ends first, side
    // loops and all, so no two terms of this process ever run at once.
    const previous = this.#term;
    this.#term = undefined;
    if (previous) this.#leftover.push(...(await previous.stop(o.stopTimeoutMs ?? 5_000)));
    const term: LeaderTerm = new LeaderTerm({
      database: o.database,
      transport: o.transport,
      locks: o.locks,
      metrics: o.metrics,
      log: o.log,
      fence: { group: o.group, holder: this.#leadership.holderId, epoch },
      leaseValid: () => this.#leadership.canDispatch(),
      // Only the current term's fence means this beat lost the lease.
      onFenced: (reason) => {
        if (this.#term === term) void this.#leadership.stepDown(reason);
      },
      graceMs: o.graceMs,
      batchSize: o.batchSize,
      claimAheadMs: o.claimAheadMs,
      claimRate: o.claimRate,
      clock: o.clock?.(),
      catchupRatePerSecond: o.catchupRatePerSecond,
      reconcileMs: o.reconcileMs,
      trackMs: o.trackMs,
      maxSleepMs: o.maxSleepMs,
      maxRunHoldMs: o.maxRunHoldMs ?? 86_400_000,
      sweepMs: o.sweepMs ?? 5_000,
      book: o.book,
      earlierTermsAfter: previousExpiresAt,
      inherited: this.#leftover.splice(0),
      prune: o.prune,
      alerts: o.alerts,
    });
    this.#term = term;
    o.metrics.leader.set(1);
    o.metrics.epoch.set(epoch);
    const started = await term.start();
    if (!started && this.#term === term && this.#leadership.leading) {
      await this.#leadership.stepDown('start-up failed');
    }
  }

  async #onDemoted(reason: string): Promise<void> {
    this.#o.metrics.leader.set(0);
    const term = this.#term;
    this.#term = undefined;
    (term?.log ?? this.#o.log).info({ reason }, 'standing by');
    // A stuck loop is left fenced rather than waited for: the hand-over must not hang on it.
    this.#leftover.push(...((await term?.stop(this.#o.stopTimeoutMs ?? 5_000)) ?? []));
  }
}
