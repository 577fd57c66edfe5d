/**
 * An ioredis client that fails fast: no offline queue (a command while disconnected fails at once),
 * no retry of a command, a reply awaited at most COMMAND_TIMEOUT_MS (a server that stops answering
 * must not hang the tick), a bounded connect timeout, reconnection in the background with capped
 * backoff, and an 'error' listener so a dropped connection never crashes the process.
 *
 * Never replay: by default ioredis re-sends, after a reconnect, commands that were sent but not
 * answered. For the broker that is a second LPUSH of a message the beat already counted as failed
 * (and will retry itself): a duplicate. A command whose reply was lost may still have run; that
 * case is counted and documented (docs/guarantees.md), never doubled by the client.
 */
const COMMAND_TIMEOUT_MS = 3_000;

import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redactSecrets } from '../../logger.ts';

export function failFastRedis(url: string, log: Logger, role: string): Redis {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 2_000,
    enableReadyCheck: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
  });
  let down = false;
  client.on('error', (error: Error) => {
    if (!down) log.warn({ role, url: redactSecrets(url), err: error.message }, `${role}: Redis error`);
    down = true;
  });
  client.on('ready', () => {
    if (down) log.info({ role, url: redactSecrets(url) }, `${role}: Redis connection back`);
    down = false;
  });
  client.connect().catch(() => {}); // errors reach the listener; reconnection goes on in the background
  return client;
}

/** Wait until the client is ready (up to `timeoutMs`), or throw a short error naming the server. */
export async function ready(client: Redis, url: string, role: string, timeoutMs = 2_000): Promise<void> {
  if (client.status === 'ready') return;
  if (client.status === 'end' || client.status === 'wait') client.connect().catch(() => {});
  // Known down (reconnecting in the background): fail now rather than hold the tick.
  if (client.status === 'reconnecting') timeoutMs = 0;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      reject(new Error(`${role} ${redactSecrets(url)} is unreachable (status ${client.status})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once('ready', onReady);
  });
}
