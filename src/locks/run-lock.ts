/**
 * Run locks: the lock per schedule that keeps executions from overlapping (docs/locks.md; promise 3 in docs/runtime.md).
 * The beat takes it before enqueueing a run and gives it back when the run is observed finished or
 * its run lease expires. Two implementations: Redlock over one or several Redis servers
 * (`redlock.ts`) and an in-memory one for the embedded default (`in-process.ts`).
 *
 * A run usually finishes long after the tick that started it, possibly after the beat restarted or
 * another beat took over leadership, so a lock is represented by a plain JSON object (the handle)
 * that the runtime stores with the occurrence and hands back, to any RunLocks instance, later.
 */

/** A held run lock. Plain JSON: persist it with the occurrence and release/extend it from anywhere. */
export interface RunLockHandle {
  /** The lock's storage key: prefix + schedule key, e.g. `metronome:runlock:<schedule id>`. */
  readonly key: string;
  /** The schedule key the lock was taken for (what the caller passed to tryAcquire). */
  readonly scheduleKey: string;
  /**
   * The random token stored under the key. Extend and release only act when the stored token is
   * this one, so a handle can never touch a lock that expired and was taken by someone else.
   */
  readonly token: string;
  /** Who took it (e.g. `beat@host/pid epoch 7`), for logs and diagnostics; not used for checks. */
  readonly owner: string;
  /**
   * Until when (ms since the epoch, on the clock of the process that took or last extended it) the
   * lock is certainly still held: the TTL minus Redlock's allowance for clock drift. Past this
   * instant the handle counts as lost: `extend` returns null rather than trying.
   */
  readonly expiresAt: number;
}

export interface RunLocks {
  /**
   * Take the run lock of a schedule for `ttlMs`, trying once (no waiting and no retry loop: the tick
   * must not block). Resolves to null when someone else holds it; rejects with a
   * RunLockUnavailableError when the lock servers cannot answer (Redis down, no quorum), never
   * for "held".
   *
   * `token` (default: random) is what the lock holds. Pass a deterministic one — the occurrence's
   * task id — and the lock can be found again without the handle (see handleFor), and re-taken: when
   * the lock is already held *with this token* (a crashed or fenced leader took it for this same
   * occurrence), tryAcquire succeeds and restarts its TTL. Anyone holding the token can extend and
   * release the lock, so a token must name one run, never be shared by two.
   *
   * `options.retake` (default true with a token): whether the lock may already hold this token. A
   * caller that knows the token is new (a fresh occurrence, never sent before) passes false and
   * saves Redlock the re-take round trip.
   */
  tryAcquire(
    scheduleKey: string,
    ttlMs: number,
    owner: string,
    token?: string,
    options?: { retake?: boolean },
  ): Promise<RunLockHandle | null>;
  /**
   * tryAcquire for a batch, in one round trip per lock server: one answer per request, in order — a
   * handle, or null when someone else holds it. Rejects with a RunLockUnavailableError (for the whole
   * batch) when the lock servers cannot answer.
   */
  tryAcquireMany(requests: readonly LockRequest[], owner: string): Promise<Array<RunLockHandle | null>>;
  /** release for a batch, in one round trip per lock server; best-effort like release. */
  releaseMany(handles: readonly RunLockHandle[]): Promise<void>;
  /**
   * The handle of a lock taken with a known token (e.g. by the previous leader, for a run it
   * enqueued), to extend or release it. No I/O; whether the lock is still held shows when it is used.
   * `expiresAt` is the caller's best estimate of when it runs out (ms since the epoch).
   */
  handleFor(scheduleKey: string, token: string, owner: string, expiresAt: number): RunLockHandle;
  /**
   * Make a held lock last `ttlMs` from now, only if it is still ours (owner-checked by token,
   * unlike RedBeat). Resolves to the new handle (persist it in place of the old one), or null when
   * the lock was lost: expired (by the handle's `expiresAt`), released, or taken by someone else —
   * in which case nothing is changed. Rejects with a RunLockUnavailableError when the lock servers
   * cannot answer.
   */
  extend(handle: RunLockHandle, ttlMs: number): Promise<RunLockHandle | null>;
  /**
   * Give the lock back if it is still ours; a no-op when it already expired or belongs to someone
   * else. Rejects with a RunLockUnavailableError when the lock servers cannot answer — safe to
   * ignore (or retry): the lock then simply expires at the end of its TTL.
   */
  release(handle: RunLockHandle): Promise<void>;
  /**
   * Whether anyone holds the schedule's run lock now, i.e. whether tryAcquire would find it held
   * (for `buffer_one` and diagnostics). Rejects with a RunLockUnavailableError like tryAcquire.
   */
  isHeld(scheduleKey: string): Promise<boolean>;
  /** Close connections. Held locks are left to expire (runs in flight keep them). */
  close(): Promise<void>;
}

