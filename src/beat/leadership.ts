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
 * - Standbys LISTEN for the hand-over notice and otherwise sleep until the lease they saw expires
 *   (bounded by TTL/4), so a crashed leader is replaced about one TTL after its last renewal.
 * - stop() releases the lease and notifies, so a standby takes over within a second.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { type SQL, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { databaseErrorText } from '../db/errors.ts';

export const LEADER_CHANNEL = 'metronome_leader';

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
  /** Called when this process becomes the leader, with its epoch. */
  onElected: (epoch: number) => void | Promise<void>;
  /** Called when this process stops leading (renewal failed, stall, shutdown). */
  onDemoted: (reason: string) => void | Promise<void>;
  holderId?: string;
}

export class Leadership {
  readonly holderId: string;
  readonly #o: LeadershipOptions;
  #leading = false;
  #epoch = 0;
  /** Monotonic instant until which dispatching is safe. */
  #validUntil = 0;
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
    return this.#leading && performance.now() < this.#validUntil;
  }

  async start(): Promise<void> {
    await this.#o.connection.rows(
      sql`insert into metronome.leader (grp, epoch) values (${this.#o.group}, 0) on conflict (grp) do nothing`,
    );
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
    await this.#busy;
    if (this.#leading) {
      const epoch = this.#epoch;
      await this.#demote('shutting down');
      try {
        await this.#query(sql`
          update metronome.leader set holder = null, expires_at = null
          where grp = ${this.#o.group} and holder = ${this.holderId} and epoch = ${epoch}`);
        await this.#query(sql`select pg_notify(${LEADER_CHANNEL}, ${this.#o.group})`);
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
      const sent = performance.now();
      let renewed = false;
      try {
        const rows = await this.#query<{ epoch: string | number }>(sql`
          update metronome.leader set expires_at = clock_timestamp() + ${ttl} * interval '1 millisecond'
          where grp = ${this.#o.group} and holder = ${this.holderId} and epoch = ${this.#epoch}
            and expires_at > clock_timestamp()
          returning epoch`);
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
    // Standing by: try to take the lease if it is free or expired.
    const sent = performance.now();
    try {
      const taken = await this.#query<{ epoch: string | number }>(sql`
        update metronome.leader
        set holder = ${this.holderId}, epoch = epoch + 1,
            expires_at = clock_timestamp() + ${ttl} * interval '1 millisecond'
        where grp = ${this.#o.group}
          and (holder is null or expires_at is null or expires_at <= clock_timestamp() or holder = ${this.holderId})
        returning epoch`);
      this.#healthy = true;
      if (taken.length === 1 && !this.#stopped) {
        this.#epoch = Number(taken[0]?.epoch);
        this.#validUntil = sent + ttl * 0.9;
        this.#leading = true;
        this.#lastBeat = performance.now();
        this.#o.log.info({ epoch: this.#epoch, holder: this.holderId }, 'leading');
        this.#schedule(ttl / 3);
        await this.#o.onElected(this.#epoch);
        return;
      }
      // Someone else leads: wake up when their lease would expire (bounded), or on a hand-over notice.
      const [lease] = await this.#query<{ remaining: string | number | null }>(sql`
        select (extract(epoch from (expires_at - clock_timestamp())) * 1000)::float8 as remaining
        from metronome.leader where grp = ${this.#o.group}`);
      const remaining =
        lease?.remaining === null || lease?.remaining === undefined ? 0 : Number(lease.remaining);
      this.#schedule(Math.max(20, Math.min(ttl / 4, remaining + 20)));
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

  async #demote(reason: string): Promise<void> {
    if (!this.#leading) return;
    this.#leading = false;
    this.#validUntil = 0;
    this.#o.log.warn({ epoch: this.#epoch, reason }, 'stepped down');
    await this.#o.onDemoted(reason);
  }

  #noteError(error: unknown): void {
    this.#healthy = false;
    this.#lastError = databaseErrorText(error);
    this.#o.log.warn({ err: error }, 'leader lease check failed');
  }
}
