/**
 * Run locks over Redis with Redlock (@sesamecare-oss/redlock over ioredis): one Redis server, or
 * several independent ones for a quorum (a lock is held when a majority of them hold it).
 *
 * Try-once semantics: Redlock's retryCount is 0 and the clients never queue or resend commands, so an
 * operation takes one round trip to every server (bounded by `commandTimeoutMs`) and an unreachable
 * server fails at once instead of blocking the tick.
 *
 * Redlock reports every failure as the same ExecutionError; this module reads the per-server votes
 * behind it to tell "held by someone else" / "not ours any more" (a quorum of servers answered) from
 * "unavailable" (too few servers answered), which becomes a RunLockUnavailableError.
 *
 * We use acquire/extend/release explicitly, never Redlock's `using()` (which retries a failed
 * extension in a tight loop while the lock is unexpired).
 */

import { readFileSync } from 'node:fs';
import {
  ExecutionError,
  type ExecutionStats,
  Lock,
  Redlock,
  ResourceLockedError,
} from '@sesamecare-oss/redlock';
import { Redis } from 'ioredis';
import { type Logger, redactSecrets } from '../logger.ts';
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

/** The batch operations, one atomic script each (src/locks/lua/). */
const ACQUIRE_MANY = readFileSync(new URL('./lua/acquire-many.lua', import.meta.url), 'utf8');
const RELEASE_MANY = readFileSync(new URL('./lua/release-many.lua', import.meta.url), 'utf8');

type ScriptClient = Redis & {
  metronomeAcquireMany(numKeys: number, ...keysAndArgs: Array<string | number>): Promise<number[]>;
  metronomeReleaseMany(numKeys: number, ...keysAndArgs: string[]): Promise<number>;
};

interface Server {
  client: Redis;
  /** The URL with its password replaced by `***`: the only form that goes into messages and logs. */
  url: string;
  down: boolean;
}

