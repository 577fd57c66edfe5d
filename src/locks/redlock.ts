/**
 * Run locks over Redis with the Redlock algorithm (Redis's "Distributed locks with Redis"): one Redis
 * server, or several independent ones for a quorum. Our own implementation, not a library's
 * (docs/locks.md says why): every operation is a batch, and a single lock is a batch of one.
 *
 * - A lock is held when a majority of servers took it (SET NX PX, or a re-take of our own token) and
 *   it is still valid after the round trip: valid until start + TTL − drift, the drift being 1 % of
 *   the TTL + 2 ms (Redis's expiry precision). Copies set on too few servers are given back at once.
 * - Extend and release act only where the stored token is the handle's, and need a majority to answer.
 * - Each operation is one atomic script per server (src/locks/lua/), sent to all servers at once.
 *
 * Try-once: the clients never queue or resend commands, so an operation takes one round trip to every
 * server (bounded by `commandTimeoutMs`) and an unreachable server fails at once instead of blocking
 * the tick. When a majority of servers answered, the answer is definitive ("held", "not ours any
 * more"); when too few did, the operation rejects with a RunLockUnavailableError naming them.
 */

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Redis, type Result } from 'ioredis';
import { type Logger, redactSecrets } from '../logger.ts';
import { settlesWithin } from '../settles-within.ts';
import {
  checkScheduleKey,
  checkToken,
  checkTtl,
  DEFAULT_RUN_LOCK_PREFIX,
  handleWithToken,
  type LockRequest,
  type RunLockHandle,
  type RunLockOperation,
  type RunLockServerFailure,
  type RunLocks,
  RunLockUnavailableError,
} from './run-lock.ts';

export interface RedlockRunLocksOptions {
  /** One Redis URL, or several independent servers for a Redlock quorum. All must use the same db. */
  urls: readonly string[];
  /** Key prefix; default `metronome:runlock:`. */
  prefix?: string;
  /** Redlock's allowance for clock drift, as a fraction of the TTL (plus 2 ms); default 0.01. */
  driftFactor?: number;
  /** How long one command may wait for a reply; default 500 ms. */
  commandTimeoutMs?: number;
  /** How long a connection attempt may take; also how long the first operation waits for it. Default 1000 ms. */
  connectTimeoutMs?: number;
  /** Longest pause between reconnection attempts to a server that went away; default 1000 ms. */
  reconnectMaxDelayMs?: number;
  /** Where connection losses and recoveries are logged (warn/info); default nowhere. */
  logger?: Logger;
}

const script = (name: string) => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');

/** Redlock's three operations on one server, each for a batch of keys (src/locks/lua/). */
const SCRIPTS = {
  metronomeLockAcquire: script('acquire-many.lua'),
  metronomeLockExtend: script('extend-many.lua'),
  metronomeLockRelease: script('release-many.lua'),
};

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS, then per key: ttl, token, retake (1/0). One 1 (taken) or 0 (held) per key. */
    metronomeLockAcquire(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number[], Context>;
    /** KEYS, then per key: ttl, token. One 1 (extended) or 0 (not ours) per key. */
    metronomeLockExtend(numKeys: number, ...keysAndArgs: Array<string | number>): Result<number[], Context>;
    /** KEYS, then per key: token. How many were released. */
    metronomeLockRelease(numKeys: number, ...keysAndArgs: string[]): Result<number, Context>;
  }
}

interface Server {
  client: Redis;
  /** The URL with its password replaced by `***`: the only form that goes into messages and logs. */
  url: string;
  down: boolean;
}

/** What a quorum of servers answered to one operation, and when it was sent. */
interface Answers<T> {
  answers: T[];
  start: number;
}

export class RedlockRunLocks implements RunLocks {
  readonly prefix: string;
  /** The servers' URLs, passwords redacted. */
  readonly urls: readonly string[];
  private readonly servers: Server[];
  private readonly quorum: number;
  private readonly driftFactor: number;
  /** Resolves once every server has either connected or failed to, the first time (bounded). */
  private readonly firstContact: Promise<void>;
  private closed = false;

