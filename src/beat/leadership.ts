/**
 * Leader election on a lease row in Postgres, measured on database time.
 *
 * - Taking the lease bumps `epoch`, the fencing token every claim transaction checks.
 * - The leader renews every TTL/3 on a dedicated connection and steps down at once when a renewal
 *   fails or finds the lease gone, or when its event loop stalled past TTL/3 (a paused process may
 *   have lost the lease while it was stopped).
 * - `canDispatch()` is the local half of the fence: a dispatch is allowed only while the last
 *   successful renewal, counted from when it was *sent*, is younger than the TTL minus a margin, on
 *   the monotonic clock. A process woken from SIGSTOP fails it before it can enqueue anything.
 * - Standbys LISTEN for the hand-over notice and otherwise look at the lease every STANDBY_POLL_MS:
 *   a holder whose lease session is gone from pg_stat_activity crashed (Postgres closed its
 *   connection), and is replaced at once; a holder that is paused keeps its session and is replaced
 *   when its lease expires. On a takeover from a crashed holder the new leader learns when the old
 *   lease would have ended, and waits for it before re-sending the old leader's claims.
 * - stop() releases the lease and notifies, so a standby takes over within a second.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { SQL } from 'drizzle-orm';
import type { Logger } from 'pino';
import { LEADER_CHANNEL } from '../db/channels.ts';
import { databaseErrorText } from '../db/errors.ts';
import {
  ensureLeaseRow,
  notifyLeaseReleased,
  releaseLease,
  renewLease,
  takeLease,
} from '../db/sql/leader.ts';

/** The demotion reason of a clean stop (SIGTERM): the only one that lets the last turn finish. */
const SHUTTING_DOWN = 'shutting down';
/** How often a standby looks at the lease (and whether its holder's session still exists). */
const STANDBY_POLL_MS = 250;

/** The SQL surface leadership needs: a dedicated connection, and LISTEN. */
export interface LeaseConnection {
  rows<T = Record<string, unknown>>(query: SQL): Promise<T[]>;
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
}

export interface LeadershipOptions {
  connection: LeaseConnection;
  group: string;
  ttlMs: number;
  log: Logger;
  /**
   * Called when this process becomes the leader, with its epoch and, when it took over from a holder
   * whose session was gone before its lease ended, when that lease would have ended (database ms).
   */
  onElected: (epoch: number, takeover: { previousExpiresAt: number | null }) => void | Promise<void>;
  /** Called when this process stops leading (renewal failed, stall, shutdown). */
  onDemoted: (reason: string) => void | Promise<void>;
  /**
   * Asked before every renewal: a reason this process should not keep leading (its tick loop is
   * stuck), or null. A leader that is unfit stops renewing and steps down; the lease then expires
   * and another beat leads.
   */
  unfitReason?: () => string | null;
  holderId?: string;
}

export class Leadership {
  readonly holderId: string;
  readonly #o: LeadershipOptions;
  #leading = false;
  #epoch = 0;
  /** Monotonic instant until which dispatching is safe. */
  #validUntil = 0;
  /** A clean stop is under way: the lease is still ours until it is released (see #demote). */
  #handingOver = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #stallTimer: NodeJS.Timeout | undefined;
  #lastBeat = 0;
  #unlisten: (() => Promise<void>) | undefined;
  #healthy = true;
  #lastError: string | undefined;
  #busy: Promise<void> = Promise.resolve();

  constructor(options: LeadershipOptions) {
    this.#o = options;
    this.holderId = options.holderId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  }

  get leading(): boolean {
    return this.#leading;
  }

  get epoch(): number {
    return this.#epoch;
  }