/** One lock of a tryAcquireMany batch (see tryAcquire for the fields' meaning). */
export interface LockRequest {
  scheduleKey: string;
  ttlMs: number;
  token: string;
  /** Whether the lock may already hold this token (false for a token never used before). */
  retake: boolean;
}

/** One lock server's failure, for RunLockUnavailableError. The URL has its password redacted. */
export interface RunLockServerFailure {
  readonly url: string;
  readonly error: string;
}

export type RunLockOperation = 'acquire' | 'extend' | 'release' | 'isHeld';

/**
 * The lock servers could not give an answer: Redis unreachable, timing out, or too few of the
 * Redlock servers answering for a quorum. Whether the lock is held is then unknown. The message names
 * the servers (passwords redacted) and what each one said.
 */
export class RunLockUnavailableError extends Error {
  override readonly name = 'RunLockUnavailableError';
  readonly operation: RunLockOperation;
  readonly key: string;
  readonly failures: readonly RunLockServerFailure[];

  constructor(
    message: string,
    details: { operation: RunLockOperation; key: string; failures: readonly RunLockServerFailure[] },
  ) {
    super(message);
    this.operation = details.operation;
    this.key = details.key;
    this.failures = details.failures;
  }
}

export const DEFAULT_RUN_LOCK_PREFIX = 'metronome:runlock:';

/** The lock TTL must be a whole, positive number of milliseconds (Redis `PX`). */
export function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`a run lock TTL must be a positive whole number of milliseconds, got ${ttlMs}`);
  }
}

export function checkScheduleKey(scheduleKey: string): void {
  if (typeof scheduleKey !== 'string' || scheduleKey.length === 0) {
    throw new TypeError('a run lock needs a non-empty schedule key');
  }
}

export function checkToken(token: string): void {
  if (typeof token !== 'string' || token.length === 0) {
    throw new TypeError('a run lock token must be a non-empty string');
  }
}

/** The handle of a lock taken with a known token under `prefix` (both implementations' handleFor). */
export function handleWithToken(
  prefix: string,
  scheduleKey: string,
  token: string,
  owner: string,
  expiresAt: number,
): RunLockHandle {
  checkScheduleKey(scheduleKey);
  checkToken(token);
  return { key: prefix + scheduleKey, scheduleKey, token, owner, expiresAt };
}

/**
 * Read a handle back from storage (e.g. an occurrence's jsonb column, or a JSON string). Throws a
 * TypeError naming the field when it is not a handle.
 */
export function parseRunLockHandle(input: unknown): RunLockHandle {
  const value: unknown = typeof input === 'string' ? JSON.parse(input) : input;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError('a run lock handle must be an object');
  }
  const record = value as Record<string, unknown>;
  for (const field of ['key', 'scheduleKey', 'token', 'owner'] as const) {
    if (typeof record[field] !== 'string' || (field !== 'owner' && record[field] === '')) {
      throw new TypeError(`a run lock handle needs a string "${field}"`);
    }
  }
  if (typeof record.expiresAt !== 'number' || !Number.isFinite(record.expiresAt)) {
    throw new TypeError('a run lock handle needs a numeric "expiresAt" (ms since the epoch)');
  }
  return {
    key: record.key as string,
    scheduleKey: record.scheduleKey as string,
    token: record.token as string,
    owner: record.owner as string,
    expiresAt: record.expiresAt,
  };
}
