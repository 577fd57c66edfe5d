/**
 * Run locks in memory, for the embedded default (one process, no Redis). Same semantics as the
 * Redlock implementation: real TTL expiry against Date.now(), a random token per acquisition, and
 * extend/release that only act on a lock still holding the handle's token.
 *
 * By default every instance in the process shares one table (the lock is per process, as the Redis
 * one is per Redis), so a RunLocks created after a step-down/re-election in the same process still
 * sees the locks of runs in flight. Instances are isolated by key prefix, or by passing a private
 * `store`.
 */
import { randomBytes } from 'node:crypto';
import {
  checkScheduleKey,
  checkToken,
  checkTtl,
  DEFAULT_RUN_LOCK_PREFIX,
  handleWithToken,
  type LockRequest,
  type RunLockHandle,
  type RunLocks,
} from './run-lock.ts';

interface Entry {
  token: string;
  owner: string;
  expiresAt: number;
}

/** A lock table. Keys are full lock keys (prefix + schedule key). */
export type InProcessLockStore = Map<string, Entry>;

const processStore: InProcessLockStore = new Map();

export function createInProcessLockStore(): InProcessLockStore {
  return new Map();
}

export interface InProcessRunLocksOptions {
  prefix?: string;
  /** The lock table; default the one shared by the whole process. */
  store?: InProcessLockStore;
  /** The clock (ms since the epoch); default Date.now. */
  now?: () => number;
}

const SWEEP_INTERVAL_MS = 10_000;

export class InProcessRunLocks implements RunLocks {
  readonly prefix: string;
  private readonly store: InProcessLockStore;
  private readonly now: () => number;
  private lastSweep = 0;

  constructor(options: InProcessRunLocksOptions = {}) {
    this.prefix = options.prefix ?? DEFAULT_RUN_LOCK_PREFIX;
    this.store = options.store ?? processStore;
    this.now = options.now ?? Date.now;
  }

  async tryAcquire(
    scheduleKey: string,
    ttlMs: number,
    owner: string,
    token?: string,
    _options: { retake?: boolean } = {},
  ): Promise<RunLockHandle | null> {
    checkScheduleKey(scheduleKey);
    checkTtl(ttlMs);
    if (token !== undefined) checkToken(token);
    const now = this.now();
    this.sweep(now);
    const key = this.prefix + scheduleKey;
    const current = this.store.get(key);
    if (current && current.expiresAt > now && current.token !== token) return null;
    // Free, expired, or already held with this very token (a re-take): hold it for ttlMs from now.
    const entry: Entry = { token: token ?? randomBytes(16).toString('hex'), owner, expiresAt: now + ttlMs };
    this.store.set(key, entry);
    return { key, scheduleKey, token: entry.token, owner, expiresAt: entry.expiresAt };
  }

  async tryAcquireMany(
    requests: readonly LockRequest[],
    owner: string,
  ): Promise<Array<RunLockHandle | null>> {
    const out: Array<RunLockHandle | null> = [];
    for (const r of requests) out.push(await this.tryAcquire(r.scheduleKey, r.ttlMs, owner, r.token));
    return out;
  }

  async releaseMany(handles: readonly RunLockHandle[]): Promise<void> {
    for (const handle of handles) await this.release(handle);
  }

  handleFor(scheduleKey: string, token: string, owner: string, expiresAt: number): RunLockHandle {
    return handleWithToken(this.prefix, scheduleKey, token, owner, expiresAt);
  }

  async extend(handle: RunLockHandle, ttlMs: number): Promise<RunLockHandle | null> {
    checkTtl(ttlMs);
    const now = this.now();
    const current = this.store.get(handle.key);
    if (!current || current.token !== handle.token || current.expiresAt <= now || handle.expiresAt <= now) {
      return null;
    }
    current.expiresAt = now + ttlMs;
    return { ...handle, expiresAt: current.expiresAt };
  }

  async release(handle: RunLockHandle): Promise<void> {
    const current = this.store.get(handle.key);
    if (current && current.token === handle.token) this.store.delete(handle.key);
  }

  async isHeld(scheduleKey: string): Promise<boolean> {
    checkScheduleKey(scheduleKey);
    const current = this.store.get(this.prefix + scheduleKey);
    return current !== undefined && current.expiresAt > this.now();
  }

  async close(): Promise<void> {
    // Nothing to close; locks of runs in flight stay (they belong to the process).
  }

  /** Drop expired entries now and then, so schedules that went away do not accumulate. */
  private sweep(now: number): void {
    if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
    this.lastSweep = now;
    for (const [key, entry] of this.store) {
      if (entry.expiresAt <= now) this.store.delete(key);
    }
  }
}