  /** Whether the last lease check reached the database (a standby that cannot is not ready). */
  get healthy(): boolean {
    return this.#healthy;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Leading, and the lease is certainly still ours by the local monotonic clock. */
  canDispatch(): boolean {
    return (this.#leading || this.#handingOver) && performance.now() < this.#validUntil;
  }

  async start(): Promise<void> {
    await this.#o.connection.rows(ensureLeaseRow(this.#o.group));
    this.#unlisten = await this.#o.connection.listen(LEADER_CHANNEL, (payload) => {
      if (payload === this.#o.group && !this.#leading && !this.#stopped) this.#schedule(0);
    });
    this.#lastBeat = performance.now();
    this.#stallTimer = setInterval(() => this.#checkStall(), 100);
    this.#stallTimer.unref();
    this.#schedule(0);
  }

  /** Stop leading now (the tick was fenced, or could not start); stand by and try again later. */
  async stepDown(reason: string): Promise<void> {
    await this.#demote(reason);
    this.#schedule(Math.min(this.#o.ttlMs / 4, 1000));
  }

  /** Stop: release the lease (if held) and tell standbys, so one takes over at once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#stallTimer);
    // A step may be stuck (starting to lead on a database that does not answer): wait for it only
    // so long, so the hand-over always finishes.
    await Promise.race([
      this.#busy,
      new Promise((resolve) => setTimeout(resolve, this.#o.ttlMs / 2).unref()),
    ]);
    if (this.#leading) {
      const epoch = this.#epoch;
      await this.#demote(SHUTTING_DOWN);
      try {
        await this.#query(releaseLease(this.#o.group, this.holderId, epoch));
        await this.#query(notifyLeaseReleased(this.#o.group));
        this.#o.log.info({ epoch }, 'released the leader lease');
      } catch (error) {
        this.#o.log.warn({ err: error }, 'could not release the leader lease; it will expire');
      }
    }
    await this.#unlisten?.().catch(() => {});
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#busy = this.#step().catch((error: unknown) => {
        this.#o.log.error({ err: error }, 'leadership step failed');
      });
    }, delayMs);
  }

  async #step(): Promise<void> {
    if (this.#stopped) return;
    const ttl = this.#o.ttlMs;
    if (this.#leading) {
      const unfit = this.#o.unfitReason?.() ?? null;
      if (unfit) {
        // Not released: a call stuck in the loop may still complete; letting the lease run out
        // gives it that long before another beat adopts what this one claimed.
        await this.#demote(unfit);
        this.#schedule(ttl);
        return;
      }
      const sent = performance.now();
      let renewed = false;
      try {
        const rows = await this.#query<{ epoch: string | number }>(
          renewLease(this.#o.group, this.holderId, this.#epoch, ttl),
        );
        renewed = rows.length === 1;
        this.#healthy = true;
      } catch (error) {
        this.#noteError(error);
      }
      if (renewed && this.#leading) {
        this.#validUntil = sent + ttl * 0.9;
        this.#schedule(ttl / 3);
      } else if (this.#leading) {
        await this.#demote(renewed ? 'stopped' : 'lease renewal failed');
        this.#schedule(Math.min(ttl / 4, 1000));
      }
      return;
    }
    // Standing by: take the lease if it is free, expired, or its holder's lease session is gone
    // (a crashed holder: Postgres closed its connection, so its backend left pg_stat_activity). A
    // holder that is only paused keeps its session, and its lease, until the lease runs out.
    const sent = performance.now();
    try {
      const taken = await this.#query<{ epoch: string | number; previous: string | number | null }>(
        takeLease(this.#o.group, this.holderId, ttl),
      );
      this.#healthy = true;
      if (taken.length === 1 && !this.#stopped) {
        const row = taken[0] as { epoch: string | number; previous: string | number | null };
        this.#epoch = Number(row.epoch);
        this.#validUntil = sent + ttl * 0.9;
        this.#leading = true;
        this.#lastBeat = performance.now();
        const previousExpiresAt = row.previous === null ? null : Number(row.previous);
        this.#o.log.info(
          {
            epoch: this.#epoch,
            holder: this.holderId,
            ...(previousExpiresAt === null ? {} : { tookOverFromCrashed: true }),
          },
          'leading',
        );
        this.#schedule(ttl / 3);
        await this.#o.onElected(this.#epoch, { previousExpiresAt });
        return;
      }
      // Someone else leads: look again shortly (a crash shows as its session closing), or on a
      // hand-over notice.
      this.#schedule(Math.min(STANDBY_POLL_MS, ttl / 4));
    } catch (error) {
      this.#noteError(error);
      this.#schedule(Math.min(ttl / 4, 1000));
    }
  }

  /**
   * A lease query that does not answer within half the TTL counts as failed: a connection that hangs
   * (a half-open socket, a stuck reconnect) must never stall leadership. The query itself may still
   * finish later; only its answer is ignored, and the next step decides afresh.
   */
  #query<T = Record<string, unknown>>(query: SQL): Promise<T[]> {
    const limit = Math.max(1_000, this.#o.ttlMs / 2);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the lease query got no answer within ${limit} ms`)), limit);
    });
    return Promise.race([this.#o.connection.rows<T>(query), timeout]).finally(() => clearTimeout(timer));
  }

  #checkStall(): void {
    const now = performance.now();
    const gap = now - this.#lastBeat;
    this.#lastBeat = now;
    if (this.#leading && gap > this.#o.ttlMs / 3) {
      this.#validUntil = 0;
      void this.#demote(`event loop stalled for ${Math.round(gap)} ms`).then(() => this.#schedule(0));
    }
  }

  /**
   * Stop leading. On a clean stop the lease is released only after this returns, so the turn under
   * way may still send what it claimed until the lease's local bound: a hand-over then leaves
   * nothing claimed. For any other reason (stall, renewal failed, fenced) the lease may already be
   * another's, and nothing more goes out.
   */
  async #demote(reason: string): Promise<void> {
    if (!this.#leading) return;
    const clean = reason === SHUTTING_DOWN;
    this.#leading = false;
    this.#handingOver = clean;
    if (!clean) this.#validUntil = 0;
    // A normal stop is no cause for alarm; losing the lease (stall, renewal failed, fenced) is.
    this.#o.log[clean ? 'info' : 'warn']({ epoch: this.#epoch, reason }, 'stepped down');
    try {
      await this.#o.onDemoted(reason);
    } finally {
      this.#handingOver = false;
      this.#validUntil = 0;
    }
  }

  #noteError(error: unknown): void {
    this.#healthy = false;
    this.#lastError = databaseErrorText(error);
    this.#o.log.warn({ err: error }, 'leader lease check failed');
  }
}
