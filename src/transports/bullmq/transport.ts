/**
 * The `bullmq` transport: one BullMQ `Queue` per target queue (cached, all on one shared Redis
 * connection), `Queue.addBulk` once per queue per batch with `jobId` = the occurrence's task id (so a
 * re-send is a no-op while the job exists), and run states read from the jobs (`getState`).
 *
 * Failure behaviour: the connection keeps reconnecting in the background, but nothing waits for it:
 * while Redis is not connected an enqueue fails at once, and every call is bounded by a timeout (a
 * hung server), so the beat records per-item errors and retries the same task ids with backoff. A
 * dropped connection is logged, never thrown. An enqueue whose reply was lost (timed out) may still
 * have added its jobs; the retry then finds them and adds nothing.
 */
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactSecrets } from '../../logger.ts';
import { resolveRoute } from '../routes.ts';
import type { EnqueueItem, EnqueueResult, RunState, Transport } from '../transport.ts';
import { type BullmqConfig, bullmqConfigFromEnv, checkQueueName } from './config.ts';
import { ExactQueue } from './exact-queue.ts';
import { jobFor, runStateOf } from './job.ts';

export { type BullmqConfig, bullmqConfigFromEnv } from './config.ts';
export { EXPIRED_REASON_PREFIX, type MetronomeJobData, RETENTION } from './job.ts';

/** Task ids whose queue is remembered for status reads (the oldest are forgotten beyond this). */
const MAX_REMEMBERED = 100_000;

export class BullmqTransport implements Transport {
  readonly name = 'bullmq';
  readonly #config: BullmqConfig;
  readonly #log: Logger | undefined;
  readonly #redis: Redis;
  readonly #queues = new Map<string, Queue>();
  /** taskId → the queue it was added to (by this process). */
  readonly #queueOf = new Map<string, string>();
  /** Why the runs the last status() reported failed or expired ended so (the job's failedReason). */
  #reasons = new Map<string, string>();
  #down = false;
  #closed = false;