export class RedlockRunLocks implements RunLocks {
  readonly prefix: string;
  /** The servers' URLs, passwords redacted. */
  readonly urls: readonly string[];
  private readonly servers: Server[];
  private readonly byClient = new Map<unknown, Server>();
  private readonly redlock: Redlock;
  private readonly quorum: number;
  private readonly driftFactor: number;
  /** Resolves once every server has either connected or failed to, the first time (bounded). */
  private readonly firstContact: Promise<void>;
  private closed = false;
  /** The value Redlock's next acquire() holds instead of a random one (see acquireWithToken). */
  private nextToken: string | undefined;

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
      client.defineCommand('metronomeAcquireMany', { lua: ACQUIRE_MANY });
      client.defineCommand('metronomeReleaseMany', { lua: RELEASE_MANY });
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
      this.byClient.set(client, server);
      return server;
    });
    this.urls = this.servers.map((server) => server.url);

    // Redlock's Lua scripts start with `SELECT <settings.db>`, so the db in the URL would be ignored
    // (keys would land in db 0) unless Redlock is told it; and it has one db for all servers.
    const dbs = new Set(this.servers.map((server) => server.client.options.db ?? 0));
    if (dbs.size > 1) {
      this.closeClientsNow();
      throw new Error(`the run lock Redis URLs select different databases (${[...dbs].join(', ')}); use one`);
    }
    const db = [...dbs][0] ?? 0;
    if (!Number.isInteger(db) || db < 0 || db > 15) {
      this.closeClientsNow();
      throw new Error(`run lock Redis database ${db} is not supported by Redlock (0 to 15)`);
    }

    this.redlock = new Redlock(
      this.servers.map((server) => server.client),
      {
        driftFactor: options.driftFactor ?? 0.01,
        retryCount: 0,
        retryDelay: 0,
        retryJitter: 0,
        db,
      },
    );
    const internals = this.redlock as unknown as { _random?: () => string };
    const random = internals._random;
    if (typeof random !== 'function') {
      this.closeClientsNow();
      throw new Error(
        'run locks: this version of @sesamecare-oss/redlock has no _random(); see src/locks/redlock.ts',
      );
    }
    internals._random = () => this.nextToken ?? random.call(this.redlock);
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
    checkScheduleKey(scheduleKey);
    checkTtl(ttlMs);
    if (token !== undefined) checkToken(token);
    await this.ready();
    const key = this.prefix + scheduleKey;
    if (token !== undefined && options.retake !== false) {
      // A re-take: when a quorum already holds this token, restart its TTL. This has to come before
      // the acquire, whose clean-up after a failure deletes every copy holding the token.
      const retaken = await this.extendLock(
        this.lockOf({ key, token, expiresAt: Number.MAX_SAFE_INTEGER }),
        ttlMs,
        'acquire',
      );
      if (retaken) return { key, scheduleKey, token, owner, expiresAt: retaken.expiration };
    }
    let lock: Lock;
    try {
      lock = await this.acquireWithToken(key, ttlMs, token);
    } catch (error) {
      // Redlock has already removed whatever it set on a minority of servers.
      if (await this.isDefinitive(error, 'acquire', key)) return null;
      throw error;
    }
    if (lock.expiration <= Date.now()) {
      // The round trip took longer than the TTL: the lock may already be gone somewhere.
      await this.redlock.release(lock).catch(() => {});
      throw this.unavailable('acquire', key, `took longer than the ${ttlMs} ms TTL`, []);
    }
    return { key, scheduleKey, token: lock.value, owner, expiresAt: lock.expiration };
  }

  handleFor(scheduleKey: string, token: string, owner: string, expiresAt: number): RunLockHandle {
    return handleWithToken(this.prefix, scheduleKey, token, owner, expiresAt);
  }

  /**
   * Redlock for a batch: every server runs acquire-many.lua once; a lock is held when a quorum of
   * servers took it and the round trip left it valid (the TTL minus the drift allowance, as Redlock
   * counts it). Locks taken on too few servers are given back there.
   */
  async tryAcquireMany(
    requests: readonly LockRequest[],
    owner: string,
  ): Promise<Array<RunLockHandle | null>> {
    if (requests.length === 0) return [];
    for (const r of requests) {
      checkScheduleKey(r.scheduleKey);
      checkTtl(r.ttlMs);
      checkToken(r.token);
    }
    await this.ready();
    const keys = requests.map((r) => this.prefix + r.scheduleKey);
    const args = requests.flatMap((r) => [r.ttlMs, r.token, r.retake ? 1 : 0]);
    const start = Date.now();
    const results = await Promise.allSettled(
      this.servers.map((server) =>
        (server.client as ScriptClient).metronomeAcquireMany(keys.length, ...keys, ...args),
      ),
    );
    const answers: number[][] = [];
    const failures: RunLockServerFailure[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') answers.push(result.value);
      else failures.push({ url: this.servers[i]!.url, error: messageOf(result.reason) });
    });
    if (answers.length < this.quorum) {
      // Give back what the servers that did answer took (best-effort: they expire anyway).
      await this.releaseMany(requests.map((r) => this.handleFor(r.scheduleKey, r.token, owner, 0))).catch(
        () => {},
      );
      throw this.noQuorum(
        'acquire',
        keys.length === 1 ? (keys[0] as string) : `${keys.length} keys`,
        answers.length,
        failures,
      );
    }
    const now = Date.now();
    const out: Array<RunLockHandle | null> = [];
    const giveBack: RunLockHandle[] = [];
    requests.forEach((r, i) => {
      const votes = answers.filter((a) => a[i] === 1).length;
      const expiresAt = start + r.ttlMs - Math.floor(r.ttlMs * this.driftFactor) - 2;
      const handle = this.handleFor(r.scheduleKey, r.token, owner, expiresAt);
      if (votes >= this.quorum && expiresAt > now) out.push(handle);
      else {
        out.push(null);
        if (votes > 0) giveBack.push(handle);
      }
    });
    if (giveBack.length > 0) await this.releaseMany(giveBack).catch(() => {});
    return out;
  }

  async releaseMany(handles: readonly RunLockHandle[]): Promise<void> {
    if (handles.length === 0) return;
    await this.ready();
    const keys = handles.map((h) => h.key);
    const tokens = handles.map((h) => h.token);
    const results = await Promise.allSettled(
      this.servers.map((server) =>
        (server.client as ScriptClient).metronomeReleaseMany(keys.length, ...keys, ...tokens),
      ),
    );
    const failures: RunLockServerFailure[] = [];
    results.forEach((result, i) => {
      if (result.status === 'rejected')
        failures.push({ url: this.servers[i]!.url, error: messageOf(result.reason) });
    });
    if (results.length - failures.length < this.quorum) {
      throw this.noQuorum('release', `${keys.length} keys`, results.length - failures.length, failures);
    }
  }

  async extend(handle: RunLockHandle, ttlMs: number): Promise<RunLockHandle | null> {
    checkTtl(ttlMs);
    // Past its validity the lock may have been taken over; Redlock itself refuses to extend it.
    if (handle.expiresAt <= Date.now()) return null;
    await this.ready();
    const lock = await this.extendLock(this.lockOf(handle), ttlMs, 'extend');
    return lock ? { ...handle, expiresAt: lock.expiration } : null;
  }

  async release(handle: RunLockHandle): Promise<void> {
    await this.ready();
    try {
      await this.redlock.release(this.lockOf(handle));
    } catch (error) {
      // A quorum answered but not all of them held our token: expired or taken — nothing to do.
      if (await this.isDefinitive(error, 'release', handle.key)) return;
      throw error;
    }
  }

  async isHeld(scheduleKey: string): Promise<boolean> {
    checkScheduleKey(scheduleKey);
    await this.ready();
    const key = this.prefix + scheduleKey;
    const results = await Promise.allSettled(this.servers.map((server) => server.client.exists(key)));
    let answered = 0;
    let free = 0;
    const failures: RunLockServerFailure[] = [];
    results.forEach((result, index) => {
      if (result.status === 'fulfilled') {
        answered += 1;
        if (result.value === 0) free += 1;
      } else {
        failures.push({ url: this.servers[index]!.url, error: messageOf(result.reason) });
      }
    });
    if (answered < this.quorum) throw this.noQuorum('isHeld', key, answered, failures);
    // Held when an acquire could not get a majority of servers.
    return free < this.quorum;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.servers.map(async ({ client }) => {
        try {
          if (client.status === 'ready') await withTimeout(client.quit(), 500);
        } catch {
          // Disconnect below either way.
        }
        client.disconnect();
      }),
    );
  }

  private async ready(): Promise<void> {
    if (this.closed) throw new Error('run locks: used after close()');
    await this.firstContact;
  }

  /** Redlock's extend: the new Lock, or null when a quorum said the token is not (any more) there. */
  private async extendLock(lock: Lock, ttlMs: number, operation: RunLockOperation): Promise<Lock | null> {
    try {
      return await this.redlock.extend(lock, ttlMs);
    } catch (error) {
      if (await this.isDefinitive(error, operation, lock.resources[0] ?? '')) return null;
      throw error;
    }
  }

  /**
   * Redlock's acquire, holding `token` instead of a random value. Redlock has no parameter for the
   * value: it calls its private `_random()` synchronously at the start of acquire(), which we
   * replaced (in the constructor) to hand out `nextToken` when one is set. If a future version stops
   * doing it that way, the lock comes back with another value: it is released and this throws.
   */
  private async acquireWithToken(key: string, ttlMs: number, token: string | undefined): Promise<Lock> {
    if (token === undefined) return this.redlock.acquire([key], ttlMs);
    this.nextToken = token;
    let pending: Promise<Lock>;
    try {
      pending = this.redlock.acquire([key], ttlMs);
    } finally {
      this.nextToken = undefined;
    }
    const lock = await pending;
    if (lock.value !== token) {
      await this.redlock.release(lock).catch(() => {});
      throw new Error(
        'run locks: @sesamecare-oss/redlock did not take the given token (its acquire() changed); see src/locks/redlock.ts',
      );
    }
    return lock;
  }

  /** A Redlock Lock rebuilt from a (possibly deserialized) handle; its token is what gets checked. */
  private lockOf(handle: Pick<RunLockHandle, 'key' | 'token' | 'expiresAt'>): Lock {
    return new Lock(this.redlock, [handle.key], handle.token, [], handle.expiresAt);
  }

  /**
   * For a failed Redlock operation: true when a quorum of servers gave a real answer ("held by
   * someone else" for acquire, "not ours" for extend/release); otherwise throws a
   * RunLockUnavailableError naming the servers that failed. Rethrows anything unexpected.
   */
  private async isDefinitive(error: unknown, operation: RunLockOperation, key: string): Promise<boolean> {
    if (!(error instanceof ExecutionError)) throw error;
    const last = error.attempts[error.attempts.length - 1];
    if (!last) throw this.unavailable(operation, key, redactSecrets(error.message), []);
    // Resolves once every server has voted (bounded by the command timeout).
    const stats: ExecutionStats = await last;
    let answered = stats.votesFor.size;
    const failures: RunLockServerFailure[] = [];
    for (const [client, vote] of stats.votesAgainst) {
      if (vote instanceof ResourceLockedError) answered += 1;
      else failures.push({ url: this.byClient.get(client)?.url ?? '(unknown)', error: messageOf(vote) });
    }
    if (answered >= this.quorum) return true;
    throw this.noQuorum(operation, key, answered, failures);
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

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
