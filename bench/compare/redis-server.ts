/** The bench's own redis-server (no persistence, a free port), so its CPU is the three schedulers' alone. */
import { type ChildProcess, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from '../../test/support/redis.ts';
import { stopChild } from './scheduler.ts';

export class BenchRedis {
  private constructor(
    readonly child: ChildProcess,
    readonly port: number,
  ) {}

  get pid(): number {
    return this.child.pid!;
  }

  url(db: number): string {
    return `redis://127.0.0.1:${this.port}/${db}`;
  }

  static async start(): Promise<BenchRedis> {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const server = new BenchRedis(child, port);
    for (let i = 0; i < 200; i++) {
      const client = new Redis(server.url(0), { lazyConnect: true, retryStrategy: () => null });
      client.on('error', () => {});
      try {
        await client.connect();
        await client.ping();
        client.disconnect();
        return server;
      } catch {
        client.disconnect();
        await sleep(25);
      }
    }
    throw new Error('redis-server did not answer');
  }

  async flush(db: number): Promise<void> {
    const client = new Redis(this.url(db));
    await client.flushdb();
    client.disconnect();
  }

  async stop(): Promise<void> {
    await stopChild(this.child);
  }
}
