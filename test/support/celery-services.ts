/**
 * A Celery test file's services: Celery checked for, a migrated database, redis-servers of the
 * file's own (named by what the file uses them for: a broker, a result backend) and, when asked, a
 * RabbitMQ vhost of its own. Made before the file's tests, gone after them in an order that leaves
 * nothing behind: first what the file started on them (its beat and workers, which would otherwise
 * retry against a broker that went away), then the servers, the vhost, the database, and the
 * workers' folders.
 */
import { after, before } from 'node:test';
import { cleanupCeleryDirs, requireCelery } from './celery-worker.ts';
import { createMigratedDatabase } from './migrated.ts';
import type { TestDatabase } from './pg.ts';
import { createVhost, type TestVhost } from './rabbitmq.ts';
import { RedisServerProcess } from './redis.ts';

export interface CeleryServices<Name extends string> {
  readonly db: TestDatabase;
  /** The file's own redis-servers, by the names it asked for. */
  readonly redis: Readonly<Record<Name, RedisServerProcess>>;
  /** The file's own RabbitMQ vhost (only when asked for). */
  readonly vhost: TestVhost;
}

/**
 * `prepare` runs once the services are up, before the first test (a second top-level `before`
 * would not wait for them); `release` runs first after the last test: it stops the beat and workers
 * the file started.
 */
export function celeryServicesPerFile<const Name extends string>(
  options: { redisServers: readonly Name[]; vhost?: boolean },
  prepare?: (services: CeleryServices<Name>) => Promise<unknown>,
  release?: () => Promise<unknown>,
): CeleryServices<Name> {
  let db: TestDatabase | undefined;
  let vhost: TestVhost | undefined;
  const redis: Partial<Record<Name, RedisServerProcess>> = {};
  const services: CeleryServices<Name> = {
    get db() {
      if (!db) throw new Error('the database is made before the first test');
      return db;
    },
    redis: redis as Record<Name, RedisServerProcess>,
    get vhost() {
      if (!vhost) throw new Error('the vhost is made before the first test, when asked for');
      return vhost;
    },
  };
  before(async () => {
    requireCelery();
    db = await createMigratedDatabase();
    if (options.vhost) vhost = await createVhost();
    for (const name of options.redisServers) redis[name] = await RedisServerProcess.start();
    await prepare?.(services);
  });
  after(async () => {
    await release?.();
    for (const name of options.redisServers) await redis[name]?.stop();
    await vhost?.drop();
    await db?.drop();
    cleanupCeleryDirs();
  });
  return services;
}