  constructor(options: RedlockRunLocksOptions) {
    if (options.urls.length === 0) throw new Error('RedlockRunLocks needs at least one Redis URL');
    this.prefix = options.prefix ?? DEFAULT_RUN_LOCK_PREFIX;
    const commandTimeout = options.commandTimeoutMs ?? 500;
    const connectTimeout = options.connectTimeoutMs ?? 1000;
    const reconnectMaxDelay = options.reconnectMaxDelayMs ?? 1000;
    const logger = options.logger;

    this.servers = options.urls.map((rawUrl) => {
      const url = redactSecrets(rawUrl);
      const client = new Redis(rawUrl, {
        // Fail fast instead of waiting for a connection, and never replay a lock command later
        // (a replayed acquire would take a lock whose caller already gave up on it).
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        autoResendUnfulfilledCommands: false,
        commandTimeout,
        connectTimeout,
        retryStrategy: (times) => Math.min(times * 100, reconnectMaxDelay),
        connectionName: 'metronome-runlocks',
      });
      for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { lua });
      const server: Server = { client, url, down: false };
      // An 'error' listener is what keeps a dropped connection from crashing the process.
      client.on('error', (error: Error) => {
        if (server.down || this.closed) return;
        server.down = true;
        logger?.warn({ redis: url, err: redactSecrets(error.message) }, 'run lock Redis unreachable');
      });
      client.on('ready', () => {
        if (!server.down) return;
        server.down = false;
        logger?.info({ redis: url }, 'run lock Redis reachable again');
      });
      return server;
    });
    this.urls = this.servers.map((server) => server.url);