  constructor(config: BullmqConfig, log?: Logger) {
    this.#config = config;
    this.#log = log?.child({ transport: 'bullmq' });
    // A producer connection: unlike a Worker's, it need not retry commands forever. Commands fail at
    // once while disconnected (no offline queue) and after `timeoutMs` on a hung server; the
    // connection itself keeps coming back (retryStrategy never gives up).
    this.#redis = new Redis(config.url, {
      connectionName: 'metronome-beat',
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: config.timeoutMs,
      commandTimeout: config.timeoutMs,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
    });
    this.#redis.on('error', (error: Error) => {
      if (this.#closed) return;
      if (!this.#down) {
        this.#down = true;
        this.#log?.warn(
          { redis: redactSecrets(config.url), error: redactSecrets(error.message) },
          'BullMQ Redis connection lost; enqueues fail (and are retried) until it is back',
        );
      }
    });
    this.#redis.on('ready', () => {
      if (this.#down) this.#log?.info({ redis: redactSecrets(config.url) }, 'BullMQ Redis connection back');
      this.#down = false;
    });
  }

  get config(): BullmqConfig {
    return this.#config;
  }

  /** The cached Queue of a target queue name (created on first use). */
  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (!queue) {
      checkQueueName(name, `queue ${JSON.stringify(name)}`);
      queue = new ExactQueue(name, { connection: this.#redis, prefix: this.#config.prefix });
      // The shared connection's listener above reports connection trouble; a Queue without an
      // 'error' listener would throw from its emitter.
      queue.on('error', (error: Error) => {
        this.#log?.debug({ queue: name, error: redactSecrets(error.message) }, 'BullMQ queue error');
      });
      this.#queues.set(name, queue);
    }
    return queue;
  }

  /** The item's own queue, else the first METRONOME_TASK_ROUTES match, else the default queue. */
  queueNameFor(item: EnqueueItem): string {
    return resolveRoute(
      item.task,
      { queue: item.queue?.trim() || null, routingKey: item.routingKey },
      this.#config.routes ?? [],
      this.#config.defaultQueue,
    ).queue;
  }

  async enqueue(batch: EnqueueItem[]): Promise<EnqueueResult[]> {
    const results: EnqueueResult[] = new Array(batch.length);
    const groups = new Map<string, number[]>();
    batch.forEach((item, i) => {
      const name = this.queueNameFor(item);
      groups.set(name, [...(groups.get(name) ?? []), i]);
    });
    await Promise.all(
      [...groups].map(async ([name, indexes]) => {
        try {
          this.#assertConnected();
          await this.#bounded(
            (async () => {
              const queue = await this.#ready(name);
              await queue.addBulk(indexes.map((i) => jobFor(batch[i] as EnqueueItem)));
            })(),
            `adding ${indexes.length} job(s) to queue ${JSON.stringify(name)}`,
          );
          for (const i of indexes) {
            const taskId = (batch[i] as EnqueueItem).taskId;
            this.#remember(taskId, name);
            results[i] = { taskId, ok: true };
          }
        } catch (error) {
          const message = redactSecrets(
            `BullMQ queue ${JSON.stringify(name)}: ${error instanceof Error ? error.message : String(error)}`,
          );
          for (const i of indexes)
            results[i] = { taskId: (batch[i] as EnqueueItem).taskId, ok: false, error: message };
        }
      }),
    );
    return results;
  }

  async status(taskIds: string[]): Promise<Map<string, RunState>> {
    const states = new Map<string, RunState>();
    this.#reasons = new Map();
    if (taskIds.length === 0) return states;
    this.#assertConnected();
    // Runs this process enqueued are looked up in their queue; others (adopted after a failover, or
    // forgotten) in every queue this process knows: the default one, the routes', those used since.
    const candidates = (taskId: string): string[] => {
      const known = this.#queueOf.get(taskId);
      if (known) return [known];
      return [
        ...new Set([
          this.#config.defaultQueue,
          ...(this.#config.routes ?? []).map((r) => r.queue),
          ...this.#queues.keys(),
        ]),
      ];
    };
    await this.#bounded(
      Promise.all(
        taskIds.map(async (taskId) => {
          for (const name of candidates(taskId)) {
            const queue = await this.#ready(name);
            const state = await queue.getJobState(taskId);
            if (state === 'unknown') continue;
            const failedReason =
              state === 'failed' ? await this.#redis.hget(queue.toKey(taskId), 'failedReason') : null;
            const runState = runStateOf(state, failedReason);
            states.set(taskId, runState);
            if (failedReason) this.#reasons.set(taskId, failedReason);
            if (runState === 'succeeded' || runState === 'failed' || runState === 'expired')
              this.#queueOf.delete(taskId);
            else this.#remember(taskId, name);
            return;
          }
          states.set(taskId, 'unknown');
        }),
      ),
      `reading the state of ${taskIds.length} job(s)`,
    );
    return states;
  }

  finishReason(taskId: string): string | undefined {
    return this.#reasons.get(taskId);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([...this.#queues.values()].map((q) => q.close().catch(() => {})));
    this.#queues.clear();
    if (this.#redis.status === 'ready') {
      await this.#bounded(this.#redis.quit(), 'closing the connection').catch(() => this.#redis.disconnect());
    } else {
      this.#redis.disconnect();
    }
  }

  /**
   * The queue once its connection is initialized. BullMQ initializes a Queue once and for all: one
   * whose initialization failed (the connection dropped mid-way) is replaced by a new one next time.
   */
  async #ready(name: string): Promise<Queue> {
    const queue = this.queue(name);
    try {
      await queue.waitUntilReady();
      return queue;
    } catch (error) {
      if (this.#queues.get(name) === queue) this.#queues.delete(name);
      queue.close().catch(() => {});
      throw error;
    }
  }

  #remember(taskId: string, queue: string): void {
    this.#queueOf.delete(taskId);
    this.#queueOf.set(taskId, queue);
    if (this.#queueOf.size > MAX_REMEMBERED) {
      const oldest = this.#queueOf.keys().next().value;
      if (oldest !== undefined) this.#queueOf.delete(oldest);
    }
  }

  #assertConnected(): void {
    if (this.#closed) throw new Error('the BullMQ transport is closed');
    if (this.#redis.status !== 'ready')
      throw new Error(
        `Redis at ${redactSecrets(this.#config.url)} is not connected (${this.#redis.status}); will retry`,
      );
  }

  /** The promise, or a rejection after `timeoutMs` (the promise's own late failure is swallowed). */
  async #bounded<T>(promise: Promise<T>, what: string): Promise<T> {
    promise.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${what} took longer than ${this.#config.timeoutMs} ms (Redis at ${redactSecrets(this.#config.url)})`,
            ),
          ),
        this.#config.timeoutMs,
      );
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The transport from the environment (METRONOME_BULLMQ_URL or REDIS_URL, …; see .env.example). */
export async function bullmqTransportFromEnv(env: NodeJS.ProcessEnv, log: Logger): Promise<Transport> {
  const config = bullmqConfigFromEnv(env);
  const transport = new BullmqTransport(config, log);
  log.info(
    {
      redis: redactSecrets(config.url),
      prefix: config.prefix,
      defaultQueue: config.defaultQueue,
      timeoutMs: config.timeoutMs,
    },
    'bullmq transport',
  );
  return transport;
}
