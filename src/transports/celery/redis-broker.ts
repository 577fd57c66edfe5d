/**
 * Celery on a Redis broker (kombu's Redis transport): one pipeline per batch, `SADD` of each queue's
 * binding (once per batch) and `LPUSH` of each envelope to its priority list, as Python's producer does.
 */
import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Broker } from './broker.ts';
import {
  type CeleryTaskMessage,
  type PreparedRedisEnvelope,
  prepareRedisEnvelope,
  redisPush,
  redisQueueKey,
  type SigningKeys,
} from './message.ts';
import { failFastRedis, ready } from './redis-connection.ts';

const LOCATE = readFileSync(new URL('./lua/locate.lua', import.meta.url), 'utf8');

export class RedisBroker implements Broker {
  readonly #client: Redis;
  /** Envelopes encoded ahead (prepare), by message; dropped with the message. */
  readonly #prepared = new WeakMap<CeleryTaskMessage, PreparedRedisEnvelope>();

  constructor(
    readonly url: string,
    private readonly options: { globalKeyprefix: string; signing: SigningKeys | null },
    log: Logger,
  ) {
    this.#client = failFastRedis(url, log, 'celery broker');
  }

  prepare(messages: CeleryTaskMessage[]): void {
    for (const msg of messages) {
      try {
        this.#prepared.set(msg, prepareRedisEnvelope(msg, this.#signing()));
      } catch {
        // Left to publish, which reports why it cannot be encoded.
      }
    }
  }

  #signing() {
    return this.options.signing ? { signing: this.options.signing } : {};
  }

  async publish(messages: CeleryTaskMessage[]): Promise<Array<string | null>> {
    const errors: Array<string | null> = messages.map(() => null);
    const pipeline = this.#client.pipeline();
    /** Message index → the index of its LPUSH in the pipeline. */
    const queued: Array<[message: number, command: number]> = [];
    // The binding is the queue's, not the message's: one SADD per queue and batch is what a SADD per
    // message amounts to (it is idempotent), at half the commands.
    const bound = new Set<string>();
    let commands = 0;
    messages.forEach((msg, i) => {
      try {
        const prepared = this.#prepared.get(msg);
        const push = redisPush(msg, {
          globalKeyprefix: this.options.globalKeyprefix,
          ...this.#signing(),
          ...(prepared ? { prepared } : {}),
        });
        const binding = `${push.bindingKey}\u0000${push.bindingMember}`;
        if (!bound.has(binding)) {
          bound.add(binding);
          pipeline.sadd(push.bindingKey, push.bindingMember);
          commands++;
        }
        pipeline.lpush(push.listKey, push.envelope);
        queued.push([i, commands++]);
      } catch (error) {
        errors[i] = (error as Error).message;
      }
    });
    if (queued.length === 0) return errors;
    await ready(this.#client, this.url, 'the Celery broker');
    const replies = (await pipeline.exec()) ?? [];
    queued.forEach(([i, n]) => {
      const lpush = replies[n];
      if (!lpush) errors[i] = 'no reply from the Redis broker';
      else if (lpush[0]) errors[i] = `Redis broker: ${lpush[0].message}`;
    });
    return errors;
  }

  async locate(messages: CeleryTaskMessage[]): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    const prefix = this.options.globalKeyprefix;
    const lists = [...new Set(messages.map((m) => redisQueueKey(m.queue, m.priority, prefix)))];
    await ready(this.#client, this.url, 'the Celery broker');
    const found = (await this.#client.eval(
      LOCATE,
      lists.length + 1,
      ...lists,
      `${prefix}unacked`,
      ...messages.map((m) => m.taskId),
    )) as string[];
    return new Set(found);
  }

  async close(): Promise<void> {
    this.#client.disconnect();
  }
}