    // One lock table: servers that name different databases are most likely a typo in one URL.
    const dbs = new Set(this.servers.map((server) => server.client.options.db ?? 0));
    if (dbs.size > 1) {
      this.closeClientsNow();
      throw new Error(`the run lock Redis URLs select different databases (${[...dbs].join(', ')}); use one`);
    }
    this.quorum = Math.floor(this.servers.length / 2) + 1;
    this.driftFactor = options.driftFactor ?? 0.01;
    this.firstContact = Promise.all(
      this.servers.map((server) => firstContact(server.client, connectTimeout)),
    ).then(() => {});
  }

  async tryAcquire(
    scheduleKey: string,
    ttlMs: number,
    owner: string,
    token?: string,
    options: { retake?: boolean } = {},
  ): Promise<RunLockHandle | null> {
    const retake = token !== undefined && options.retake !== false;
    const request = { scheduleKey, ttlMs, token: token ?? randomBytes(16).toString('hex'), retake };
    const [acquired] = await this.acquire([request], owner);
    return acquired ?? null;
  }

  async tryAcquireMany(
    requests: readonly LockRequest[],
    owner: string,
  ): Promise<Array<RunLockHandle | null>> {
    return this.acquire(requests, owner);
  }

  handleFor(scheduleKey: string, token: string, owner: string, expiresAt: number): RunLockHandle {
    return handleWithToken(this.prefix, scheduleKey, token, owner, expiresAt);
  }

  async extend(handle: RunLockHandle, ttlMs: number): Promise<RunLockHandle | null> {
    checkTtl(ttlMs);
    // Past its validity the lock may have been taken over (Redlock's rule): lost, without asking.
    if (handle.expiresAt <= Date.now()) return null;
    const { answers, start } = await this.onEveryServer('extend', handle.key, (client) =>
      client.metronomeLockExtend(1, handle.key, ttlMs, handle.token),
    );
    if (this.votes(answers, 0) < this.quorum) return null;
    return { ...handle, expiresAt: this.validUntil(start, ttlMs) };
  }

  async release(handle: RunLockHandle): Promise<void> {
    await this.releaseMany([handle]);
  }

  /** Best-effort: a lock that is not ours (any more) is left alone; a lost one expires anyway. */
  async releaseMany(handles: readonly RunLockHandle[]): Promise<void> {
    if (handles.length === 0) return;
    const keys = handles.map((h) => h.key);
    const tokens = handles.map((h) => h.token);
    await this.onEveryServer('release', labelOf(keys), (client) =>
      client.metronomeLockRelease(keys.length, ...keys, ...tokens),
    );
  }

  async isHeld(scheduleKey: string): Promise<boolean> {
    checkScheduleKey(scheduleKey);
    const key = this.prefix + scheduleKey;
    const { answers } = await this.onEveryServer('isHeld', key, (client) => client.exists(key));
    // Held when an acquire could not get a majority of servers.
    return answers.filter((exists) => exists === 0).length < this.quorum;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.servers.map(async ({ client }) => {
        try {
          if (client.status === 'ready') await settlesWithin(client.quit(), 500);
        } catch {
          // Disconnect below either way.
        }
        client.disconnect();
      }),
    );
  }

  /**
   * Redlock's acquire for a batch: every server runs acquire-many.lua once; a lock is taken when a
   * quorum of servers took it, else it is held (null). Whatever was set on too few servers is given
   * back (best-effort: it expires anyway). When the round trip outlasted a lock's validity, whether
   * it is held is unknown: the whole batch is given back and rejects as unavailable (never "held",
   * which would skip the run as an overlap).
   */
  private async acquire(
    requests: readonly LockRequest[],
    owner: string,
  ): Promise<Array<RunLockHandle | null>> {
    if (requests.length === 0) return [];
    for (const r of requests) {
      checkScheduleKey(r.scheduleKey);
      checkTtl(r.ttlMs);
      checkToken(r.token);
    }
    const keys = requests.map((r) => this.prefix + r.scheduleKey);
    const args = requests.flatMap((r) => [r.ttlMs, r.token, r.retake ? 1 : 0]);
    const giveBack = (rs: readonly LockRequest[]) =>
      this.releaseMany(rs.map((r) => this.handleFor(r.scheduleKey, r.token, owner, 0))).catch(() => {});
    let taken: Answers<number[]>;
    try {
      taken = await this.onEveryServer('acquire', labelOf(keys), (client) =>
        client.metronomeLockAcquire(keys.length, ...keys, ...args),
      );
    } catch (error) {
      await giveBack(requests);
      throw error;
    }
    const quorate = requests.map((_, i) => this.votes(taken.answers, i) >= this.quorum);
    const now = Date.now();
    const late = requests.find((r, i) => quorate[i] && this.validUntil(taken.start, r.ttlMs) <= now);
    if (late) {
      await giveBack(requests);
      const key = this.prefix + late.scheduleKey;
      throw this.unavailable('acquire', key, `took longer than the ${late.ttlMs} ms TTL`, []);
    }
    const partial = requests.filter((_, i) => !quorate[i] && this.votes(taken.answers, i) > 0);
    if (partial.length > 0) await giveBack(partial);
    return requests.map((r, i) =>
      quorate[i]
        ? this.handleFor(r.scheduleKey, r.token, owner, this.validUntil(taken.start, r.ttlMs))
        : null,
    );
  }

  /**
   * Run one operation on every server at once and wait for all of them (each bounded by the command
   * timeout). Resolves to the answers when a quorum answered; otherwise rejects with a
   * RunLockUnavailableError naming the servers that failed and why.
   */
  private async onEveryServer<T>(
    operation: RunLockOperation,
    key: string,
    run: (client: Redis) => Promise<T>,
  ): Promise<Answers<T>> {
    if (this.closed) throw new Error('run locks: used after close()');
    await this.firstContact;
    const start = Date.now();
    const results = await Promise.allSettled(this.servers.map((server) => run(server.client)));
    const answers: T[] = [];
    const failures: RunLockServerFailure[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') answers.push(result.value);
      else failures.push({ url: this.servers[i]!.url, error: messageOf(result.reason) });
    });
    if (answers.length < this.quorum) throw this.noQuorum(operation, key, answers.length, failures);
    return { answers, start };
  }

  /** How many servers said yes (1) for the key at `index` of a batch. */
  private votes(answers: readonly number[][], index: number): number {
    return answers.filter((perKey) => perKey[index] === 1).length;
  }

  /** Redlock's validity: the TTL from when the operation was sent, less the allowance for drift. */
  private validUntil(start: number, ttlMs: number): number {
    return start + ttlMs - (Math.round(ttlMs * this.driftFactor) + 2);
  }

  private noQuorum(
    operation: RunLockOperation,
    key: string,
    answered: number,
    failures: RunLockServerFailure[],
  ): RunLockUnavailableError {
    const reason =
      this.servers.length === 1
        ? 'Redis unreachable'
        : `no quorum: ${answered} of ${this.servers.length} Redis servers answered, ${this.quorum} needed`;
    return this.unavailable(operation, key, reason, failures);
  }

  private unavailable(
    operation: RunLockOperation,
    key: string,
    reason: string,
    failures: RunLockServerFailure[],
  ): RunLockUnavailableError {
    const detail =
      failures.length > 0
        ? failures.map((failure) => `${failure.url} (${failure.error})`).join(', ')
        : this.urls.join(', ');
    return new RunLockUnavailableError(`run lock ${operation} on ${key} failed, ${reason}: ${detail}`, {
      operation,
      key,
      failures,
    });
  }

  private closeClientsNow(): void {
    this.closed = true;
    for (const { client } of this.servers) client.disconnect();
  }
}

/** The key of a one-lock operation, or how many keys a batch has, for error messages. */
function labelOf(keys: readonly string[]): string {
  return keys.length === 1 ? (keys[0] as string) : `${keys.length} keys`;
}

function messageOf(error: unknown): string {
  return redactSecrets(error instanceof Error ? error.message : String(error));
}

/** Resolves when the client is first ready, or first fails to connect, or after `timeoutMs`. */
function firstContact(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      client.off('ready', done);
      client.off('error', done);
      client.off('end', done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    timer.unref();
    client.once('ready', done);
    client.once('error', done);
    client.once('end', done);
  });
}
