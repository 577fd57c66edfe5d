/**
 * Run locks (docs/locks.md): `createRunLocks` picks Redlock over the given Redis URLs, or
 * the in-process table when there are none (the embedded default).
 */
import type { Logger } from '../logger.ts';
import { InProcessRunLocks } from './in-process.ts';
import { RedlockRunLocks } from './redlock.ts';
import type { RunLocks } from './run-lock.ts';

export { createInProcessLockStore, InProcessRunLocks } from './in-process.ts';
export { RedlockRunLocks } from './redlock.ts';
export type { RunLockHandle, RunLocks } from './run-lock.ts';
export { parseRunLockHandle, RunLockUnavailableError } from './run-lock.ts';

export interface CreateRunLocksOptions {
  /** `REDIS_URL`, or the servers of a Redlock quorum; none (or empty) → in-process locks. */
  redisUrls?: readonly string[];
  /** Key prefix; default `metronome:runlock:`. */
  prefix?: string;
  logger?: Logger;
}

export function createRunLocks(options: CreateRunLocksOptions = {}): RunLocks {
  const urls = (options.redisUrls ?? []).map((url) => url.trim()).filter((url) => url !== '');
  if (urls.length === 0) {
    return new InProcessRunLocks({ prefix: options.prefix });
  }
  return new RedlockRunLocks({ urls, prefix: options.prefix, logger: options.logger });
}
