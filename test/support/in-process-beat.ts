/** A beat runtime inside the test process, on real Postgres and real run locks. */
import { Writable } from 'node:stream';
import { after, before } from 'node:test';
import { BeatMetrics } from '../../src/beat/metrics.ts';
import { Beat, type BeatOptions } from '../../src/beat/runtime.ts';
import { type Database, openDatabase } from '../../src/db/database.ts';
import { createRunLocks, type RunLocks } from '../../src/locks/index.ts';
import { createLogger } from '../../src/logger.ts';
import type { Transport } from '../../src/transports/transport.ts';
import { eventually } from './beat-process.ts';
import { openMigratedDatabase } from './migrated.ts';
import { createTestDatabase, type TestDatabase } from './pg.ts';
import { connectTestRedis, deletePrefix, REDIS_URL, randomPrefix } from './redis.ts';

export interface InProcessBeat {
  beat: Beat;
  database: Database;
  metrics: BeatMetrics;
  locks: RunLocks;
  /** The beat's log lines (parsed), when started with `captureLogs`. */
  logs: Array<Record<string, unknown> & { msg: string; at: number }>;
  stop(): Promise<void>;
}

export async function startInProcessBeat(
  databaseUrl: string,
  transport: Transport,
  options: {
    redisUrls?: string[];
    lockPrefix?: string;
    /** The lease connection's URL (default databaseUrl): e.g. through a proxy the test can cut. */
    leaseUrl?: string;
    captureLogs?: boolean;
  } & Partial<BeatOptions> = {},
): Promise<InProcessBeat> {
  const database = await openMigratedDatabase({ databaseUrl, dataDir: '' });
  const leaseDb = await openDatabase({
    databaseUrl: options.leaseUrl ?? databaseUrl,
    dataDir: '',
    poolSize: 1,
  });
  const locks = createRunLocks({ redisUrls: options.redisUrls ?? [], prefix: options.lockPrefix });
  const metrics = new BeatMetrics({ processMetrics: false });
  const logs: InProcessBeat['logs'] = [];
  const log = options.captureLogs
    ? createLogger({ level: 'info', destination: collect(logs) })
    : createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const beat = new Beat({
    database,
    leaseConnection: leaseDb,
    transport,
    locks,
    log,
    metrics,
    group: 'default',
    leaseTtlMs: 2_000,
    graceMs: 1_000,
    batchSize: 500,
    catchupRatePerSecond: 50,
    reconcileMs: 5_000,
    trackMs: 200,
    maxSleepMs: 500,
    ...options,
  });
  await beat.start();
  return {
    beat,
    database,
    metrics,
    locks,
    logs,
    async stop() {
      await beat.stop();
      await locks.close();
      await leaseDb.close();
      await database.close();
    },
  };
}

function collect(into: InProcessBeat['logs']): Writable {
  return new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim()) into.push({ ...(JSON.parse(line) as { msg: string }), at: Date.now() });
      }
      done();
    },
  });
}

/**
 * A test file's leading beat: a database of its own and a beat started before the file's tests (and
 * leading), stopped and dropped after them. `redisLocks` takes the run locks in the shared Redis under
 * a random key prefix, deleted after.
 */
export function leadingBeatPerFile(
  transport: Transport,
  options: { redisLocks?: boolean } & Partial<BeatOptions> = {},
): { readonly db: TestDatabase; readonly running: InProcessBeat; readonly lockPrefix: string } {
  const { redisLocks = false, ...beatOptions } = options;
  const lockPrefix = randomPrefix('beat-locks');
  let db: TestDatabase | undefined;
  let running: InProcessBeat | undefined;
  before(async () => {
    if (redisLocks) await (await connectTestRedis()).quit(); // fail here, naming Redis, if it is down
    db = await createTestDatabase();
    running = await startInProcessBeat(db.url, transport, {
      ...(redisLocks ? { redisUrls: [REDIS_URL], lockPrefix } : {}),
      ...beatOptions,
    });
    await eventually('leadership', 5_000, () => running?.beat.leading === true);
  });
  after(async () => {
    await running?.stop();
    if (redisLocks) {
      const redis = await connectTestRedis();
      await deletePrefix(redis, lockPrefix);
      await redis.quit();
    }
    await db?.drop();
  });
  return {
    lockPrefix,
    get db() {
      if (!db) throw new Error('the database is made before the first test');
      return db;
    },
    get running() {
      if (!running) throw new Error('the beat starts before the first test');
      return running;
    },
  };
}

/** How many occurrences of a schedule the ledger holds in each status. */
export async function statusCounts(db: TestDatabase, name: string): Promise<Record<string, number>> {
  const rows = await db.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from metronome.occurrences where schedule_name = ${name} group by status`;
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
