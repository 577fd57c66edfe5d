/**
 * Redis for tests: the shared server at METRONOME_TEST_REDIS_URL (default redis://127.0.0.1:6379),
 * isolated per test by a random key prefix; and throwaway `redis-server` processes of our own on free
 * ports, for tests that stop and restart servers. When the shared server cannot be reached the test
 * fails, naming Redis and the URL — it never skips.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.METRONOME_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix of its own for one test: `metronome:test:<random>:`. */
export function randomPrefix(label = 'test'): string {
  return `metronome:${label}:${randomBytes(6).toString('hex')}:`;
}

/** A client on the shared test Redis; throws (failing the test) when it cannot be reached. */
export async function connectTestRedis(url = REDIS_URL): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  let cause: unknown;
  client.on('error', (error) => {
    cause ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    cause ??= error;
    throw new Error(
      `these tests need a real Redis server at ${url}, which is unreachable (set METRONOME_TEST_REDIS_URL to another one): ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
    );
  }
  return client;
}

/** Delete every key under a prefix. */
export async function deletePrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== '0');
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A `redis-server` child process of the test's own, without persistence; can be stopped and restarted. */
export class RedisServerProcess {
  readonly url: string;
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  static async start(): Promise<RedisServerProcess> {
    const server = new RedisServerProcess(await freePort());
    await server.start();
    return server;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Start (again, on the same port) and wait until it answers PING. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--daemonize',
        'no',
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    let failure: Error | undefined;
    child.once('error', (error) => {
      failure = new Error(`could not start redis-server (is it installed?): ${error.message}`);
    });
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      if (failure) throw failure;
      if (await answersPing(this.url)) return;
      await sleep(25);
    }
    await this.stop();
    throw new Error(`redis-server on port ${this.port} did not answer PING within 5 s`);
  }

  /** Freeze it (SIGSTOP): connections stay open but nothing answers, like a hung server. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  /** Thaw a paused server (SIGCONT). */
  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** `redis-cli -p PORT shutdown nosave` (a clean stop that forgets everything) and wait until it is gone. */
  async shutdownNosave(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined;
    const cli = spawn('redis-cli', ['-p', String(this.port), 'shutdown', 'nosave'], { stdio: 'ignore' });
    await once(cli, 'exit');
    const gone = await Promise.race([exited?.then(() => true), sleep(5000).then(() => false)]);
    if (gone === false) await this.stop();
    this.child = undefined;
  }

  /** Kill it (SIGKILL: an abrupt crash) and wait until it is gone. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
  }
}

async function answersPing(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
