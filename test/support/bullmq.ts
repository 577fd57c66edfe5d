/**
 * A BullMQ test file's corner of the shared Redis: a random prefix (without the trailing colon, as
 * BullMQ takes it), and the workers the file runs there with their connections. After the file's
 * tests, in this order: `release` (what still enqueues, such as a transport or a beat, stops first),
 * the workers and their connections, then every key under the prefix.
 */
import { after, before } from 'node:test';
import type { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { connectTestRedis, deletePrefix, REDIS_URL, randomPrefix } from './redis.ts';

export interface BullmqPrefix {
  readonly prefix: string;
  /** A connection for a worker on `url` (its errors ignored: tests stop servers), closed after the file. */
  connection(url?: string): Redis;
  /** Close `worker` after the file's tests. */
  closeAfter<W extends Worker>(worker: W): W;
}

export function bullmqPrefixPerFile(label: string, release?: () => Promise<unknown>): BullmqPrefix {
  const prefix = randomPrefix(label).slice(0, -1);
  const workers: Worker[] = [];
  const connections: Redis[] = [];
  let admin: Redis | undefined;
  before(async () => {
    admin = await connectTestRedis(); // fails here, naming Redis, when it is down
  });
  after(async () => {
    await release?.();
    for (const w of workers) await w.close(true).catch(() => {});
    for (const c of connections) c.disconnect();
    if (admin) {
      await deletePrefix(admin, `${prefix}:`);
      admin.disconnect();
    }
  });
  return {
    prefix,
    connection(url = REDIS_URL) {
      const connection = new Redis(url, { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      connections.push(connection);
      return connection;
    },
    closeAfter(worker) {
      workers.push(worker);
      return worker;
    },
  };
}
